"""Run history in Firestore: one document per run, written once, read by pipeline and by channel.

The rules (what is recorded, the usual time, slow and late) are ``history_rules``, pure;
here they are written and read. Nothing here may hold a notification back: a failure to
write or read is a WARNING, and the message goes out without the history's help.

The collection (``RUNS_COLLECTION``) holds one document per run, its id the SHA-256 of
the job's resource name as Vertex AI returns it, so a run recorded twice (a redelivery,
the exit handler and the job event, a backfill over recorded days) is written once:
``create`` fails on the second and nothing changes. Fields (``to_document``):

    name, project, region, job_id, pipeline, display_name, state, source
    pipeline_key      "<project>/<pipeline>": what statistics are per
    create_time, start_time, end_time (timestamps), end_estimated (bool)
    duration_s        seconds, or null when the times do not allow one
    fully_cached      bool; counts: SUCCEEDED, not fully cached, with a duration
    failed_tasks      [task names]; errors: [each one's first error line, scrubbed]
    labels            {key: value} the routing rules read
    targets           ["slack:C0123ABCD", "google_chat:ml-alerts", "sms:+1555•••0001"]
    recorded_at, expires_at (end + RUN_HISTORY_DAYS, for the TTL policy)

Queries and the indexes they need (the composite one in ``terraform/history.tf``):

- the baseline: ``pipeline_key ==``, ``counts == true``, ``end_time <`` the run's end,
  newest first, ``BASELINE_RUNS`` documents, ``duration_s`` only →
  (pipeline_key ASC, counts ASC, end_time DESC);
- every run in a period (the weekly digest, one pass for all its targets): ``end_time`` in
  [start, end) → the automatic single-field index, no composite one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from notifier.errors import TransientError, describe
from notifier.history_rules import Baseline, Policy, RunRecord, baseline_of
from notifier.state.firestore import FIRESTORE_TIMEOUT, document_id, firestore_retry

log = logging.getLogger("notifier.history")

DEFAULT_DAYS = 90.0
PAGE_SIZE = 500  # documents per page when a period is streamed


class HistoryWriteError(TransientError):
    """Some runs could not be written (the backfill stops; its next run writes them)."""


def to_document(record: RunRecord, now: datetime, keep: timedelta) -> dict[str, Any]:
    """The Firestore document for ``record``; it expires ``keep`` after the run ended (or ``now``)."""
    return {
        "name": record.name,
        "project": record.project,
        "region": record.region,
        "job_id": record.job_id,
        "pipeline": record.pipeline,
        "pipeline_key": record.pipeline_key,
        "display_name": record.display_name,
        "state": record.state,
        "source": record.source,
        "create_time": record.create_time,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "end_estimated": record.end_estimated,
        "duration_s": record.duration.total_seconds() if record.duration is not None else None,
        "fully_cached": record.fully_cached,
        "counts": record.counts,
        "failed_tasks": list(record.failed_tasks),
        "errors": list(record.errors),
        "targets": list(record.targets),
        "labels": dict(record.labels),
        "recorded_at": now,
        "expires_at": (record.end_time or now) + keep,
    }


def _time(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def from_document(document: Mapping[str, Any]) -> RunRecord | None:
    """A stored run; None when it is not one (a malformed document is skipped, never fatal)."""
    name, state = document.get("name"), document.get("state")
    if not isinstance(name, str) or not isinstance(state, str):
        return None
    duration = document.get("duration_s")
    labels = document.get("labels")

    def text(key: str) -> str:
        value = document.get(key)
        return value if isinstance(value, str) else ""

    return RunRecord(
        name=name,
        project=text("project"),
        region=text("region"),
        job_id=text("job_id"),
        pipeline=text("pipeline"),
        display_name=text("display_name"),
        state=state,
        create_time=_time(document.get("create_time")),
        start_time=_time(document.get("start_time")),
        end_time=_time(document.get("end_time")),
        duration=timedelta(seconds=duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0
        else None,
        fully_cached=document.get("fully_cached") is True,
        end_estimated=document.get("end_estimated") is True,
        failed_tasks=_texts(document.get("failed_tasks")),
        errors=_texts(document.get("errors")),
        targets=_texts(document.get("targets")),
        labels=tuple(sorted((k, v) for k, v in labels.items() if isinstance(v, str)))
        if isinstance(labels, Mapping)
        else (),
        source=text("source"),
    )


class FirestoreHistory:
    """Run history in one Firestore collection."""

    def __init__(
        self,
        client: Any,
        collection: str,
        *,
        days: float = DEFAULT_DAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._client = client
        self._collection = collection
        self._keep = timedelta(days=days)
        self._clock = clock

    @property
    def client(self) -> Any:
        """The Firestore client (the digest reads the schedule warnings' claims with it)."""
        return self._client

    @property
    def collection(self) -> Any:
        """The Firestore collection (for tools and tests)."""
        return self._client.collection(self._collection)

    def _ref(self, name: str) -> Any:
        return self.collection.document(document_id(name))

    def record(self, record: RunRecord) -> bool:
        """Write ``record`` unless its run is there already; True when written. Never raises."""
        from google.api_core.exceptions import AlreadyExists  # noqa: PLC0415 - Firestore only when on

        try:
            self._ref(record.name).create(
                to_document(record, self._clock(), self._keep),
                retry=firestore_retry(),
                timeout=FIRESTORE_TIMEOUT,
            )
        except AlreadyExists:
            log.info("Run %s is in the history already; nothing changed", record.job_id)
            return False
        except Exception as exc:  # noqa: BLE001 - history must never hold a notification back
            log.warning("Run history unavailable (%s); %s not recorded", describe(exc), record.job_id)
            return False
        return True

    def record_many(self, records: Iterable[RunRecord]) -> tuple[int, int]:
        """Write many runs at once (the backfill), each unless it is there already; returns how
        many were written and how many were there. Raises when Firestore fails."""
        from google.rpc import code_pb2  # noqa: PLC0415 - Firestore only when on

        counts = {"written": 0, "there": 0}
        failures: list[str] = []

        def on_error(failure: Any, _writer: Any) -> bool:
            if failure.code == code_pb2.ALREADY_EXISTS:
                counts["there"] += 1
            else:
                failures.append(str(failure.message)[:200])
            return False  # never retried here: the next backfill run writes what is missing

        writer = self._client.bulk_writer()
        writer.on_write_error(on_error)
        writer.on_write_result(lambda *_: counts.__setitem__("written", counts["written"] + 1))
        now = self._clock()
        for record in records:
            writer.create(self._ref(record.name), to_document(record, now, self._keep))
        writer.close()
        if failures:
            raise HistoryWriteError(f"{len(failures)} run(s) not written: {failures[0]}")
        return counts["written"], counts["there"]

    def baseline(self, key: str, before: datetime, policy: Policy) -> Baseline | None:
        """The usual time of the pipeline ``key`` (``pipeline_key``) from the runs that counted
        and ended before ``before``; None below ``min_runs`` or when Firestore fails (WARNING)."""
        from google.cloud.firestore_v1 import Query  # noqa: PLC0415
        from google.cloud.firestore_v1.base_query import FieldFilter  # noqa: PLC0415

        query = (
            self.collection.where(filter=FieldFilter("pipeline_key", "==", key))
            .where(filter=FieldFilter("counts", "==", True))
            .where(filter=FieldFilter("end_time", "<", before))
            .order_by("end_time", direction=Query.DESCENDING)
            .limit(policy.baseline_runs)
            .select(["duration_s"])
        )
        try:
            snapshots = list(query.stream(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT))
        except Exception as exc:  # noqa: BLE001 - without history the message still goes out
            log.warning("Run history unavailable (%s); no usual time for %s", describe(exc), key)
            return None
        durations = [(s.to_dict() or {}).get("duration_s") for s in snapshots]
        return baseline_of((d for d in durations if isinstance(d, (int, float))), policy)

    def load(self, name: str) -> RunRecord | None:
        """The recorded run ``name`` (a resource name), or None."""
        snapshot = self._ref(name).get(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT)
        return from_document(snapshot.to_dict() or {}) if snapshot.exists else None

    def runs_between(self, start: datetime, end: datetime) -> Iterator[RunRecord]:
        """Every run that ended in [start, end), oldest first, page by page: the weekly digest reads
        the period once for all its targets (Firestore's automatic single-field index on end_time)."""
        return self._period(self.collection, start, end)

    def _period(self, query: Any, start: datetime, end: datetime) -> Iterator[RunRecord]:
        from google.cloud.firestore_v1.base_query import FieldFilter  # noqa: PLC0415

        query = (
            query.where(filter=FieldFilter("end_time", ">=", start))
            .where(filter=FieldFilter("end_time", "<", end))
            .order_by("end_time")
            .limit(PAGE_SIZE)
        )
        last = None
        while True:
            page = query.start_after(last) if last is not None else query
            snapshots = list(page.stream(retry=firestore_retry(), timeout=FIRESTORE_TIMEOUT))
            for snapshot in snapshots:
                record = from_document(snapshot.to_dict() or {})
                if record is None:
                    log.warning("Skipped a malformed run document %s", snapshot.id)
                    continue
                yield record
            if len(snapshots) < PAGE_SIZE:
                return
            last = snapshots[-1]
