"""Streak state in Firestore: one document per pipeline and channel, decided in one transaction.

The decision itself is ``state.streak_rules`` (pure); here it is read, decided and written
in one transaction, so two deliveries at once cannot both open a streak. Documents carry
``expires_at`` for the collection's TTL policy, and at most ``MARKS_MAX`` run marks.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from notifier.errors import describe
from notifier.state.firestore import FIRESTORE_TIMEOUT, firestore_retry, transactional
from notifier.state.streak_rules import (
    MARKS_MAX,
    RUN_ID_MAX,
    Decision,
    Line,
    Mark,
    Policy,
    Post,
    Run,
    Streak,
    StreakKey,
    StreakPendingError,
    StreaksUnavailableError,
    decide,
)

log = logging.getLogger("notifier.streaks")

DOCUMENT_TTL = timedelta(days=30)  # a streak document untouched this long is deleted (TTL policy)
CONTENTION_TIMEOUT = 20.0  # retrying aborted transactions, then StreakPendingError
# Firestore caps a document at 1 MiB; the root's rendered message must leave room for the rest.
ROOT_BODY_MAX = 700_000


def to_document(
    key: StreakKey, streak: Streak, now: datetime, ttl: timedelta = DOCUMENT_TTL
) -> dict[str, Any]:
    """The Firestore document for ``streak`` (readable in the console: names, not hashes).

    ``expires_at`` is for the collection's TTL policy: a streak untouched for ``ttl`` is
    deleted by Firestore (its next failure starts a new streak).
    """
    return {
        "pipeline": key.pipeline,
        "channel": key.channel,
        "open": streak.open,
        "failures": streak.failures,
        "since": streak.since,
        "last_failure": streak.last_failure,
        "last_failure_time": streak.last_failure_time,
        "last_success_time": streak.last_success_time,
        "root_ref": streak.root_ref,
        "root_run": streak.root_run,
        "root_at": streak.root_at,
        "root_pending_until": streak.root_pending_until,
        "root_body": streak.root_body,
        "marks": [
            {"run": m.run, "state": m.state, "time": m.time, "post": m.post.value, "line": m.line.value}
            for m in streak.marks
        ],
        "updated_at": now,
        "expires_at": now + ttl,
    }


def _time(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def from_document(document: Mapping[str, Any]) -> Streak:
    """Read a stored streak; anything malformed reads as absent rather than failing."""
    marks = []
    for item in document.get("marks") or ():
        if not isinstance(item, Mapping):
            continue
        time = _time(item.get("time"))
        try:
            post, line = Post(item.get("post")), Line(item.get("line") or "")
        except ValueError:
            continue
        if time is not None and isinstance(item.get("run"), str) and len(item["run"]) <= RUN_ID_MAX:
            marks.append(Mark(item["run"], str(item.get("state", "")), time, post, line))
    failures = document.get("failures")
    return Streak(
        open=document.get("open") is True,
        failures=failures if isinstance(failures, int) and failures >= 0 else 0,
        since=_time(document.get("since")),
        last_failure=str(document.get("last_failure") or ""),
        last_failure_time=_time(document.get("last_failure_time")),
        last_success_time=_time(document.get("last_success_time")),
        root_ref=str(document.get("root_ref") or ""),
        root_run=str(document.get("root_run") or ""),
        root_at=_time(document.get("root_at")),
        root_pending_until=_time(document.get("root_pending_until")),
        root_body=str(document.get("root_body") or ""),
        marks=tuple(marks[-MARKS_MAX:]),
    )


class FirestoreStreaks:
    """Streak state in one Firestore collection, one document per pipeline and channel."""

    def __init__(
        self,
        client: Any,
        collection: str,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        contention_timeout: float = CONTENTION_TIMEOUT,
        ttl: timedelta = DOCUMENT_TTL,
    ) -> None:
        self._client = client
        self._collection = collection
        self._clock = clock
        self._contention_timeout = contention_timeout
        self._ttl = ttl

    def _ref(self, key: StreakKey) -> Any:
        return self._client.collection(self._collection).document(key.document_id)

    def _retry(self) -> Any:
        return firestore_retry()

    def _transact(
        self, key: StreakKey, step: Callable[[Streak | None, datetime], tuple[Any, Streak | None]]
    ) -> Any:
        """Run ``step(state, now) -> (result, new state or None)`` in one transaction."""
        ref = self._ref(key)
        try:
            # A bounded read first: the transaction's own calls retry for a minute when
            # Firestore is unreachable, far too long to hold a notification back.
            ref.get(retry=self._retry(), timeout=FIRESTORE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any failure: the caller posts without threads
            raise StreaksUnavailableError(describe(exc)) from None

        @transactional
        def run(transaction: Any) -> Any:
            snapshot = ref.get(transaction=transaction, retry=self._retry(), timeout=FIRESTORE_TIMEOUT)
            state = from_document(snapshot.to_dict() or {}) if snapshot.exists else None
            now = self._clock()
            result, new = step(state, now)
            if new is not None:
                transaction.set(ref, to_document(key, new, now, self._ttl))
            return result

        # Aborted transactions (another delivery wrote the document first) are retried
        # here, with jittered backoff: the client's own retries come back at once and
        # collide again when several deliveries of one pipeline arrive together.
        deadline = time.monotonic() + self._contention_timeout
        pause = 0.05
        while True:
            try:
                return run(self._client.transaction(max_attempts=1))
            except StreakPendingError:
                raise
            except ValueError as exc:
                if type(exc.__cause__).__name__ != "Aborted":
                    raise StreaksUnavailableError(describe(exc)) from None
                if time.monotonic() + pause > deadline:
                    # Contention, not an outage: posting without threads could open a second root.
                    raise StreakPendingError("too many deliveries for this streak at once") from None
            except Exception as exc:  # noqa: BLE001 - Firestore failed: the caller posts without threads
                raise StreaksUnavailableError(describe(exc)) from None
            time.sleep(random.uniform(pause / 2, pause))
            pause = min(pause * 2, 1.0)

    def decide(self, key: StreakKey, run: Run, policy: Policy, *, gone_root: str = "") -> Decision:
        """Decide for ``run`` and store the new state, atomically (see ``decide``)."""
        if len(run.id) > RUN_ID_MAX:
            raise StreaksUnavailableError(f"run id of {len(run.id)} characters (at most {RUN_ID_MAX})")

        def step(state: Streak | None, now: datetime) -> tuple[Decision, Streak | None]:
            decision = decide(state, run, policy, now, gone_root=gone_root)
            return decision, decision.streak if decision.changed else None

        return self._transact(key, step)

    def record_root(self, key: StreakKey, run: Run, ref: str, body: str) -> bool:
        """The root ``run`` claimed is posted as ``ref``: store it. False when another run took the claim over."""
        if len(body) > ROOT_BODY_MAX:
            log.warning(
                "The root message is too large to keep (%d characters); it will not be updated", len(body)
            )
            body = ""

        def step(state: Streak | None, now: datetime) -> tuple[bool, Streak | None]:
            if state is None or state.root_run != run.id or state.root_ref:
                return False, None
            return True, replace(state, root_ref=ref, root_body=body, root_pending_until=None)

        return self._transact(key, step)

    def load(self, key: StreakKey) -> Streak | None:
        """The stored streak (for tests and tools)."""
        snapshot = self._ref(key).get(retry=self._retry(), timeout=FIRESTORE_TIMEOUT)
        return from_document(snapshot.to_dict() or {}) if snapshot.exists else None
