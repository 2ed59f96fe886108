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

import re
from typing import Any
from urllib.parse import urlsplit

from notifier.destinations.webhooks import JsonPoster, error_object
from notifier.errors import PermanentError, TransientError
from notifier.pacing import Pacer, Ticket

REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
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
        self._poster = JsonPoster(
            pacer,
            service="Google Chat",
            what="space",
            unavailable=ChatUnavailableError,
            rejected=ChatRejectedError,
            error_text=lambda response: error_object(response, "status"),
            content_type="application/json; charset=UTF-8",
            session=session,
        )
        self.pacer = pacer

    def post(
        self, webhook_url: str, message: dict[str, Any], thread_key: str, ticket: Ticket | None = None
    ) -> str:
        """Post ``message`` in the thread ``thread_key`` when ``ticket`` (its place in the space's
        queue) allows; ChatRejectedError, ChatUnavailableError or DeferredError on failure."""
        body = {**message, "thread": {"threadKey": thread_key}}
        response = self._poster.post(
            webhook_url, body, space_of(webhook_url), ticket, params={"messageReplyOption": REPLY_OPTION}
        )
        try:
            return str(response.json().get("name", ""))
        except ValueError:
            return ""
