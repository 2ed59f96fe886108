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

A schedule warning's claim is also its record: it carries what the warning was about
(``schedule``, ``schedule_kind``, ``slot``, ``pipeline``, ``target``) and is kept at least
``SCHEDULE_CLAIM_DAYS``, so each slot is warned about once and the weekly digest can
count them (``state.schedule_warnings``). A weekly digest claims ``digest_key`` (its target
and period) the same way: re-delivered, it posts nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from notifier.errors import TransientError, describe
from notifier.model import AFTER_WARNING, SWEEP, FinalStatus, Outcome, Receipt, ScheduleEvent
from notifier.sources.pubsub import PubSubMessage
from notifier.state.firestore import FIRESTORE_TIMEOUT, document_id, firestore_retry

# Enriches, renders and delivers the message; returns where it went (None: nothing was sent).
Deliver = Callable[[], Receipt | None]

log = logging.getLogger("notifier.dedup")

PENDING = "pending"
SENT = "sent"
# idempotency_key reads no message for a notice that names its run.
_NO_MESSAGE = PubSubMessage("", b"")


# How long a schedule warning's claim is kept at least (DEDUP_TTL_DAYS when longer): beyond
# the rules' RECENT (one warning per failed creation or end), and two weekly digests' periods.
SCHEDULE_CLAIM_DAYS = 35
SCHEDULE_KEY_PREFIX = "schedule:"
DIGEST_KEY_PREFIX = "digest#"
_PIPELINE_KEEP = 256


class ClaimPendingError(TransientError):
    """Another delivery of the same notification holds a live lease: try again later."""


# A sweep's warning is one per run whatever state it is in; so is the reply when that run ends.
_KEY_STATE = {SWEEP: "STUCK", AFTER_WARNING: "ENDED"}


def warning_key(run: str, target: str) -> str:
    """The key of the sweep's "still running" warning about the run ``run`` (its resource name) to ``target``."""
    return idempotency_key(FinalStatus("RUNNING", run, source=SWEEP), _NO_MESSAGE, target)


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
    never take the one the confirmed notice of the same run needs. A schedule warning keys
    on the schedule, the kind and the slot (``schedule_key``). The reply in a warning's
    thread when its run ends (``AFTER_WARNING``) has one of its own too.
    """
    if status.schedule is not None:
        key = schedule_key(status.state, status.schedule)
    elif status.pipeline_job_resource_name:
        state = _KEY_STATE.get(status.source, status.state)
        key = f"{status.pipeline_job_resource_name}#{state}"
    else:
        key = f"message:{message.message_id}"
    if unverified:
        key += "#UNVERIFIED"
    return f"{key}#{target}" if target else key


def schedule_key(kind: str, event: ScheduleEvent) -> str:
    """``schedule:<schedule>#<kind>#<slot>``: one warning per schedule, kind and slot (an end has none).

    ``schedule:projects/271009669852/locations/us-central1/schedules/6123470581093384192#MISSED#2026-11-27T10:00:00Z``
    """
    key = f"{SCHEDULE_KEY_PREFIX}{event.name.resource}#{kind}"
    if event.slot is not None:
        key += "#" + event.slot.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return key


def digest_key(target: str, start: datetime, end: datetime) -> str:
    """``digest#<target>#<start>#<end>``: one weekly digest per destination address and period.

    ``digest#slack:C0123ABCD#2026-11-23T09:00:00Z#2026-11-30T09:00:00Z``
    """
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return (
        f"{DIGEST_KEY_PREFIX}{target}#{start.astimezone(timezone.utc).strftime(stamp)}"
        f"#{end.astimezone(timezone.utc).strftime(stamp)}"
    )


def schedule_fields(status: FinalStatus, target: str) -> dict[str, Any]:
    """What a schedule warning's claim records of it, for the weekly digest; {} for any other notice."""
    event = status.schedule
    if event is None:
        return {}
    return {
        "schedule": event.name.resource,
        "schedule_kind": status.state,
        "slot": event.slot,
        "pipeline": event.pipeline[:_PIPELINE_KEEP],
        "target": target,
    }


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
        record = schedule_fields(status, target)
        ttl = max(self._ttl, timedelta(days=SCHEDULE_CLAIM_DAYS)) if record else self._ttl
        return self._post_key(key, message, deliver, record, ttl)

    def post_digest_once(self, key: str, message: PubSubMessage, deliver: Deliver) -> Outcome:
        """Run ``deliver`` (the digest of one target and period) unless it went out already: the
        claim ``key`` (``digest_key``) is taken as a run's is, and kept ``DEDUP_TTL_DAYS``."""
        return self._post_key(key, message, deliver, {"digest": True}, self._ttl)

    def _post_key(
        self, key: str, message: PubSubMessage, deliver: Deliver, record: dict[str, Any], ttl: timedelta
    ) -> Outcome:
        ref = self._client.collection(self._collection).document(document_id(key))
        try:
            existing = self._claim(ref, key, message, record, ttl)
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

    def warnings(self, run: str, targets: Sequence[str]) -> dict[str, Receipt]:
        """The sweep's warnings sent about the run ``run`` (its resource name), by target, in one
        batch read: where each went and its ref there (the Slack ts a reply threads under).
        Empty when Firestore cannot be asked (a WARNING: the reply is lost, never the notice)."""
        refs = {
            self._client.collection(self._collection).document(document_id(warning_key(run, t))): t
            for t in targets
        }
        try:
            snapshots = list(self._client.get_all(list(refs), retry=self._retry(), timeout=FIRESTORE_TIMEOUT))
        except Exception as exc:  # noqa: BLE001 - the notice itself must go out
            log.warning("Could not read the sweep's warnings (%s); no reply in their threads", describe(exc))
            return {}
        found: dict[str, Receipt] = {}
        by_path = {ref.path: target for ref, target in refs.items()}
        for snapshot in snapshots:
            claim = snapshot.to_dict() or {} if snapshot.exists else {}
            target = by_path.get(snapshot.reference.path, "")
            if target and claim.get("status") == SENT and isinstance(claim.get("ts"), str):
                found[target] = Receipt(target.partition(":")[0], str(claim.get("channel", "")), claim["ts"])
        return found

    def _claim(
        self, ref: Any, key: str, message: PubSubMessage, record: dict[str, Any], ttl: timedelta
    ) -> dict[str, Any] | None:
        """Take the lease: None when this delivery may post, the sent claim when it must not."""
        from google.api_core.exceptions import AlreadyExists, FailedPrecondition  # noqa: PLC0415

        now = self._clock()
        claim = {
            "status": PENDING,
            "key": key,
            "message_id": message.message_id,
            "claimed_at": now,
            "lease_until": now + self._lease,
            "expires_at": now + ttl,
            **record,
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
