"""Post a card message to a Google Chat space through its incoming webhook, and classify failures.

A webhook URL (``https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…``)
is a credential: it lives in Secret Manager, and neither it nor its query ever appears
in a log line or an error (only the space's id does). Messages of one pipeline share
``thread.threadKey`` and are posted with ``messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD``,
so they gather in one thread per pipeline and space.

Chat allows 60 writes a minute per space: posts are paced per space (``pacing.Pacer``,
shared with Slack), each waiting for the place it took in its space's queue. A 429 moves
the space's schedule back by Retry-After and hands the message back to Pub/Sub, as a busy
Slack channel does; other failures go back too (transient: 5xx, connection errors) or
are acknowledged (permanent: any other 4xx, e.g. a deleted space or a revoked webhook
answers 403/404).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from notifier.errors import DeferredError, PermanentError, TransientError
from notifier.pacing import Pacer, Ticket

REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
TIMEOUT = 10.0
_SPACE = re.compile(r"/spaces/([^/]+)/")


class ChatRejectedError(PermanentError):
    """Chat refused the message for a reason no retry fixes (revoked webhook, deleted space, bad card)."""


class ChatUnavailableError(TransientError):
    """Chat could not be reached, or answered 429/5xx: Pub/Sub redelivers."""


def space_of(webhook_url: str) -> str:
    """The space id in a webhook URL (safe to log), or '?'."""
    match = _SPACE.search(urlsplit(webhook_url).path + "/")
    return match[1] if match else "?"


class ChatWebhook:
    """Posts messages to webhook URLs with ``requests``; returns the created message's name."""

    def __init__(self, pacer: Pacer, session: Any = None) -> None:
        import requests  # noqa: PLC0415 - only instances that post to Chat

        self._session = session or requests.Session()
        self.pacer = pacer

    def post(
        self, webhook_url: str, message: dict[str, Any], thread_key: str, ticket: Ticket | None = None
    ) -> str:
        """Post ``message`` in the thread ``thread_key`` when ``ticket`` (its place in the space's
        queue) allows; ChatRejectedError, ChatUnavailableError or DeferredError on failure."""
        import requests  # noqa: PLC0415

        space = space_of(webhook_url)
        if ticket is None:
            self.pacer.acquire(space)
        else:
            ticket.wait()
        body = {**message, "thread": {"threadKey": thread_key}}
        try:
            response = self._session.post(
                webhook_url,
                params={"messageReplyOption": REPLY_OPTION},
                data=json.dumps(body),
                headers={"Content-Type": "application/json; charset=UTF-8"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise ChatUnavailableError(
                f"Google Chat unreachable for space {space}: {type(exc).__name__}"
            ) from None
        if response.ok:
            try:
                return str(response.json().get("name", ""))
            except ValueError:
                return ""
        reason = (
            f"Google Chat answered HTTP {response.status_code} for space {space}: {_error_text(response)}"
        )
        if response.status_code == 429:
            self.pacer.defer(space, _retry_after(response))
            raise DeferredError(f"{reason}; handed back to Pub/Sub")
        if response.status_code >= 500:
            raise ChatUnavailableError(reason)
        raise ChatRejectedError(reason)


def _retry_after(response: Any, default: float = 1.0) -> float:
    try:
        return min(60.0, max(0.0, float(response.headers.get("Retry-After", default))))
    except (TypeError, ValueError):
        return default


def _error_text(response: Any) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('status', '')} {str(error.get('message', ''))[:150]}".strip()
    except (ValueError, AttributeError):
        return "no error details"
