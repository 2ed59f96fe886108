"""A local stand-in for the Slack Web API's ``chat.postMessage`` and ``chat.update``.

It speaks Slack's wire format (HTTP 200 with ``{"ok": false, "error": ...}`` for API
errors, 429 with ``Retry-After`` when rate limited) so the real ``slack_sdk.WebClient``
and its retry handlers are exercised. It records every accepted message (with its
``thread_ts``, ``reply_broadcast`` and ``metadata``) and every update; an update of a
message it does not hold (never posted, or ``delete``d) answers ``message_not_found``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.http_standin import StandinServer

TOKEN = "xoxb-local-standin-token"


@dataclass(frozen=True)
class Posted:
    """One message Slack accepted."""

    channel: str
    ts: str
    body: dict[str, Any]

    @property
    def thread_ts(self) -> str:
        """The root it replies to, or '' for a top-level message."""
        return str(self.body.get("thread_ts") or "")

    @property
    def broadcast(self) -> bool:
        """A reply also shown in the channel (``reply_broadcast``)."""
        return bool(self.thread_ts and self.body.get("reply_broadcast"))

    @property
    def metadata(self) -> dict[str, Any]:
        """Its message metadata ({} when it had none)."""
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class Updated:
    """One ``chat.update`` Slack accepted."""

    channel: str
    ts: str
    body: dict[str, Any]


class SlackStandin(StandinServer):
    """Records ``chat.postMessage`` bodies; scripted failures and a per-channel rate limit."""

    name = "slack-standin"

    def __init__(
        self,
        *,
        token: str = TOKEN,
        channels: set[str] | None = None,
        rate_per_second: float | None = None,
        burst: int = 1,
        payload_dir: Path | None = None,
        on_message: Callable[[Posted], None] | None = None,
        on_update: Callable[[Updated], None] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.channels = channels  # None: every channel exists
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.payload_dir = payload_dir
        self.on_message = on_message
        self.on_update = on_update
        self.posted: list[Posted] = []
        self.updates: list[Updated] = []
        # What each message shows now, by (channel, ts): its last post or update.
        self._live: dict[tuple[str, str], dict[str, Any]] = {}
        self._update_script: deque[str | int] = deque()
        self.attempts = 0  # chat.postMessage calls
        self.update_attempts = 0
        self.rate_limited = 0
        self.fail_all: str | int | None = None
        self._script: deque[str | int] = deque()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self.stalled = 0
        self._unstall = threading.Event()
        self._unstall.set()

    def fail_next(self, *failures: str | int) -> None:
        """Answer the next requests with these failures, in order.

        An int is an HTTP status (429 answers ``Retry-After: 1``); a string is a Slack
        error code returned as ``{"ok": false, "error": ...}``.
        """
        with self._lock:
            self._script.extend(failures)

    def fail_next_update(self, *failures: str | int) -> None:
        """Answer the next ``chat.update`` calls with these failures (as ``fail_next``)."""
        with self._lock:
            self._update_script.extend(failures)

    def delete(self, channel: str, ts: str) -> None:
        """Delete a message, as a person in the channel would: updates of it now fail."""
        with self._lock:
            self._live.pop((channel, ts), None)

    def stall(self) -> None:
        """Stop answering: requests hang until ``unstall()``, then fail without being recorded."""
        self._unstall.clear()

    def unstall(self) -> None:
        """Answer again (the requests that hung get a 503 and are not recorded)."""
        self._unstall.set()

    def reset(self) -> None:
        """Forget what was posted and any scripted failures."""
        with self._lock:
            self.posted.clear()
            self.updates.clear()
            self._live.clear()
            self._update_script.clear()
            self.update_attempts = 0
            self._script.clear()
            self._buckets.clear()
            self.fail_all = None
            self.attempts = 0
            self.stalled = 0
            self._unstall.set()
            self.rate_limited = 0

    def messages(self, channel: str | None = None) -> list[Posted]:
        """Accepted messages (replies included), optionally for one channel."""
        with self._lock:
            return [p for p in self.posted if channel is None or p.channel == channel]

    def top_level(self, channel: str | None = None) -> list[Posted]:
        """Accepted messages that are not replies (roots and the rest)."""
        return [p for p in self.messages(channel) if not p.thread_ts]

    def replies(self, ts: str) -> list[Posted]:
        """Replies in the thread of ``ts``, in the order they were posted."""
        return [p for p in self.messages() if p.thread_ts == ts]

    def updates_of(self, ts: str) -> list[Updated]:
        """Updates of the message ``ts``, in order."""
        with self._lock:
            return [u for u in self.updates if u.ts == ts]

    def current(self, channel: str, ts: str) -> dict[str, Any] | None:
        """What the message shows now (None once deleted)."""
        with self._lock:
            live = self._live.get((channel, ts))
            return dict(live) if live is not None else None

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer one Web API call: scripted failures, stalls and checks first, then the method."""
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if name not in ("chat.postMessage", "chat.update"):
            return 200, {}, {"ok": False, "error": "unknown_method"}
        update = name == "chat.update"
        with self._lock:
            if update:
                self.update_attempts += 1
                script = self._update_script
            else:
                self.attempts += 1
                script = self._script
            failure = script.popleft() if script else self.fail_all
        if not self._unstall.is_set():
            with self._lock:
                self.stalled += 1
            self._unstall.wait(timeout=60)
            return 503, {}, {"ok": False, "error": "service_unavailable"}
        if isinstance(failure, int):
            if failure == 429:
                with self._lock:
                    self.rate_limited += 1
                return 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
            return failure, {}, {"ok": False, "error": "fatal_error"}
        if failure:
            return 200, {}, {"ok": False, "error": failure}

        if headers.get("Authorization", "") != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return 200, {}, {"ok": False, "error": "invalid_json"}
        channel = str(payload.get("channel", ""))
        if not channel:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if self.channels is not None and channel not in self.channels:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not payload.get("text") and not payload.get("blocks"):
            return 200, {}, {"ok": False, "error": "no_text"}
        return self._update(channel, payload) if update else self._post(channel, payload)

    def _post(self, channel: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """``chat.postMessage``: per-channel rate limit, then record the message."""
        with self._lock:
            now = time.monotonic()
            if self.rate_per_second:
                # Slack's chat.postMessage limit is per channel, about one message a second,
                # with "short bursts" allowed: a token bucket of ``burst`` posts refilled at
                # the rate. burst=1 is the strictest reading: no two posts closer than 1/rate.
                tokens, last = self._buckets.get(channel, (float(self.burst), now))
                tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_second)
                if tokens < 1.0:
                    self._buckets[channel] = (tokens, now)
                    self.rate_limited += 1
                    retry_after = max(1, math.ceil((1.0 - tokens) / self.rate_per_second))
                    return (
                        429,
                        {"Retry-After": str(retry_after)},
                        {"ok": False, "error": "ratelimited"},
                    )
                self._buckets[channel] = (tokens - 1.0, now)
            self._seq += 1
            ts = f"{int(time.time())}.{self._seq:06d}"
            posted = Posted(channel=channel, ts=ts, body=payload)
            self.posted.append(posted)
            self._live[(channel, ts)] = payload
        if self.payload_dir is not None:
            self.payload_dir.mkdir(parents=True, exist_ok=True)
            (self.payload_dir / f"{ts}.json").write_text(json.dumps(payload, indent=2))
        if self.on_message is not None:
            self.on_message(posted)
        return (
            200,
            {},
            {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": payload.get("text", "")},
            },
        )

    def _update(self, channel: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """``chat.update``: rewrite a message this stand-in holds (Method tier 3: no channel bucket)."""
        ts = str(payload.get("ts", ""))
        with self._lock:
            live = self._live.get((channel, ts))
            if live is None:
                return 200, {}, {"ok": False, "error": "message_not_found"}
            # Fields left out keep their old value, as Slack documents for blocks and metadata.
            live = {**live, **{k: v for k, v in payload.items() if k not in ("channel", "ts")}}
            self._live[(channel, ts)] = live
            updated = Updated(channel=channel, ts=ts, body=payload)
            self.updates.append(updated)
            count = len(self.updates)
        if self.payload_dir is not None:
            folder = self.payload_dir / "updates"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{ts}.{count:04d}.json").write_text(json.dumps(payload, indent=2))
        if self.on_update is not None:
            self.on_update(updated)
        return (
            200,
            {},
            {"ok": True, "channel": channel, "ts": ts, "text": live.get("text", ""), "message": live},
        )
