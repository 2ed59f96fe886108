"""Post and update messages with ``slack_sdk.WebClient`` and classify what went wrong.

Retries inside one delivery are the SDK's own retry handlers (rate limit with
Retry-After, 500/503, connection errors). What is still failing after them becomes a
``SlackUnavailableError`` (Pub/Sub redelivers) or a ``SlackRejectedError`` (no retry helps).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from notifier.destinations.slack.render import SlackMessage
from notifier.errors import DeferredError, SlackRejectedError, SlackUnavailableError

log = logging.getLogger("notifier")

# Slack error codes that a later attempt may not see; every other ok=false error is final.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "fatal_error",
        "internal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


def make_client(
    token: str,
    base_url: str,
    *,
    timeout: float = 10.0,
    rate_limit_retries: int = 3,
    pacer: ChannelPacer | None = None,
) -> WebClient:
    """A WebClient with retry handlers for rate limits, server errors and dropped connections."""
    rate_limit = (
        PacedRateLimitRetryHandler(pacer, max_retry_count=rate_limit_retries)
        if pacer is not None
        else RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)
    )
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=int(timeout) or 1,
        retry_handlers=[
            ConnectionErrorRetryHandler(
                max_retry_count=2,
                error_types=[
                    URLError,
                    ConnectionResetError,
                    RemoteDisconnected,
                    socket.timeout,
                    TimeoutError,
                ],
            ),
            rate_limit,
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


_FORGET_ABOVE = 500  # channels remembered before idle ones are swept


class Ticket:
    """A place in one channel's queue, taken before any work is done for the message.

    ``wait()`` blocks until it is this post's turn; ``release()`` gives the place back
    unused (a duplicate, a failed enrichment). A ticket is used or released exactly once.
    """

    def __init__(
        self, pacer: ChannelPacer | None, channel: str, *, priority: bool = False, deadline: float = 0.0
    ) -> None:
        self.channel = channel
        self.priority = priority
        self.deadline = deadline
        self.long_wait = False
        self.ready = False
        self.done = pacer is None
        self._pacer = pacer
        self.seq = 0

    def wait(self) -> None:
        """Block until this post may go; DeferredError if the channel fell too far behind."""
        if self._pacer is not None:
            self._pacer._wait(self)

    def release(self) -> None:
        """Give the place back if it was not used."""
        if self._pacer is not None:
            self._pacer._release(self)


class _Channel:
    def __init__(self, lock: threading.Lock) -> None:
        self.next_free = 0.0  # monotonic time of the earliest next post
        self.tickets: list[Ticket] = []  # admitted, neither posted nor released
        self.turn = threading.Condition(lock)


class ChannelPacer:
    """Spaces posts to each Slack channel under its limit, across this instance's threads.

    Slack allows about one message per second per channel. When many pipelines end
    together, racing into 429s and sleeping on Retry-After wastes most of each second;
    queueing here keeps the channel busy at the allowed rate instead. Slots are
    ``headroom`` wider than ``1 / per_second``: a slot is when a request leaves, and
    network jitter must not make two of them arrive closer than the limit.

    A request takes a ``Ticket`` before any work (``reserve``). It may hold its request
    slot for at most ``hold`` seconds of queue ahead of it; a longer wait, or a long wait
    while ``max_waiting`` requests already wait for busy channels, raises DeferredError:
    the message goes back to Pub/Sub and the push backoff brings it later, so a busy
    channel never takes the slots quiet channels need. A message on its last delivery
    attempt may wait twice as long and goes ahead of the others, so that waiting for a
    busy channel never sends it to the dead-letter topic.
    """

    def __init__(
        self,
        per_second: float,
        *,
        hold: float = 25.0,
        max_waiting: int | None = None,
        headroom: float = 0.1,
    ) -> None:
        self.gap = (1.0 + headroom) / per_second if per_second > 0 else 0.0
        self.hold = hold
        self.max_waiting = max_waiting
        # A wait this short frees its slot within two posts: it never counts as long.
        self._quick = 2 * self.gap
        self._lock = threading.Lock()
        self._channels: dict[str, _Channel] = {}
        self._seq = itertools.count(1)
        self._long_waiters = 0

    @classmethod
    def for_instance(cls, per_second: float, *, hold: float, threads: int) -> ChannelPacer:
        """A pacer for an instance serving ``threads`` concurrent requests.

        At most three quarters of them (all but at least two) may wait long for a busy
        channel; the rest stay free for posts to quiet channels. ``threads`` 0 (unknown)
        sets no such cap.
        """
        max_waiting = max(0, threads - max(2, threads // 4)) if threads else None
        return cls(per_second, hold=hold, max_waiting=max_waiting)

    def reserve(self, channel: str, *, final_attempt: bool = False) -> Ticket:
        """Take a place in ``channel``'s queue, or raise DeferredError (hand the message back)."""
        if not self.gap:
            return Ticket(None, channel)
        patience = self.hold * (2 if final_attempt else 1)
        with self._lock:
            now = time.monotonic()
            if len(self._channels) > _FORGET_ABOVE:
                self._forget_idle(now)  # one entry per channel ever seen would only grow
            state = self._channels.get(channel)
            if state is None:
                state = self._channels[channel] = _Channel(self._lock)
            queued = len(state.tickets)
            wait = max(0.0, state.next_free - now) + queued * self.gap
            if wait > patience:
                raise DeferredError(
                    f"channel {channel} is busy: {queued} post(s) queued, a slot in {wait:.0f}s"
                    f" (longer than the {patience:g}s a request may hold); handed back to Pub/Sub"
                )
            long_wait = wait > self._quick
            if (
                long_wait
                and not final_attempt
                and self.max_waiting is not None
                and self._long_waiters >= self.max_waiting
            ):
                raise DeferredError(
                    f"channel {channel} is busy (a slot in {wait:.0f}s) and {self._long_waiters} requests"
                    " already wait for busy channels; handed back to Pub/Sub"
                )
            ticket = Ticket(self, channel, priority=final_attempt, deadline=now + patience + 2 * self.gap)
            ticket.seq = next(self._seq)
            ticket.long_wait = long_wait
            self._long_waiters += long_wait
            state.tickets.append(ticket)
        log.debug("Queued for channel %s: a slot in %.1fs", channel, wait)
        return ticket

    def acquire(self, channel: str) -> None:
        """Wait for a slot now, ahead of the queue (a post without a ticket, or a retry)."""
        self.reserve(channel, final_attempt=True).wait()

    def defer(self, channel: str, seconds: float) -> None:
        """Slack said ``Retry-After: seconds``: no thread posts to ``channel`` before then."""
        with self._lock:
            now = time.monotonic()
            state = self._channels.get(channel)
            if state is None:
                state = self._channels[channel] = _Channel(self._lock)
            state.next_free = max(state.next_free, now + seconds)

    def waiting(self) -> int:
        """Requests holding a place for a busy channel (a long wait) right now."""
        with self._lock:
            return self._long_waiters

    def _wait(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket.done:
                raise RuntimeError("a pacer ticket was used twice")
            state = self._channels[ticket.channel]
            ticket.ready = True
            while True:
                now = time.monotonic()
                first = min((t for t in state.tickets if t.ready), key=lambda t: (not t.priority, t.seq))
                if first is ticket and now >= state.next_free:
                    state.next_free = now + self.gap
                    self._drop(state, ticket)
                    return
                if now >= ticket.deadline:
                    self._drop(state, ticket)
                    raise DeferredError(
                        f"channel {ticket.channel} fell behind (Slack asked to slow down); handed back to Pub/Sub"
                    )
                until = min(ticket.deadline, state.next_free) if first is ticket else ticket.deadline
                state.turn.wait(until - now)

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            state = self._channels.get(ticket.channel)
            if state is not None and not ticket.done:
                self._drop(state, ticket)

    def _drop(self, state: _Channel, ticket: Ticket) -> None:
        """Remove a used or released ticket (under the lock) and wake the channel's waiters."""
        ticket.done = True
        state.tickets.remove(ticket)
        self._long_waiters -= ticket.long_wait
        state.turn.notify_all()

    def _forget_idle(self, now: float) -> None:
        """Drop channels with no queue whose last slot has passed (under the lock)."""
        idle = [
            name for name, state in self._channels.items() if not state.tickets and state.next_free <= now
        ]
        for name in idle:
            del self._channels[name]


class PacedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry, but waiting through the pacer.

    The stock handler sleeps Retry-After in its own thread and then retries straight
    away, colliding with slots the pacer gave other threads meanwhile. This one moves the
    whole channel's schedule back by Retry-After and queues the retry like any post.
    """

    def __init__(self, pacer: ChannelPacer, max_retry_count: int = 3) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._pacer = pacer

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Defer the channel by Retry-After, then wait for a paced slot."""
        channel = _channel_of(request)
        if response is None or channel is None:
            super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)
            return
        retry_after = 1.0
        for key, values in response.headers.items():
            if key.lower() == "retry-after" and values:
                with contextlib.suppress(ValueError):
                    retry_after = float(values[0])
        self._pacer.defer(channel, retry_after)
        self._pacer.acquire(channel)
        state.next_attempt_requested = True
        state.increment_current_attempt()


def _channel_of(request: HttpRequest) -> str | None:
    try:
        body = json.loads(request.data or b"{}")
    except ValueError:
        return None
    channel = body.get("channel") if isinstance(body, dict) else None
    return channel if isinstance(channel, str) else None


class MessageGoneError(SlackRejectedError):
    """The message to update is deleted, not ours, or past the workspace's edit window."""


# chat.update's answers for a message that can no longer be rewritten.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class SlackDelivery:
    """Posts and updates messages; raises SlackRejectedError or SlackUnavailableError on failure.

    Every call, replies and updates included, waits for the channel's pacer first.
    """

    def __init__(self, client: WebClient, pacer: ChannelPacer | None = None) -> None:
        self._client = client
        self._pacer = pacer or ChannelPacer(0)

    def post(self, message: SlackMessage, ticket: Ticket | None = None) -> str:
        """Post ``message`` when its ``ticket`` (or, without one, a paced slot) allows; return its ``ts``."""
        return self.post_payload(message.to_payload(), ticket)

    def post_payload(self, payload: Mapping[str, Any], ticket: Ticket | None = None) -> str:
        """``chat.postMessage`` with these arguments (thread_ts, metadata, …); returns the ``ts``.

        It goes when ``ticket`` (the place the handler took in the channel's queue) has its
        turn; without one, in the next paced slot.
        """
        channel = str(payload["channel"])
        if ticket is None:
            self._pacer.acquire(channel)
        elif ticket.channel != channel:
            raise ValueError(f"ticket for {ticket.channel} used for a post to {channel}")
        else:
            ticket.wait()
        response = self._call(self._client.chat_postMessage, payload)
        return str(response.get("ts", ""))

    def update(self, payload: Mapping[str, Any]) -> None:
        """``chat.update``; MessageGoneError when the message can no longer be rewritten.

        Paced like a post, in a slot ahead of the channel's queue (it belongs to a post
        that already holds its place).
        """
        self._pacer.acquire(str(payload["channel"]))
        self._call(self._client.chat_update, payload)

    def _call(self, method: Callable[..., Any], payload: Mapping[str, Any]) -> Any:
        try:
            return method(**payload)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
            if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
                raise SlackUnavailableError(
                    f"Slack still answered HTTP {status} ({error or 'no error code'}) after retries"
                ) from None
            if error in GONE_ERRORS:
                raise MessageGoneError(f"Slack cannot update the message: {error}") from None
            raise SlackRejectedError(f"Slack rejected the message: {error or f'HTTP {status}'}") from None
        except (SlackClientError, URLError, OSError, TimeoutError) as exc:
            # Name the failure, never the request: its headers carry the token.
            raise SlackUnavailableError(f"Slack unreachable: {type(exc).__name__}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason)[:200]
