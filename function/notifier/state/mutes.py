"""Acknowledgements and mutes in Firestore: one document per pipeline (``MUTES_COLLECTION``).

- An *acknowledgement* ("I'm on it") covers the pipeline's failing streak: its failures
  mention no one until the pipeline succeeds again (a success of a run at least as new
  as the acknowledged one clears it) or ``expiry`` passes (the streak's own horizon,
  ``STREAK_EXPIRY_DAYS``). The first acknowledgement stands; a second click is told who.
- A *mute* silences the pipeline until a time: its messages still go (into the streak's
  thread), without mentions and without any destination that pages (SMS).

The handler asks ``for_notice`` once per notice (one read; a write only when a success
clears an acknowledgement); the actions worker writes. Every write is a compare-and-set
on the document's update time, so two clicks at once cannot both win. Documents carry
``expires_at`` (the later of the mute's end and the acknowledgement's) for a TTL policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from notifier.errors import TransientError, describe
from notifier.model import SUCCEEDED, Quiet
from notifier.names import is_slack_user
from notifier.state.firestore import FIRESTORE_TIMEOUT, document_id, firestore_retry

log = logging.getLogger("notifier.mutes")

ATTEMPTS = 5  # compare-and-set rounds before giving up (contention is two clicks, not a crowd)
TTL_MARGIN = timedelta(days=1)


class MutesUnavailableError(TransientError):
    """Firestore could not be asked; the handler posts as if nothing were said, a click is retried."""


@dataclass(frozen=True)
class Acknowledgement:
    """The stored acknowledgement: who, when, of which run."""

    by: str
    at: datetime
    run: str
    run_time: datetime | None
    until: datetime


def _time(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _user(value: Any) -> str:
    return value if isinstance(value, str) and is_slack_user(value) else ""


def acknowledgement(document: Mapping[str, Any], now: datetime) -> Acknowledgement | None:
    """The document's acknowledgement while it holds, else None (malformed reads as none)."""
    by, at, until = (
        _user(document.get("ack_by")),
        _time(document.get("ack_at")),
        _time(document.get("ack_until")),
    )
    if not by or at is None or until is None or until <= now:
        return None
    run = document.get("ack_run")
    return Acknowledgement(
        by, at, run if isinstance(run, str) else "", _time(document.get("ack_run_time")), until
    )


def quiet_of(document: Mapping[str, Any], now: datetime) -> Quiet:
    """What the document says now: the acknowledgement and the mute that still hold."""
    ack = acknowledgement(document, now)
    muted_until = _time(document.get("muted_until"))
    muted_by = _user(document.get("muted_by"))
    muted = muted_until is not None and muted_until > now and bool(muted_by)
    return Quiet(
        acked_by=ack.by if ack else "",
        acked_at=ack.at if ack else None,
        muted_by=muted_by if muted else "",
        muted_until=muted_until if muted else None,
    )


class FirestoreMutes:
    """Acknowledgements and mutes, one document per pipeline."""

    def __init__(
        self,
        client: Any,
        collection: str,
        *,
        ack_expiry: timedelta = timedelta(days=14),
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._client = client
        self._collection = collection
        self._ack_expiry = ack_expiry
        self._clock = clock

    def _ref(self, pipeline: str) -> Any:
        return self._client.collection(self._collection).document(document_id(f"mute\n{pipeline}"))

    def _change(
        self, pipeline: str, step: Callable[[dict[str, Any], datetime], dict[str, Any] | None]
    ) -> tuple[dict[str, Any], bool]:
        """Read, ``step(document, now)`` -> the fields to write (None: nothing), write if unchanged meanwhile.

        Returns the document as it stands after, and whether this call wrote it.
        """
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition  # noqa: PLC0415

        ref = self._ref(pipeline)
        try:
            for _ in range(ATTEMPTS):
                snapshot = ref.get(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
                document = (snapshot.to_dict() or {}) if snapshot.exists else {}
                now = self._clock()
                fields = step(document, now)
                if fields is None:
                    return document, False
                updated = {**document, **fields, "pipeline": pipeline, "updated_at": now}
                updated["expires_at"] = self._expires(updated, now)
                try:
                    if snapshot.exists:
                        option = self._client.write_option(last_update_time=snapshot.update_time)
                        ref.update(updated, option=option, retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
                    else:
                        ref.create(updated, retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
                    return updated, True
                except (AlreadyExists, FailedPrecondition):
                    continue  # another writer was first: decide again on what it wrote
        except Exception as exc:  # noqa: BLE001 - any Firestore failure
            raise MutesUnavailableError(f"acknowledgements and mutes unavailable: {describe(exc)}") from None
        raise MutesUnavailableError(f"{ATTEMPTS} writers at once on the mute of {pipeline!r}")

    def _expires(self, document: Mapping[str, Any], now: datetime) -> datetime:
        ends = [t for t in (_time(document.get("muted_until")), _time(document.get("ack_until"))) if t]
        return max([now, *ends]) + TTL_MARGIN

    def quiet(self, pipeline: str) -> Quiet:
        """What holds for ``pipeline`` now."""
        document, _ = self._change(pipeline, lambda document, now: None)
        return quiet_of(document, self._clock())

    def for_notice(self, pipeline: str, state: str, run_time: datetime | None) -> Quiet:
        """What holds for a notice of ``pipeline`` (one read). A success of a run at least as new
        as the acknowledged one ends the acknowledgement: the streak it covered is over."""

        def step(document: dict[str, Any], now: datetime) -> dict[str, Any] | None:
            ack = acknowledgement(document, now)
            if ack is None or state != SUCCEEDED:
                return None
            if run_time is not None and ack.run_time is not None and run_time < ack.run_time:
                return None  # an older success, reported late: the streak still stands
            return {"ack_by": "", "ack_until": None, "ack_cleared_at": now}

        document, cleared = self._change(pipeline, step)
        if cleared:
            log.info("The acknowledgement of %s ends: the pipeline succeeded", pipeline)
        return quiet_of(document, self._clock())

    def acknowledge(
        self, pipeline: str, by: str, run: str, run_time: datetime | None, channel: str
    ) -> tuple[Quiet, bool]:
        """Acknowledge the pipeline's failing streak as ``by``; False when it already was (first one stands)."""

        def step(document: dict[str, Any], now: datetime) -> dict[str, Any] | None:
            if acknowledgement(document, now) is not None:
                return None
            return {
                "ack_by": by,
                "ack_at": now,
                "ack_run": run,
                "ack_run_time": run_time,
                "ack_channel": channel,
                "ack_until": now + self._ack_expiry,
            }

        document, changed = self._change(pipeline, step)
        return quiet_of(document, self._clock()), changed

    def mute(self, pipeline: str, by: str, hours: float) -> tuple[Quiet, bool]:
        """Mute the pipeline for ``hours`` from now (a mute in force is extended)."""
        document, changed = self._change(
            pipeline,
            lambda document, now: {
                "muted_by": by,
                "muted_at": now,
                "muted_until": now + timedelta(hours=hours),
            },
        )
        return quiet_of(document, self._clock()), changed

    def unmute(self, pipeline: str, by: str) -> tuple[Quiet, bool]:
        """End the pipeline's mute; False when it was not muted."""

        def step(document: dict[str, Any], now: datetime) -> dict[str, Any] | None:
            if not quiet_of(document, now).muted:
                return None
            return {"muted_until": None, "unmuted_by": by, "unmuted_at": now}

        document, changed = self._change(pipeline, step)
        return quiet_of(document, self._clock()), changed
