"""Post a rendered message with ``slack_sdk.WebClient`` and classify what went wrong.

Retries inside one delivery are the SDK's own retry handlers (rate limit with
Retry-After, 500/503, connection errors). What is still failing after them becomes a
``SlackUnavailableError`` (Pub/Sub redelivers) or a ``SlackRejectedError`` (no retry helps).
"""

from __future__ import annotations

import socket
import threading
import time
from http.client import RemoteDisconnected
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from notifier.errors import SlackRejectedError, SlackUnavailableError
from notifier.render import SlackMessage

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
    token: str, base_url: str, *, timeout: float = 10.0, rate_limit_retries: int = 3
) -> WebClient:
    """A WebClient with retry handlers for rate limits, server errors and dropped connections."""
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
            RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class ChannelPacer:
    """Spaces posts to one channel at most ``per_second`` apart, across this process's threads.

    Slack allows about one message per second per channel. When many pipelines end
    together, racing into 429s and sleeping on Retry-After wastes most of each second;
    queueing locally keeps the channel busy at exactly the allowed rate. The wait is
    bounded: past ``max_wait`` the post is left to a Pub/Sub redelivery instead.
    """

    def __init__(self, per_second: float, max_wait: float = 30.0) -> None:
        self._gap = 1.0 / per_second if per_second > 0 else 0.0
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


class SlackDelivery:
    """Posts messages; raises SlackRejectedError or SlackUnavailableError on failure."""

    def __init__(self, client: WebClient, pacer: ChannelPacer | None = None) -> None:
        self._client = client
        self._pacer = pacer or ChannelPacer(0)

    def post(self, message: SlackMessage) -> str:
        """Post ``message`` and return its Slack ``ts``."""
        self._pacer.acquire(message.channel)
        try:
            response = self._client.chat_postMessage(**message.to_payload())
        except SlackApiError as exc:
            status = exc.response.status_code
            error = exc.response.get("error", "") if isinstance(exc.response.data, dict) else ""
            if status == 429 or status >= 500 or error in TRANSIENT_ERRORS:
                raise SlackUnavailableError(
                    f"Slack still answered HTTP {status} ({error or 'no error code'}) after retries"
                ) from None
            raise SlackRejectedError(f"Slack rejected the message: {error or f'HTTP {status}'}") from None
        except (SlackClientError, URLError, OSError, TimeoutError) as exc:
            # Name the failure, never the request: its headers carry the token.
            raise SlackUnavailableError(f"Slack unreachable: {type(exc).__name__}: {_reason(exc)}") from None
        return str(response.get("ts", ""))


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason)[:200]
