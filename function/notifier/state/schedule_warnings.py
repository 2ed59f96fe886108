"""The schedule warnings that went out, read back from their claims (for the weekly digest).

Each schedule warning claims ``schedule:<schedule>#<kind>[#<slot>]#<target>`` in
``DEDUP_COLLECTION`` (``state.claims``), and the claim records what it was about
(``schedule``, ``schedule_kind``, ``slot``, ``pipeline``, ``target``) beside where it went
(``channel``) and when (``sent_at``), for at least ``SCHEDULE_CLAIM_DAYS``. ``sent_between``
reads those of one period with one query on ``schedule_kind`` (Firestore's automatic
single-field index; no composite index needed): a claim that never reached ``sent``
(released, or still pending) is not a warning anyone saw.

Names and pipelines here come from Vertex AI: untrusted text, scrubbed and bounded again
by whatever renders them (``destinations.content``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifier.model import SCHEDULE_STATES
from notifier.state.claims import SENT
from notifier.state.firestore import FIRESTORE_TIMEOUT, firestore_retry


@dataclass(frozen=True)
class SentWarning:
    """One schedule warning delivered to one destination address."""

    schedule: str  # the schedule's resource name
    kind: str  # MISSED, SCHEDULE_FAILED or SCHEDULE_ENDED
    slot: datetime | None
    pipeline: str
    target: str  # "<destination>:<address>", as the claim's key ends
    sent_at: datetime


def sent_between(client: Any, collection: str, start: datetime, end: datetime) -> list[SentWarning]:
    """The schedule warnings sent in ``[start, end)``, oldest first."""
    from google.cloud.firestore_v1.base_query import FieldFilter  # noqa: PLC0415 - with the client

    query = client.collection(collection).where(
        filter=FieldFilter("schedule_kind", "in", sorted(SCHEDULE_STATES))
    )
    found: list[SentWarning] = []
    for snapshot in query.stream(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT):
        claim = snapshot.to_dict() or {}
        sent_at = claim.get("sent_at")
        if claim.get("status") != SENT or not isinstance(sent_at, datetime) or not start <= sent_at < end:
            continue
        slot = claim.get("slot")
        found.append(
            SentWarning(
                schedule=str(claim.get("schedule", "")),
                kind=str(claim.get("schedule_kind", "")),
                slot=slot if isinstance(slot, datetime) else None,
                pipeline=str(claim.get("pipeline", "")),
                target=str(claim.get("target", "")),
                sent_at=sent_at,
            )
        )
    return sorted(found, key=lambda warning: (warning.sent_at, warning.schedule, warning.target))
