"""Post and update messages with ``slack_sdk.WebClient`` and classify what went wrong.

Retries inside one delivery are the SDK's own retry handlers (rate limit with
Retry-After, 500/503, connection errors). What is still failing after them becomes a
``SlackUnavailableError`` (Pub/Sub redelivers) or a ``SlackRejectedError`` (no retry helps).
"""

from __future__ import annotations

import contextlib
import json
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
from notifier.errors import SlackRejectedError, SlackUnavailableError

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


class ChannelPacer:
    """Spaces posts to one channel across this process's threads, under Slack's limit.

    Slack allows about one message per second per channel. When many pipelines end
    together, racing into 429s and sleeping on Retry-After wastes most of each second;
    queueing locally keeps the channel busy at the allowed rate instead. Slots are
    ``headroom`` wider than ``1 / per_second``: a slot is when a request leaves, and
    network jitter must not make two of them arrive closer than the limit. The wait is
    bounded: past ``max_wait`` the post is left to a Pub/Sub redelivery.
    """

    def __init__(self, per_second: float, max_wait: float = 30.0, headroom: float = 0.1) -> None:
        self._gap = (1.0 + headroom) / per_second if per_second > 0 else 0.0
        self._max_wait = max_wait
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, channel: str) -> None:
        """Block until ``channel`` may be posted to, or raise SlackUnavailableError."""
        if not self._gap:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(channel, now))
            if slot - now > self._max_wait:
                raise SlackUnavailableError(f"channel {channel} is saturated; leaving it to a redelivery")
            self._next[channel] = slot + self._gap
        if slot > now:
            time.sleep(slot - now)

    def defer(self, channel: str, seconds: float) -> None:
        """Slack said ``Retry-After: seconds``: no thread posts to ``channel`` before then."""
        with self._lock:
            now = time.monotonic()
            self._next[channel] = max(self._next.get(channel, now), now + seconds)


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

    def post(self, message: SlackMessage) -> str:
        """Post ``message`` and return its Slack ``ts``."""
        return self.post_payload(message.to_payload())

    def post_payload(self, payload: Mapping[str, Any]) -> str:
        """``chat.postMessage`` with these arguments (thread_ts, metadata, …); returns the ``ts``."""
        self._pacer.acquire(str(payload["channel"]))
        response = self._call(self._client.chat_postMessage, payload)
        return str(response.get("ts", ""))

    def update(self, payload: Mapping[str, Any]) -> None:
        """``chat.update``; MessageGoneError when the message can no longer be rewritten."""
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
