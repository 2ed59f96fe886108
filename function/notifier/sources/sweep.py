"""The sweep for runs that hang: a Pub/Sub message with the attribute ``action=sweep``.

Cloud Scheduler publishes it (Terraform's ``sweep`` resources). For each configured
project and region, one ``ListPipelineJobs`` call per page, filtered server-side to runs
that have not ended and were created before the earliest threshold in use; each run past
its own threshold becomes one "still running" notice. A run's threshold is its
pipeline's history when there is one (``history_rules.late_after``: ``DURATION_FACTOR`` times
the p95 of its usual runs, at least ``DURATION_MIN_EXTRA`` more), and the notice then
says how much later than usual it is; else its routing rule's ``stuck_after_hours``,
else ``SWEEP_AFTER_HOURS``. At most ``BASELINES_MAX`` pipelines' histories are read per
sweep (within ``BASELINES_SECONDS``); the others get the fixed thresholds, and one log
line says how many. The list view carries what the warning needs (name,
labels, times, spec), so no run costs a ``GetPipelineJob``. The notice's idempotency key
is the job and its running state, so a run is warned about once, however often the
sweep runs (with de-duplication on).

After the runs, with ``CHECK_SCHEDULES`` on, the same projects and regions' Vertex AI
Schedules are checked for missed slots, failed run creations and ends
(``sources.schedules``), under the same once-per-interval claim.

A region whose list call fails (runs or schedules) does not stop the others: their
warnings go out, then the sweep raises a transient error so that Pub/Sub tries it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Protocol

from notifier.config import Config
from notifier.errors import PermanentError, TransientError, describe
from notifier.history_rules import Baseline, Policy, late_after, late_floor, later_than_usual, pipeline_key
from notifier.model import SWEEP, Enrichment, FinalStatus, JobDetails, Notice, pipeline_name
from notifier.names import JobName, Region, parse_job_name
from notifier.sources.pubsub import PubSubMessage

log = logging.getLogger("notifier")

SWEEP_ACTION = "sweep"
# Vertex AI's names for runs that have not ended (paused runs are paused on purpose).
NOT_ENDED = ("PIPELINE_STATE_QUEUED", "PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING")

ListJobs = Callable[[str, Region, str], Iterable[JobDetails]]
Threshold = Callable[[FinalStatus, JobDetails], float]
ConsoleUrl = Callable[[JobName], str]
# The usual time of a pipeline (its ``pipeline_key``) from runs that ended before a time.
Baselines = Callable[[str, datetime], Baseline | None]
# How many pipelines' histories one sweep reads at most, and for how long.
BASELINES_MAX = 500
BASELINES_SECONDS = 20.0


def earliest_warning(config: Config, history: bool) -> timedelta:
    """The youngest a run can be and get a warning: what the sweep lists from."""
    fixed = [
        config.sweep.after_hours,
        *(r.stuck_after_hours for r in config.routing.routes if r.stuck_after_hours),
    ]
    return late_floor(Policy.of(config.history), fixed, history)


class ScheduleNotices(Protocol):
    """The schedule check of one project and region (``sources.schedules.ScheduleCheck``)."""

    def notices(self, project: str, region: Region, now: datetime) -> Iterable[Notice]:
        """Its warnings at ``now``; raises when the schedules cannot be listed."""


class IntervalGate(Protocol):
    """At most one sweep per interval: ``claim`` takes it (False: taken already), ``release`` gives it back."""

    def claim(self, now: datetime) -> bool:
        """Take this interval's sweep, unless a sweep ran less than an interval before ``now``."""

    def release(self, now: datetime) -> None:
        """Give back the sweep claimed at ``now`` (it failed: Pub/Sub's retry may run it again)."""


class SweepFailedError(TransientError):
    """Listing the runs of some project or region failed; Pub/Sub redelivers the sweep."""


def is_sweep(message: PubSubMessage) -> bool:
    """True for a message that asks for a sweep (``action=sweep``), from whichever topic."""
    return message.attributes.get("action", "").strip().lower() == SWEEP_ACTION


class SweepRefusedError(PermanentError):
    """A sweep was asked for from a topic other than SWEEP_TOPIC: acknowledged, not run."""


def require_topic(message: PubSubMessage, topic: str, what: str) -> None:
    """SweepRefusedError unless ``message`` came from ``topic`` (SWEEP_TOPIC, as the CloudEvent's
    source names it): the sweep's and the digest's requests are honoured from it only."""
    if not topic:
        raise SweepRefusedError(f"{what} was asked for, but SWEEP_TOPIC is not set: {what[2:]}s are off")
    if message.topic != topic:
        raise SweepRefusedError(
            f"{what} was asked for on {message.topic or 'an unknown topic'!r}; "
            f"only SWEEP_TOPIC ({topic}) may ask for one"
        )


def stuck_filter(created_before: datetime) -> str:
    """The ``ListPipelineJobs`` filter: not ended, and created before ``created_before``."""
    moment = created_before.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    states = " OR ".join(f'state="{state}"' for state in NOT_ENDED)
    return f'create_time<"{moment}" AND ({states})'


class Sweep:
    """Lists runs that have not ended and yields a notice for each one past its threshold."""

    def __init__(
        self,
        config: Config,
        list_jobs: ListJobs,
        threshold_hours: Threshold,
        console_url: ConsoleUrl,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        interval: IntervalGate | None = None,
        schedules: ScheduleNotices | None = None,
        baselines: Baselines | None = None,
    ) -> None:
        self._config = config
        self._schedules = schedules
        self._list_jobs = list_jobs
        self._threshold_hours = threshold_hours
        self._console_url = console_url
        self._clock = clock
        self._scope = config.scope.scope
        self._interval = interval or IntervalClaims(config.sweep.min_interval_minutes)
        self._baselines = baselines
        self._policy = Policy.of(config.history)

    def check_origin(self, message: PubSubMessage) -> None:
        """SweepRefusedError unless the message came from SWEEP_TOPIC (the CloudEvent's source)."""
        require_topic(message, self._config.sweep.topic, "a sweep")

    def notices(self) -> Iterator[Notice]:
        """One notice per stuck run; raises SweepFailedError at the end if a listing failed.

        At most one sweep runs per SWEEP_MIN_INTERVAL_MINUTES: a sweep that finds this
        interval taken is acknowledged without listing anything.
        """
        config = self._config
        now = self._clock()
        if not self._interval.claim(now):
            log.info(
                "Sweep skipped: one already ran in this %g-minute interval", config.sweep.min_interval_minutes
            )
            return
        filter_ = stuck_filter(now - earliest_warning(config, self._baselines is not None))
        usual = _UsualTimes(self._baselines, now, self._policy)
        failed: list[str] = []
        listed = 0
        for project in config.sweep.projects:
            for region in map(Region, config.sweep.regions):
                try:
                    jobs = list(self._list_jobs(project, region, filter_))
                except Exception as exc:  # noqa: BLE001 - one region's failure must not hide the others
                    log.warning("Sweep could not list runs in %s/%s: %s", project, region, describe(exc))
                    failed.append(f"runs in {project}/{region}")
                    continue
                listed += len(jobs)
                for details in jobs:
                    try:
                        notice = self._notice(details, now, usual)
                    except Exception as exc:  # noqa: BLE001 - one bad job never aborts the rest
                        log.warning("Sweep skipped a run it could not read: %s", describe(exc))
                        continue
                    if notice is not None:
                        yield notice
        log.info("Sweep listed %d unfinished run(s) created before the earliest threshold", listed)
        usual.report()
        if self._schedules is not None:
            yield from self._schedule_notices(now, failed)
        if failed:
            self._interval.release(now)
            raise SweepFailedError(f"could not list {', '.join(failed)}")

    def _schedule_notices(self, now: datetime, failed: list[str]) -> Iterator[Notice]:
        """Each project and region's schedule warnings; a failed listing is added to ``failed``."""
        assert self._schedules is not None
        for project in self._config.sweep.projects:
            for region in map(Region, self._config.sweep.regions):
                try:
                    # Listed whole before any goes out: a listing that fails halfway is retried whole.
                    notices = list(self._schedules.notices(project, region, now))
                except Exception as exc:  # noqa: BLE001 - one region's failure must not hide the others
                    log.warning("Sweep could not list schedules in %s/%s: %s", project, region, describe(exc))
                    failed.append(f"schedules in {project}/{region}")
                    continue
                yield from notices

    def _notice(self, details: JobDetails, now: datetime, usual: _UsualTimes) -> Notice | None:
        name = parse_job_name(details.name, "listed job's name")
        self._scope.check(name)
        status = FinalStatus(
            state=details.state or "RUNNING", pipeline_job_resource_name=name.resource, source=SWEEP
        )
        created = details.create_time
        if created is None:
            return None
        baseline = usual.of(pipeline_key(name.project, pipeline_name(status, details)))
        comparison = None
        if late_after(baseline, self._policy) is not None:
            # Its pipeline's history decides: later than usual, or not late at all.
            comparison = later_than_usual(now - (details.start_time or created), baseline, self._policy)
            if comparison is None:
                return None
        elif now - created < timedelta(hours=self._threshold_hours(status, details)):
            return None
        enrichment = Enrichment(details, name.region, self._console_url(name), comparison=comparison)
        return Notice(status, publish_time=now, enrichment=enrichment)


class _UsualTimes:
    """The pipelines' usual times for one sweep: each read once, at most ``BASELINES_MAX`` of them
    within ``BASELINES_SECONDS``; the rest fall back to the fixed thresholds (counted, then logged)."""

    def __init__(self, baselines: Baselines | None, now: datetime, policy: Policy) -> None:
        self._baselines = baselines
        self._now = now
        self._known: dict[str, Baseline | None] = {}
        self._deadline = time.monotonic() + BASELINES_SECONDS
        self._skipped: set[str] = set()

    def of(self, key: str) -> Baseline | None:
        """The usual time of the pipeline ``key``, or None (no history, or beyond the cap)."""
        if self._baselines is None:
            return None
        if key in self._known:
            return self._known[key]
        if len(self._known) >= BASELINES_MAX or time.monotonic() > self._deadline:
            self._skipped.add(key)
            return None
        self._known[key] = self._baselines(key, self._now)
        return self._known[key]

    def report(self) -> None:
        """One line for the pipelines whose history was not read in this sweep."""
        if self._skipped:
            log.warning(
                "Sweep read the usual times of %d pipeline(s); %d more were judged by the fixed "
                "thresholds (at most %d pipelines or %g s per sweep)",
                len(self._known),
                len(self._skipped),
                BASELINES_MAX,
                BASELINES_SECONDS,
            )


class IntervalClaims:
    """At most one sweep per interval, in this process (without Firestore, one instance)."""

    def __init__(self, minutes: float) -> None:
        self._interval = timedelta(minutes=minutes)
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def claim(self, now: datetime) -> bool:
        """True (and remember ``now``) unless a sweep ran less than an interval ago."""
        with self._lock:
            if self._last is not None and timedelta(0) <= now - self._last < self._interval:
                return False
            self._last = now
            return True

    def release(self, now: datetime) -> None:
        """Forget the sweep claimed at ``now``."""
        with self._lock:
            if self._last == now:
                self._last = None
