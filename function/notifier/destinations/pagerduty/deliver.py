"""Send events to PagerDuty's Events API v2 (``POST /v2/enqueue``), paced per service, and classify failures.

A routing key is a credential: it lives in Secret Manager, goes into the request body
only, and never appears in a log line or an error (the service's name does). The answer:

- ``202``: accepted (PagerDuty's own ``dedup_key`` comes back);
- ``400`` (an invalid event, or "Invalid routing key"), ``413`` and any other 4xx:
  permanent, logged with PagerDuty's reason and acknowledged, never retried;
- ``429``: PagerDuty's rate limit (about 120 events a minute per routing key): the
  service's schedule moves back (``Retry-After``, else ``RETRY_AFTER_DEFAULT``) and the
  message is handed back to Pub/Sub, as a busy Slack channel does;
- ``5xx``, a connection error or a timeout: transient, Pub/Sub redelivers.
"""

from __future__ import annotations

from typing import Any

from notifier.destinations.webhooks import JsonPoster
from notifier.errors import PermanentError, TransientError
from notifier.pacing import Pacer, Ticket

PATH = "/v2/enqueue"
RETRY_AFTER_DEFAULT = 10.0
ERRORS_SHOWN = 3


class PagerDutyRejectedError(PermanentError):
    """PagerDuty refused the event for a reason no retry fixes (bad routing key, invalid event)."""


class PagerDutyUnavailableError(TransientError):
    """PagerDuty could not be reached, or answered 5xx: Pub/Sub redelivers."""


class PagerDutyEvents:
    """Posts events with ``requests``; returns the ``dedup_key`` PagerDuty answers with."""

    def __init__(self, api_url: str, pacer: Pacer, session: Any = None) -> None:
        self._url = api_url.rstrip("/") + PATH
        self._poster = JsonPoster(
            pacer,
            service="PagerDuty",
            what="service",
            unavailable=PagerDutyUnavailableError,
            rejected=PagerDutyRejectedError,
            error_text=_error_text,
            retry_after_default=RETRY_AFTER_DEFAULT,
            session=session,
        )
        self.pacer = pacer

    def send(
        self, routing_key: str, event: dict[str, Any], service: str, ticket: Ticket | None = None
    ) -> str:
        """Send ``event`` with ``routing_key`` when ``ticket`` (its place in ``service``'s queue)
        allows; PagerDutyRejectedError, PagerDutyUnavailableError or DeferredError on failure."""
        body = {"routing_key": routing_key, **event}
        response = self._poster.post(self._url, body, service, ticket, secret=routing_key)
        try:
            return str(response.json().get("dedup_key", ""))
        except (ValueError, AttributeError):
            return ""


def _error_text(response: Any) -> str:
    """PagerDuty's reason: its message and first errors, or its plain-text answer."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        errors = answer.get("errors") if isinstance(answer.get("errors"), list) else []
        parts = [str(answer.get("message", "")), *(str(error) for error in errors[:ERRORS_SHOWN])]
        return "; ".join(part for part in parts if part)[:300]
    return (response.text or "no error details")[:300]
