"""The weekly digest's rules, pure: from run records to what one channel is told about a period.

No I/O and no clock: ``digest`` (the delivery, ``notifier.digest``) reads the period's runs
and the schedule warnings that went out, these functions decide the figures, and the
renderers (``destinations.slack.digest_render``, ``destinations.google_chat.digest_render``)
say them. A *target* is a destination and address as run records keep them
(``slack:C0123ABCD``, ``google_chat:ml-alerts``).

For one target, over its period [start, end) and the previous one of the same length:

- **per pipeline**: runs, the success rate (succeeded of the runs that succeeded or
  failed: a cancelled run is nobody's failure) and its change from the previous period,
  p50 and p95 of the durations of the runs that *count* (``RunRecord.counts``: succeeded,
  not fully cached, with a duration) and the p50's trend against the previous period's;
- **flakiest tasks**: the tasks that failed, by fail rate (failed runs of the task over
  runs of its pipeline), with the most recent error's first line (scrubbed when recorded);
- **open failing streaks**: a pipeline whose latest runs (cancelled ones are neutral, as
  for threads) failed, with how many and since when; ``since_before`` when the streak
  began before the previous period (so its age is at least what is shown);
- **stopped**: pipelines that ran in the previous period, and not in this one;
- **schedules**: the missed slots, failed creations and ends warned about in the period.

A run is in a period by its end time. A run met twice (the same resource name) counts
once. A target with nothing to say (no runs, nothing stopped, no schedule warning) gets
no digest (``digest`` returns None).

``DigestBuilder`` takes the runs one at a time, for one pass over many targets' runs in
any order, holding a few numbers per run: 430,000 runs cost seconds, not gigabytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from notifier.history_rules import RunRecord, percentile
from notifier.model import CANCELLED, FAILED, SUCCEEDED, Period

PIPELINES_MAX = 50  # pipelines a digest lists at most (DIGEST_MAX_PIPELINES), the rest counted
FLAKY_MAX = 5
STREAKS_MAX = 10
STOPPED_MAX = 10
SCHEDULES_MAX = 10
TASK_KEEP = 256
ERROR_KEEP = 200


@dataclass(frozen=True)
class Limits:
    """How much a digest lists (``DIGEST_MAX_PIPELINES`` and fixed caps)."""

    pipelines: int = PIPELINES_MAX
    flaky: int = FLAKY_MAX
    streaks: int = STREAKS_MAX
    stopped: int = STOPPED_MAX
    schedules: int = SCHEDULES_MAX


@dataclass(frozen=True)
class PipelineFigures:
    """One pipeline's period, beside its previous one."""

    pipeline: str
    project: str
    runs: int
    succeeded: int
    failed: int
    cancelled: int
    cached: int  # fully cached runs: not in the durations
    success_rate: float | None  # succeeded / (succeeded + failed); None without either
    previous_runs: int
    previous_success_rate: float | None
    p50: timedelta | None
    p95: timedelta | None
    previous_p50: timedelta | None
    latest_run: str  # the resource name of its latest run in the period (for a link)

    @property
    def rate_change(self) -> float | None:
        """The success rate's change from the previous period, in percentage points."""
        if self.success_rate is None or self.previous_success_rate is None:
            return None
        return 100.0 * (self.success_rate - self.previous_success_rate)

    @property
    def trend(self) -> float | None:
        """The p50 as a multiple of the previous period's (1.25: 25% slower); None without both."""
        if self.p50 is None or not self.previous_p50:
            return None
        return self.p50 / self.previous_p50


@dataclass(frozen=True)
class FlakyTask:
    """A task that failed in the period: in how many of its pipeline's runs, and its latest error."""

    pipeline: str
    task: str
    failures: int
    runs: int
    last_error: str
    last_failed: datetime

    @property
    def fail_rate(self) -> float:
        """Failed runs of the task over runs of its pipeline."""
        return self.failures / self.runs if self.runs else 0.0


@dataclass(frozen=True)
class OpenStreak:
    """A pipeline whose latest runs failed."""

    pipeline: str
    failures: int
    since: datetime  # the end of its first failed run seen
    age: timedelta  # from ``since`` to the period's end
    since_before: bool  # it began before the previous period: at least this old
    latest_run: str


@dataclass(frozen=True)
class StoppedPipeline:
    """A pipeline that ran in the previous period and not in this one."""

    pipeline: str
    previous_runs: int
    last_run: datetime


@dataclass(frozen=True)
class ScheduleTrouble:
    """The schedule warnings of one pipeline and kind in the period."""

    pipeline: str
    kind: str  # MISSED, SCHEDULE_FAILED, SCHEDULE_ENDED
    count: int
    last: datetime


class ScheduleWarning(Protocol):
    """A schedule warning that went out, as the rules need it (``state.schedule_warnings.SentWarning``)."""

    @property
    def pipeline(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def sent_at(self) -> datetime: ...


@dataclass(frozen=True)
class Digest:
    """What one target is told about one period."""

    target: str
    period: Period
    runs: int
    succeeded: int
    failed: int
    previous_runs: int
    pipelines: tuple[PipelineFigures, ...] = ()
    more_pipelines: int = 0  # pipelines beyond ``Limits.pipelines``, not listed
    flaky: tuple[FlakyTask, ...] = ()
    streaks: tuple[OpenStreak, ...] = ()
    stopped: tuple[StoppedPipeline, ...] = ()
    schedules: tuple[ScheduleTrouble, ...] = ()

    @property
    def success_rate(self) -> float | None:
        """Succeeded of the runs that succeeded or failed, over every pipeline."""
        decided = self.succeeded + self.failed
        return self.succeeded / decided if decided else None


# --- the builder: one pass, any order -------------------------------------------------


@dataclass
class _Run:
    """What the rules keep of one run (a few numbers, not the record)."""

    end: datetime
    state: str
    duration: float | None  # seconds, when it counts
    cached: bool
    name: str
    failed: tuple[tuple[str, str], ...]  # (task, first error line)


@dataclass
class _Pipeline:
    pipeline: str
    project: str
    current: list[_Run] = field(default_factory=list)
    previous: list[_Run] = field(default_factory=list)


class DigestBuilder:
    """The runs of one target, given one at a time (in any order), into its ``Digest``."""

    def __init__(self, target: str, period: Period, limits: Limits = Limits()) -> None:
        self.target = target
        self.period = period
        self.limits = limits
        self._pipelines: dict[str, _Pipeline] = {}
        self._seen: set[str] = set()
        self._warnings: list[ScheduleWarning] = []

    def add(self, record: RunRecord) -> bool:
        """Take one run; False when it is outside both periods or met already."""
        end = record.end_time
        if end is None or record.name in self._seen:
            return False
        if end in self.period:
            into = "current"
        elif end in self.period.previous:
            into = "previous"
        else:
            return False
        self._seen.add(record.name)
        group = self._pipelines.get(record.pipeline_key)
        if group is None:
            group = self._pipelines[record.pipeline_key] = _Pipeline(record.pipeline, record.project)
        failed = tuple(
            (task[:TASK_KEEP], (record.errors[i] if i < len(record.errors) else "")[:ERROR_KEEP])
            for i, task in enumerate(record.failed_tasks)
        )
        run = _Run(
            end=end,
            state=record.state,
            duration=record.duration.total_seconds() if record.counts and record.duration else None,
            cached=record.fully_cached,
            name=record.name,
            failed=failed if into == "current" else (),
        )
        getattr(group, into).append(run)
        return True

    def add_warning(self, warning: ScheduleWarning) -> bool:
        """Take one schedule warning sent to this target; False when it is not in the period."""
        if warning.sent_at not in self.period or warning.target != self.target:
            return False
        self._warnings.append(warning)
        return True

    def build(self) -> Digest | None:
        """The digest, or None when there is nothing to say."""
        return _digest(self.target, self.period, self._pipelines.values(), self._warnings, self.limits)


def digest(
    target: str,
    period: Period,
    runs: Iterable[RunRecord],
    warnings: Iterable[ScheduleWarning] = (),
    limits: Limits = Limits(),
) -> Digest | None:
    """The digest of ``target`` for ``period`` from its runs of this period and the previous one
    (others are ignored) and the schedule warnings sent to it; None when there is nothing to say."""
    builder = DigestBuilder(target, period, limits)
    for record in runs:
        builder.add(record)
    for warning in warnings:
        builder.add_warning(warning)
    return builder.build()


def _rate(runs: list[_Run]) -> float | None:
    succeeded = sum(r.state == SUCCEEDED for r in runs)
    decided = succeeded + sum(r.state == FAILED for r in runs)
    return succeeded / decided if decided else None


def _p(durations: list[float], q: float) -> timedelta | None:
    return timedelta(seconds=percentile(durations, q)) if durations else None


def _figures(group: _Pipeline) -> PipelineFigures:
    current = group.current
    durations = [r.duration for r in current if r.duration is not None]
    previous = [r.duration for r in group.previous if r.duration is not None]
    latest = max(current, key=lambda r: (r.end, r.name))
    return PipelineFigures(
        pipeline=group.pipeline,
        project=group.project,
        runs=len(current),
        succeeded=sum(r.state == SUCCEEDED for r in current),
        failed=sum(r.state == FAILED for r in current),
        cancelled=sum(r.state == CANCELLED for r in current),
        cached=sum(r.cached for r in current),
        success_rate=_rate(current),
        previous_runs=len(group.previous),
        previous_success_rate=_rate(group.previous),
        p50=_p(durations, 0.5),
        p95=_p(durations, 0.95),
        previous_p50=_p(previous, 0.5),
        latest_run=latest.name,
    )


def _flaky(group: _Pipeline) -> list[FlakyTask]:
    by_task: dict[str, tuple[int, str, datetime]] = {}
    for run in sorted(group.current, key=lambda r: (r.end, r.name)):
        for task, error in run.failed:
            failures = by_task.get(task, (0, "", run.end))[0]
            by_task[task] = (failures + 1, error, run.end)
    runs = len(group.current)
    return [
        FlakyTask(group.pipeline, task, failures, runs, error, last)
        for task, (failures, error, last) in by_task.items()
    ]


def _streak(group: _Pipeline, period: Period) -> OpenStreak | None:
    runs = sorted(group.previous + group.current, key=lambda r: (r.end, r.name))
    failures = 0
    since: _Run | None = None
    latest: _Run | None = None
    for run in reversed(runs):
        if run.state == CANCELLED:
            continue  # neutral, as for threads
        if run.state != FAILED:
            break
        failures += 1
        since = run
        latest = latest or run
    if since is None or latest is None:
        return None
    first_known = runs[0]
    return OpenStreak(
        pipeline=group.pipeline,
        failures=failures,
        since=since.end,
        age=period.end - since.end,
        since_before=since is first_known and first_known.end in period.previous,
        latest_run=latest.name,
    )


def _digest(
    target: str,
    period: Period,
    groups: Iterable[_Pipeline],
    warnings: list[ScheduleWarning],
    limits: Limits,
) -> Digest | None:
    active = [g for g in groups if g.current]
    stopped_groups = [g for g in groups if g.previous and not g.current]
    figures = sorted(
        (_figures(g) for g in active),
        # The ones with failures first, then the busiest; the name breaks ties.
        key=lambda f: (-f.failed, -f.runs, f.pipeline, f.project),
    )
    flaky = sorted(
        (task for g in active for task in _flaky(g)),
        key=lambda t: (-t.fail_rate, -t.failures, -t.last_failed.timestamp(), t.pipeline, t.task),
    )
    streaks = sorted(
        (s for g in groups if (s := _streak(g, period)) is not None),
        key=lambda s: (s.since, s.pipeline),
    )
    stopped = sorted(
        (
            StoppedPipeline(g.pipeline, len(g.previous), max(r.end for r in g.previous))
            for g in stopped_groups
        ),
        key=lambda s: (-s.previous_runs, s.pipeline),
    )
    troubles: dict[tuple[str, str], tuple[int, datetime]] = {}
    for warning in warnings:
        count, last = troubles.get((warning.pipeline, warning.kind), (0, warning.sent_at))
        troubles[(warning.pipeline, warning.kind)] = (count + 1, max(last, warning.sent_at))
    schedules = sorted(
        (ScheduleTrouble(p, k, c, last) for (p, k), (c, last) in troubles.items()),
        key=lambda t: (-t.count, t.pipeline, t.kind),
    )
    if not figures and not stopped and not schedules:
        return None
    return Digest(
        target=target,
        period=period,
        runs=sum(f.runs for f in figures),
        succeeded=sum(f.succeeded for f in figures),
        failed=sum(f.failed for f in figures),
        previous_runs=sum(len(g.previous) for g in groups),
        pipelines=tuple(figures[: limits.pipelines]),
        more_pipelines=max(0, len(figures) - limits.pipelines),
        flaky=tuple(flaky[: limits.flaky]),
        streaks=tuple(streaks[: limits.streaks]),
        stopped=tuple(stopped[: limits.stopped]),
        schedules=tuple(schedules[: limits.schedules]),
    )
