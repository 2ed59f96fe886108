"""At most one sweep per interval across instances: one Firestore document holding the last sweep's time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from notifier.errors import describe
from notifier.state.firestore import FIRESTORE_TIMEOUT, firestore_retry

log = logging.getLogger("notifier.dedup")


class FirestoreSweepInterval:
    """At most one sweep per interval across instances: one document holding the last sweep's time.

    Taken with a compare-and-set on the document's update time, so two deliveries of the
    scheduler's trigger (or two triggers close together) sweep once. Stored beside the
    claims (``DEDUP_COLLECTION``) with the same ``expires_at`` for their TTL policy. When
    Firestore cannot be asked, the sweep runs: a second sweep costs list calls, never a
    second warning (each warning has its own claim).
    """

    DOCUMENT = "sweep-interval"

    def __init__(self, client: Any, collection: str, interval: timedelta) -> None:
        self._ref = client.collection(collection).document(self.DOCUMENT)
        self._client = client
        self._interval = interval

    def claim(self, now: datetime) -> bool:
        """Take the sweep of this interval, unless one ran less than an interval before ``now``."""
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition  # noqa: PLC0415

        document = {"last": now, "previous": None, "expires_at": now + max(self._interval, timedelta(days=1))}
        try:
            snapshot = self._ref.get(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
            if not snapshot.exists:
                self._ref.create(document, retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
                return True
            last = (snapshot.to_dict() or {}).get("last")
            if isinstance(last, datetime) and timedelta(0) <= now - last < self._interval:
                return False
            document["previous"] = last if isinstance(last, datetime) else None
            option = self._client.write_option(last_update_time=snapshot.update_time)
            self._ref.update(document, option=option, retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
            return True
        except (AlreadyExists, FailedPrecondition):
            return False  # another delivery took this interval first
        except Exception as exc:  # noqa: BLE001 - Firestore down: sweep rather than miss hung runs
            log.warning("Sweep interval claim unavailable (%s); sweeping anyway", describe(exc))
            return True

    def release(self, now: datetime) -> None:
        """Give back the interval claimed at ``now`` (the sweep failed and Pub/Sub will retry it)."""
        try:
            snapshot = self._ref.get(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
            stored = snapshot.to_dict() or {} if snapshot.exists else {}
            if stored.get("last") == now:
                option = self._client.write_option(last_update_time=snapshot.update_time)
                self._ref.update(
                    {"last": stored.get("previous")},
                    option=option,
                    retry=firestore_retry(),
                    timeout=FIRESTORE_TIMEOUT,
                )
        except Exception as exc:  # noqa: BLE001 - the next interval sweeps anyway
            log.warning("Could not give the sweep interval back (%s)", describe(exc))
