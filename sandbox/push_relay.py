"""Pub/Sub push as the service does it, on top of the emulator's subscription.

The emulator pushes by itself, and the end-to-end tests use that. But its push is a
poor model of a busy subscription: its jar starts exactly two push loops per
subscription, each posting one message and waiting for the answer (so two requests are
ever in flight), it leaves ``deliveryAttempt`` out of the body, and it retries a failed
push after a fixed second before its retry policy applies. Pub/Sub keeps many pushes
outstanding, puts ``deliveryAttempt`` in the body when the subscription dead-letters, and
brings a negatively acknowledged message back after the retry policy's backoff.

``PushRelay`` keeps the emulator's subscription semantics (ack deadline, retry policy,
delivery attempts, dead-lettering: all the emulator's) and does only the HTTP push itself:
it pulls what the subscription has ready, posts each message as Pub/Sub's wrapped push
body with up to ``window`` requests in flight, acknowledges on 102/200/201/202/204 and
nacks anything else, a timeout, or a refused connection (``modifyAckDeadline`` 0, after
which the emulator applies the retry policy and, past ``max_delivery_attempts``,
forwards the message to the dead-letter topic). Real Pub/Sub also adapts its window to
the rate of successful responses; this relay keeps it fixed (see docs/topology.md).
"""

from __future__ import annotations

import collections
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sandbox.pubsub_emulator import PubSubEmulator

ACK_CODES = frozenset({102, 200, 201, 202, 204})  # what Pub/Sub push counts as an acknowledgement
_PULL_BATCH = 100


@dataclass
class RelayStats:
    """What the relay did: pushes by HTTP status, nacks, the most in flight, the highest attempt."""

    pushes: int = 0
    acked: int = 0
    nacked: int = 0
    by_status: collections.Counter[str] = field(default_factory=collections.Counter)
    most_in_flight: int = 0
    highest_attempt: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON-able values."""
        return {
            "pushes": self.pushes,
            "acked": self.acked,
            "nacked": self.nacked,
            "by_status": dict(self.by_status),
            "most_in_flight": self.most_in_flight,
            "highest_delivery_attempt": self.highest_attempt,
        }


class PushRelay:
    """Pushes a pull subscription's messages to ``endpoint``, as a push subscription would."""

    def __init__(
        self, emulator: PubSubEmulator, subscription: str, endpoint: str, *, window: int, timeout: float
    ) -> None:
        self.emulator = emulator
        self.subscription = subscription
        self.endpoint = endpoint
        self.window = window
        self.timeout = timeout
        self.stats = RelayStats()
        self.acked_ids: set[str] = set()  # message ids acknowledged at least once
        self.first_pushed: dict[str, float] = {}  # message id -> when it was first pushed (monotonic)
        self._in_flight = 0
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(window)
        self._stopping = threading.Event()
        self._pushes = ThreadPoolExecutor(max_workers=window, thread_name_prefix="push")
        self._puller = threading.Thread(target=self._pull_loop, name="push-relay", daemon=True)

    def start(self) -> PushRelay:
        """Start pulling and pushing."""
        self._puller.start()
        return self

    def stop_pulling(self) -> None:
        """Take no more messages; pushes in flight finish (or fail) on their own."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop pulling and wait for the pushes in flight (stop the endpoint first to end them)."""
        self._stopping.set()
        self._puller.join(timeout=10)
        self._pushes.shutdown(wait=True, cancel_futures=True)

    def acknowledged(self, message_ids: set[str]) -> bool:
        """True once every one of ``message_ids`` has been acknowledged."""
        with self._lock:
            return message_ids <= self.acked_ids

    def _take_slots(self) -> int:
        """Wait for one free slot, then take as many more as are free (up to a pull batch)."""
        while not self._slots.acquire(timeout=0.1):
            if self._stopping.is_set():
                return 0
        taken = 1
        while taken < _PULL_BATCH and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _pull_loop(self) -> None:
        while not self._stopping.is_set():
            slots = self._take_slots()
            if not slots:
                return
            try:
                received = self.emulator.pull(self.subscription, max_messages=slots)
            except (OSError, ValueError):
                received = []  # the emulator is stopping, or the subscription was deleted
            for _ in range(slots - len(received)):
                self._slots.release()
            if not received:
                self._stopping.wait(0.02)
                continue
            for item in received:
                with self._lock:
                    self._in_flight += 1
                    self.stats.most_in_flight = max(self.stats.most_in_flight, self._in_flight)
                self._pushes.submit(self._push, item)

    def _push(self, item: dict[str, Any]) -> None:
        with self._lock:
            self.first_pushed.setdefault(item["message"]["messageId"], time.monotonic())
        try:
            status = self._post(push_body_of(item, self.subscription))
            acked = status in ACK_CODES
            try:
                if acked:
                    self.emulator.acknowledge(self.subscription, [item["ackId"]])
                else:
                    self.emulator.nack(self.subscription, [item["ackId"]])
            except OSError:
                pass  # the emulator is gone or the message expired: it is redelivered or moot
            with self._lock:
                self.stats.pushes += 1
                self.stats.by_status[str(status)] += 1
                self.stats.acked += acked
                self.stats.nacked += not acked
                if acked:
                    self.acked_ids.add(item["message"]["messageId"])
                self.stats.highest_attempt = max(
                    self.stats.highest_attempt, int(item.get("deliveryAttempt") or 0)
                )
        finally:
            with self._lock:
                self._in_flight -= 1
            self._slots.release()

    def _post(self, body: dict[str, Any]) -> int | str:
        """POST the push body; the HTTP status, or the kind of failure that stands for a nack."""
        request = urllib.request.Request(
            self.endpoint, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as exc:
            exc.read()
            return exc.code
        except (OSError, TimeoutError) as exc:
            return type(exc).__name__  # refused, reset or timed out: Pub/Sub nacks those too


def push_body_of(received: dict[str, Any], subscription: str) -> dict[str, Any]:
    """The wrapped push body Pub/Sub sends for a pulled ``ReceivedMessage``."""
    message = received["message"]
    wrapped: dict[str, Any] = {
        "message": {
            "data": message.get("data", ""),
            "attributes": message.get("attributes", {}),
            "messageId": message["messageId"],
            "message_id": message["messageId"],
            "publishTime": message.get("publishTime", ""),
            "publish_time": message.get("publishTime", ""),
        },
        "subscription": subscription,
    }
    if received.get("deliveryAttempt"):
        wrapped["deliveryAttempt"] = received["deliveryAttempt"]
    return wrapped
