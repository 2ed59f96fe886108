"""Run history's rules, pure: what is recorded of a run, a pipeline's usual time, slow and late.

No I/O and no clock: the store (``state.history``) reads and writes Firestore, the handler
and the sweep ask these functions, ``destinations.content`` says the result in one line.

- **Recorded**: every confirmed final run (``run_record``; untrusted text only as each failed
  task's name and the first line of its error, scrubbed and bounded), with its times checked: a time
  missing or beyond belief, an end before the start (clock skew between Vertex AI and the
  function, or a garbage time) leaves the run without a duration, and ``problems`` says
  why, for one clear log line. A duration of more than ``DURATION_MAX`` is not believed.
- **Baseline**: the durations of a pipeline's latest ``BASELINE_RUNS`` earlier runs that
  *count* (``RunRecord.counts``: SUCCEEDED, not fully cached, with a duration). Failed
  runs often stop early and cached runs do no work: either would drag the usual time down.
- **Slower than usual**: with at least ``BASELINE_MIN_RUNS`` such runs, a run that took
  more than ``limit(median)`` = max(factor * median, median + min_extra).
- **Later than usual**: a run still running after ``limit(p95)`` of the same runs; without
  a baseline the sweep's fixed thresholds apply (``SWEEP_AFTER_HOURS``, a rule's
  ``stuck_after_hours``).

A pipeline is its project (as Vertex AI names it: the number) and its name
(``model.pipeline_name``): a pipeline renamed starts a history of its own, and the runs
under its old name age out with their TTL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from notifier.config import HistorySettings
from notifier.model import SUCCEEDED, Comparison, FinalStatus, JobDetails, pipeline_name
from notifier.names import NameRejectedError, parse_job_name
from notifier.rules import RouteRule
from notifier.scrub import scrub_prefix

# A run longer than this is a garbage time, not a run.
DURATION_MAX = timedelta(days=366)
# Times before this (or unset protobuf times, 1970) are not believed.
EARLIEST = datetime(2015, 1, 1, tzinfo=timezone.utc)
FAILED_TASKS_KEEP = 50
ERROR_KEEP = 200  # of a failed task's error: its first line, scrubbed (the digest's flaky tasks)
NAME_KEEP = 256
LABEL_KEEP = 63  # GCP labels: keys and values are at most 63 characters
LABELS_KEEP = 64


@dataclass(frozen=True)
class Policy:
    """The rules' settings (``config.history``)."""

    min_runs: int = 5
    factor: float = 2.0
    min_extra: timedelta = timedelta(minutes=15)
    baseline_runs: int = 20

    @classmethod
    def of(cls, settings: HistorySettings) -> Policy:
        """From ``config.history``."""
        return cls(
            min_runs=settings.min_runs,
            factor=settings.factor,
            min_extra=timedelta(minutes=settings.min_extra_minutes),
            baseline_runs=settings.baseline_runs,
        )


def median(values: Sequence[float]) -> float:
    """The median (the mean of the two middle values for an even count); ValueError when empty."""
    return percentile(values, 0.5)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile, linearly interpolated between the closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Baseline:
    """A pipeline's usual time: the durations (seconds) of its latest earlier runs that count."""

    durations: tuple[float, ...]

    @property
    def runs(self) -> int:
        """How many runs the baseline is taken over."""
        return len(self.durations)

    @property
    def median(self) -> timedelta:
        """The median duration."""
        return timedelta(seconds=median(self.durations))

    @property
    def p95(self) -> timedelta:
        """The 95th percentile duration."""
        return timedelta(seconds=percentile(self.durations, 0.95))


def limit(usual: timedelta, policy: Policy) -> timedelta:
    """How long is too long beside ``usual``: max(factor * usual, usual + min_extra)."""
    return max(usual * policy.factor, usual + policy.min_extra)


def baseline_of(durations: Iterable[float], policy: Policy) -> Baseline | None:
    """A baseline from the latest durations (newest first), or None below ``min_runs``."""
    kept = tuple(d for d in durations if 0 <= d <= DURATION_MAX.total_seconds())[: policy.baseline_runs]
    return Baseline(kept) if len(kept) >= policy.min_runs else None


def slower_than_usual(took: timedelta | None, baseline: Baseline | None, policy: Policy) -> Comparison | None:
    """The comparison when a run that took ``took`` is slower than usual, else None."""
    if took is None or baseline is None or baseline.runs < policy.min_runs:
        return None
    usual = baseline.median
    if took <= limit(usual, policy):
        return None
    return Comparison(took, usual, baseline.runs)


def late_after(baseline: Baseline | None, policy: Policy) -> timedelta | None:
    """How long a run of this pipeline may run before it is late; None: no baseline (fixed thresholds)."""
    if baseline is None or baseline.runs < policy.min_runs:
        return None
    return limit(baseline.p95, policy)


def later_than_usual(elapsed: timedelta, baseline: Baseline | None, policy: Policy) -> Comparison | None:
    """The comparison when a run still running after ``elapsed`` is late, else None."""
    threshold = late_after(baseline, policy)
    if threshold is None or baseline is None or elapsed <= threshold:
        return None
    return Comparison(elapsed, baseline.p95, baseline.runs, running=True)


# --- what is recorded ----------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One run as run history keeps it (``state.history`` writes it as a document).

    ``name`` is the job's resource name as Vertex AI returns it (the project number), the
    document's identity. ``targets`` are where its notice was routed, as
    ``destination:address`` (phone numbers masked), ``labels`` the run's labels that
    routing rules read. ``end_estimated``: Vertex AI had not recorded the end yet (the
    exit handler reports before the job ends), so the notice's time stands in for it.
    """

    name: str
    project: str
    region: str
    job_id: str
    pipeline: str
    display_name: str
    state: str
    create_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    duration: timedelta | None
    fully_cached: bool = False
    end_estimated: bool = False
    failed_tasks: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()  # each failed task's error, first line, scrubbed; as failed_tasks
    targets: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    source: str = ""

    @property
    def pipeline_key(self) -> str:
        """The pipeline the statistics are per: project and name."""
        return pipeline_key(self.project, self.pipeline)

    @property
    def counts(self) -> bool:
        """It counts towards its pipeline's usual time: SUCCEEDED, not fully cached, with a duration."""
        return self.state == SUCCEEDED and not self.fully_cached and self.duration is not None


def pipeline_key(project: str, pipeline: str) -> str:
    """``<project>/<pipeline name>``: the key statistics are kept and asked by."""
    return f"{project}/{pipeline[:NAME_KEEP]}"


def believable(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC when it could be a run's time (after ``EARLIEST``, before 2100), else None."""
    if not isinstance(moment, datetime):
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if not EARLIEST <= moment < datetime(2100, 1, 1, tzinfo=timezone.utc):
        return None
    return moment.astimezone(timezone.utc)


def run_duration(start: datetime | None, end: datetime | None) -> tuple[timedelta | None, str]:
    """``end`` - ``start`` when both are believable and the result is; else None and why not."""
    if start is None or end is None:
        return None, f"no {'start' if start is None else 'end'} time"
    took = end - start
    if took < timedelta(0):
        return None, "it ends before it starts (clock skew or a garbage time)"
    if took > DURATION_MAX:
        return None, "a duration of more than a year is not believed"
    return took, ""


def mask_address(target: str) -> str:
    """``sms:+15551230001`` → ``sms:+1555•••0001``: a phone number is never stored whole."""
    kind, _, address = target.partition(":")
    if kind == "sms" and len(address) > 8:
        return f"{kind}:{address[:5]}•••{address[-4:]}"
    return target


def run_record(
    status: FinalStatus,
    details: JobDetails,
    *,
    reference_time: datetime,
    targets: Iterable[str] = (),
    label_keys: Iterable[str] = (),
) -> tuple[RunRecord | None, tuple[str, ...]]:
    """The record of a confirmed final run, and what was wrong with its data (for the log: a few
    fixed phrases, so that many runs' problems can be counted by phrase).

    None when the run cannot be recorded at all (no checked resource name). ``reference_time``
    (the notice's time) stands in for the end while Vertex AI has none.
    """
    problems: list[str] = []
    try:
        name = parse_job_name(details.name or status.pipeline_job_resource_name, "run's name")
    except NameRejectedError as exc:
        return None, (f"not recorded: {exc}",)
    created = believable(details.create_time)
    started = believable(details.start_time)
    ended = believable(details.end_time)
    for label, raw, kept in (
        ("create", details.create_time, created),
        ("start", details.start_time, started),
        ("end", details.end_time, ended),
    ):
        if raw is not None and kept is None:
            problems.append(f"its {label} time is not believed")
    estimated = ended is None
    if estimated:
        ended = believable(reference_time)
    took, why = run_duration(started or created, ended)
    if why:
        problems.append(f"no duration: {why}")
    wanted = set(label_keys)
    labels = tuple((key[:LABEL_KEEP], value[:LABEL_KEEP]) for key, value in details.labels if key in wanted)[
        :LABELS_KEEP
    ]
    failed = tuple(t.name[:NAME_KEEP] for t in details.failed_tasks) or tuple(
        n[:NAME_KEEP] for n in status.failed_task_names
    )
    errors = tuple(first_line(t.message) for t in details.failed_tasks[:FAILED_TASKS_KEEP])
    record = RunRecord(
        name=name.resource,
        project=name.project,
        region=str(name.region),
        job_id=name.job,
        pipeline=pipeline_name(status, details)[:NAME_KEEP],
        display_name=details.display_name[:NAME_KEEP],
        state=status.state,
        create_time=created,
        start_time=started,
        end_time=ended,
        duration=took,
        fully_cached=details.fully_cached,
        end_estimated=estimated and ended is not None,
        failed_tasks=failed[:FAILED_TASKS_KEEP],
        errors=errors,
        targets=tuple(dict.fromkeys(mask_address(t) for t in targets)),
        labels=labels,
        source=status.source,
    )
    return record, tuple(problems)


def first_line(error: str) -> str:
    """An error's first non-empty line, scrubbed of secrets (``notifier.scrub``) and cut to ``ERROR_KEEP``."""
    head = error[: ERROR_KEEP * 20].strip().split("\n", 1)[0].strip()
    kept, cut = scrub_prefix(head, ERROR_KEEP)
    return kept + "…" if cut else kept


def routing_label_keys(rules: Iterable[RouteRule]) -> frozenset[str]:
    """The label keys the routing rules read."""
    return frozenset(key for rule in rules for key, _ in rule.labels)


def late_floor(policy: Policy, fixed_hours: Iterable[float], history: bool) -> timedelta:
    """The youngest a run can be and be late: the floor of any history threshold (``min_extra``,
    or a minute), else the smallest fixed threshold."""
    fixed = min((timedelta(hours=h) for h in fixed_hours), default=timedelta(hours=12))
    if not history:
        return fixed
    return min(fixed, max(policy.min_extra, timedelta(minutes=1)))
