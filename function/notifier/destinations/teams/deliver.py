"""Post a card to a Microsoft Teams channel through its Workflows webhook, and classify failures.

A workflow's trigger URL (``https://….logic.azure.com:443/workflows/<id>/triggers/manual/paths/invoke?…&sig=…``)
is a credential (its ``sig`` signs it): it lives in Secret Manager, and neither it nor its
query ever appears in a log line or an error (only the workflow's id does).

The trigger answers ``202 Accepted`` as soon as it fires; the flow posts the card after
the answer, so a card Teams refuses fails out of sight (``render`` keeps every card valid
and within the size limit). A workflow throttles a trigger called more than about four
times a second: posts are paced per workflow (``pacing.Pacer``), a ``429`` moves the
workflow's schedule back by ``Retry-After`` and hands the message back to Pub/Sub; ``5xx``
and connection errors go back too (transient); any other 4xx (a deleted workflow's
404, a bad signature's 401) is permanent.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from notifier.destinations.webhooks import JsonPoster, error_object
from notifier.errors import PermanentError, TransientError
from notifier.pacing import Pacer, Ticket

_WORKFLOW = re.compile(r"/workflows/([0-9a-fA-F]{32})/")


class TeamsRejectedError(PermanentError):
    """The workflow refused the message for a reason no retry fixes (deleted, bad signature, bad body)."""


class TeamsUnavailableError(TransientError):
    """Teams could not be reached, or answered 5xx: Pub/Sub redelivers."""


def workflow_of(webhook_url: str) -> str:
    """The workflow id in a trigger URL (safe to log), or '?'."""
    match = _WORKFLOW.search(urlsplit(webhook_url).path)
    return match[1].lower() if match else "?"


class TeamsWebhook:
    """Posts messages to Workflows trigger URLs with ``requests``; returns the flow run's id."""

    def __init__(self, pacer: Pacer, session: Any = None) -> None:
        self._poster = JsonPoster(
            pacer,
            service="Teams",
            what="workflow",
            unavailable=TeamsUnavailableError,
            rejected=TeamsRejectedError,
            error_text=lambda response: error_object(response, "code"),
            session=session,
        )
        self.pacer = pacer

    def post(self, webhook_url: str, message: dict[str, Any], ticket: Ticket | None = None) -> str:
        """Post ``message`` when ``ticket`` (its place in the workflow's queue) allows;
        TeamsRejectedError, TeamsUnavailableError or DeferredError on failure."""
        response = self._poster.post(webhook_url, message, workflow_of(webhook_url), ticket)
        return response.headers.get("x-ms-workflow-run-id", "")[:100]
