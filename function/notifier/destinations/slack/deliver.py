"""Post and update messages with ``slack_sdk.WebClient`` and classify what went wrong.

Retries inside one delivery are the SDK's own retry handlers (rate limit with
Retry-After, 500/503, connection errors). What is still failing after them becomes a
``SlackUnavailableError`` (Pub/Sub redelivers) or a ``SlackRejectedError`` (no retry helps).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
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
from notifier.pacing import Pacer, Ticket

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
    pacer: Pacer | None = None,
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


class PacedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry, but waiting through the pacer.

    The stock handler sleeps Retry-After in its own thread and then retries straight
    away, colliding with slots the pacer gave other threads meanwhile. This one moves the
    whole channel's schedule back by Retry-After and queues the retry like any post.
    """

    def __init__(self, pacer: Pacer, max_retry_count: int = 3) -> None:
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

    def __init__(self, client: WebClient, pacer: Pacer | None = None) -> None:
        self._client = client
        self._pacer = pacer or Pacer(0)

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

    def group_members(self, group: str) -> frozenset[str]:
        """``usergroups.users.list``: the user ids in the user group ``group`` (scope ``usergroups:read``)."""
        response = self._call(self._client.usergroups_users_list, {"usergroup": group})
        users = response.get("users") if isinstance(response.data, dict) else None
        return frozenset(u for u in users or () if isinstance(u, str))

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
