"""Exactly one Slack message per pipeline run and final state, despite at-least-once delivery.

Before posting, the notifier claims an idempotency key in Firestore with an atomic
create-if-absent. The claim is a lease:

- ``pending`` while posting. A redelivery that finds a pending lease younger than
  ``DEDUP_LEASE_SECONDS`` raises ``ClaimPendingError`` (transient: Pub/Sub tries again
  later); an expired one is taken over with a compare-and-set on the document's update
  time, so a crash between claim and post delays the message but never loses it.
- ``sent`` (with the channel and the message ``ts``) after. A redelivery that finds it is
  acknowledged without posting.

If Firestore itself is unavailable the message is posted anyway and a WARNING logged:
a duplicate is better than a lost alert. Claims carry ``expires_at`` for a TTL policy.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from notifier.errors import TransientError, describe
from notifier.model import SWEEP, FinalStatus, Outcome, Receipt
from notifier.sources.pubsub import PubSubMessage

if TYPE_CHECKING:
    from notifier.config import Config

# Enriches, renders and delivers the message; returns where it went (None: nothing was sent).
Deliver = Callable[[], Receipt | None]

log = logging.getLogger("notifier.dedup")

PENDING = "pending"
SENT = "sent"
FIRESTORE_TIMEOUT = 5.0


class ClaimPendingError(TransientError):
    """Another delivery of the same notification holds a live lease: try again later."""


def idempotency_key(
    status: FinalStatus, message: PubSubMessage, target: str = "", *, unverified: bool = False
) -> str:
    """The pipeline job and its final state; the Pub/Sub message id when there is no job.

    Job events key on the job's name as Vertex AI returns it (the project number, as the
    stub has it), so the stub's message and the event for one run share a key. A sweep's
    warning keys on the job alone: one warning per run, whichever not-ended state it is in.
    ``target`` (``google_chat:<webhook>``, ``sms:<number>``) makes one key per destination
    and address; Slack's key has none, as before there were other destinations. An
    ``unverified`` notice (Vertex AI could not confirm it) has a key of its own, so it can
    never take the one the confirmed notice of the same run needs.
    """
    if status.pipeline_job_resource_name:
        state = "STUCK" if status.source == SWEEP else status.state
        key = f"{status.pipeline_job_resource_name}#{state}"
    else:
        key = f"message:{message.message_id}"
    if unverified:
        key += "#UNVERIFIED"
    return f"{key}#{target}" if target else key


def firestore_client(config: Config) -> Any:
    """A Firestore client for the configured project and database (claims and streaks share it)."""
    from google.cloud import firestore  # noqa: PLC0415 - only when de-duplication is on

    return firestore.Client(project=config.project or None, database=config.firestore_database)


def firestore_retry() -> Any:
    """Short and bounded retries: a slow Firestore must not eat the function's time for Slack."""
    from google.api_core import exceptions, retry  # noqa: PLC0415 - only when de-duplication is on

    return retry.Retry(
        predicate=retry.if_exception_type(exceptions.ServiceUnavailable, exceptions.DeadlineExceeded),
        initial=0.1,
        maximum=1.0,
        timeout=FIRESTORE_TIMEOUT,
    )


def document_id(key: str) -> str:
    """A Firestore-safe document id for ``key`` (ids may not contain '/')."""
    return hashlib.sha256(key.encode()).hexdigest()


class FirestoreClaims:
    """Claims notifications in one Firestore collection."""

    def __init__(
        self,
        client: Any,
        collection: str,
        *,
        lease: timedelta,
        ttl: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._client = client
        self._collection = collection
        self._lease = lease
        self._ttl = ttl
        self._clock = clock

    @classmethod
    def from_config(cls, config: Config, client: Any = None) -> FirestoreClaims:
        """Claims store for the configured collection, in ``client``'s database (else the configured one)."""
        return cls(
            client or firestore_client(config),
            config.dedup_collection,
            lease=timedelta(seconds=config.dedup_lease_seconds),
            ttl=timedelta(days=config.dedup_ttl_days),
        )

    def _retry(self) -> Any:
        return firestore_retry()

    def post_once(
        self,
        status: FinalStatus,
        message: PubSubMessage,
        deliver: Deliver,
        target: str = "",
        *,
        unverified: bool = False,
    ) -> Outcome:
        """Run ``deliver`` (enrich, render, post) unless this notification was already sent to ``target``.

        The claim comes first, so a duplicate delivery costs one Firestore round trip and
        no Vertex AI call. See the module doc for the lease.
        """
        key = idempotency_key(status, message, target, unverified=unverified)
        ref = self._client.collection(self._collection).document(document_id(key))
        try:
            existing = self._claim(ref, key, message)
        except ClaimPendingError:
            raise
        except Exception as exc:  # noqa: BLE001 - any Firestore failure: post without the guard
            log.warning("De-duplication unavailable (%s); posting without it", describe(exc))
            receipt = deliver()
            if receipt is None:
                log.info("Skipped: nothing to send for this run")
                return Outcome.SKIPPED
            log.info(
                "Posted to %s %s (ts %s) without a claim", receipt.destination, receipt.where, receipt.ref
            )
            return Outcome.POSTED
        if existing is not None:
            log.info(
                "Duplicate delivery: already posted to %s (ts %s); acknowledged without posting",
                existing.get("channel", "?"),
                existing.get("ts", "?"),
            )
            return Outcome.DUPLICATE

        try:
            receipt = deliver()
        except Exception:
            # Free the key so the redelivery (transient) or a later replay (permanent,
            # e.g. after fixing the token) can claim it at once instead of waiting out the lease.
            self._release(ref)
            raise
        if receipt is None:
            # Nothing sent, nothing to guard: a redelivery decides the same way.
            self._release(ref)
            log.info("Skipped: nothing to send for this run")
            return Outcome.SKIPPED
        try:
            ref.update(
                {"status": SENT, "channel": receipt.where, "ts": receipt.ref, "sent_at": self._clock()},
                retry=self._retry(),
                timeout=FIRESTORE_TIMEOUT,
            )
        except Exception as exc:  # noqa: BLE001 - posted already; never redeliver for this
            log.warning("Posted, but could not mark the claim sent (%s)", describe(exc))
        log.info("Posted to %s %s (ts %s)", receipt.destination, receipt.where, receipt.ref)
        return Outcome.POSTED

    def _claim(self, ref: Any, key: str, message: PubSubMessage) -> dict[str, Any] | None:
        """Take the lease: None when this delivery may post, the sent claim when it must not."""
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition  # noqa: PLC0415

        now = self._clock()
        claim = {
            "status": PENDING,
            "key": key,
            "message_id": message.message_id,
            "claimed_at": now,
            "lease_until": now + self._lease,
            "expires_at": now + self._ttl,
        }
        try:
            ref.create(claim, retry=self._retry(), timeout=FIRESTORE_TIMEOUT)
            return None
        except AlreadyExists:
            pass
        snapshot = ref.get(retry=self._retry(), timeout=FIRESTORE_TIMEOUT)
        if not snapshot.exists:
            # Released between our create and get: one more create decides it.
            ref.create(claim, retry=self._retry(), timeout=FIRESTORE_TIMEOUT)
            return None
        existing = snapshot.to_dict() or {}
        if existing.get("status") == SENT:
            return existing
        lease_until = existing.get("lease_until")
        if isinstance(lease_until, datetime) and lease_until > now:
            raise ClaimPendingError(
                f"another delivery is posting this notification (lease until {lease_until:%H:%M:%S} UTC)"
            )
        try:
            # Compare-and-set: only one of several deliveries that saw the expired lease wins.
            option = self._client.write_option(last_update_time=snapshot.update_time)
            ref.update(
                {k: v for k, v in claim.items() if k != "key"},
                option=option,
                retry=self._retry(),
                timeout=FIRESTORE_TIMEOUT,
            )
        except FailedPrecondition:
            raise ClaimPendingError("another delivery took over the expired lease first") from None
        log.warning("Took over an expired claim (a previous delivery stopped between claim and post)")
        return None

    def _release(self, ref: Any) -> None:
        try:
            ref.delete(retry=self._retry(), timeout=FIRESTORE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - the lease expires on its own
            log.warning("Could not release the claim (%s); it expires with its lease", describe(exc))


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
