"""Post a card message to a Google Chat space through its incoming webhook, and classify failures.

A webhook URL (``https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…``)
is a credential: it lives in Secret Manager, and neither it nor its query ever appears
in a log line or an error (only the space's id does). Messages of one pipeline share
``thread.threadKey`` and are posted with ``messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD``,
so they gather in one thread per pipeline and space.

Chat allows 60 writes a minute per space: posts are paced per space (``pacer``), a 429
or 503 is tried once more after a second, and what still fails goes back to Pub/Sub
(transient: 429, 5xx, connection errors) or is acknowledged (permanent: any other 4xx,
e.g. a deleted space or a revoked webhook answers 403/404).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

from notifier.errors import PermanentError, TransientError

REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
TIMEOUT = 10.0
_SPACE = re.compile(r"/spaces/([^/]+)/")


class ChatRejectedError(PermanentError):
    """Chat refused the message for a reason no retry fixes (revoked webhook, deleted space, bad card)."""


class ChatUnavailableError(TransientError):
    """Chat could not be reached, or answered 429/5xx: Pub/Sub redelivers."""


class Pacer(Protocol):
    """Spaces posts to one key (the space) under its write quota."""

    def acquire(self, key: str) -> None:
        """Block until ``key`` may be written to, or raise a TransientError."""


def space_of(webhook_url: str) -> str:
    """The space id in a webhook URL (safe to log), or '?'."""
    match = _SPACE.search(urlsplit(webhook_url).path + "/")
    return match[1] if match else "?"


class ChatWebhook:
    """Posts messages to webhook URLs with ``requests``; returns the created message's name."""

    def __init__(self, pacer: Pacer, session: Any = None, retry_wait: float = 1.0) -> None:
        import requests  # noqa: PLC0415 - only instances that post to Chat

        self._session = session or requests.Session()
        self._pacer = pacer
        self._retry_wait = retry_wait

    def post(self, webhook_url: str, message: dict[str, Any], thread_key: str) -> str:
        """Post ``message`` in the thread ``thread_key``; ChatRejectedError or ChatUnavailableError on failure."""
        import requests  # noqa: PLC0415

        space = space_of(webhook_url)
        body = {**message, "thread": {"threadKey": thread_key}}
        for attempt in (1, 2):
            self._pacer.acquire(space)
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
            if response.status_code in (429, 503) and attempt == 1:
                time.sleep(self._retry_wait)
                continue
            break
        if response.ok:
            try:
                return str(response.json().get("name", ""))
            except ValueError:
                return ""
        reason = (
            f"Google Chat answered HTTP {response.status_code} for space {space}: {_error_text(response)}"
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise ChatUnavailableError(reason)
        raise ChatRejectedError(reason)


def _error_text(response: Any) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('status', '')} {str(error.get('message', ''))[:150]}".strip()
    except (ValueError, AttributeError):
        return "no error details"
