"""The sweep for runs that hang: a Pub/Sub message with the attribute ``action=sweep``.

Cloud Scheduler publishes it (Terraform's ``sweep`` resources). For each configured
project and region, one ``ListPipelineJobs`` call per page, filtered server-side to runs
that have not ended and were created before the earliest threshold in use; each run past
its own threshold (its routing rule's ``stuck_after_hours``, else ``SWEEP_AFTER_HOURS``)
becomes one "still running" notice. The list view carries what the warning needs (name,
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
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Protocol

from notifier.config import Config
from notifier.errors import PermanentError, TransientError, describe
from notifier.model import SWEEP, Enrichment, FinalStatus, JobDetails, Notice
from notifier.names import JobName, Region, parse_job_name
from notifier.sources.pubsub import PubSubMessage

log = logging.getLogger("notifier")

SWEEP_ACTION = "sweep"
# Vertex AI's names for runs that have not ended (paused runs are paused on purpose).
NOT_ENDED = ("PIPELINE_STATE_QUEUED", "PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING")

ListJobs = Callable[[str, Region, str], Iterable[JobDetails]]
Threshold = Callable[[FinalStatus, JobDetails], float]
ConsoleUrl = Callable[[JobName], str]


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
    ) -> None:
        self._config = config
        self._schedules = schedules
        self._list_jobs = list_jobs
        self._threshold_hours = threshold_hours
        self._console_url = console_url
        self._clock = clock
        self._scope = config.scope.scope
        self._interval = interval or IntervalClaims(config.sweep.min_interval_minutes)

    def check_origin(self, message: PubSubMessage) -> None:
        """SweepRefusedError unless the message came from SWEEP_TOPIC (the CloudEvent's source)."""
        topic = self._config.sweep.topic
        if not topic:
            raise SweepRefusedError("a sweep was asked for, but SWEEP_TOPIC is not set: sweeps are off")
        if message.topic != topic:
            raise SweepRefusedError(
                f"a sweep was asked for on {message.topic or 'an unknown topic'!r}; "
                f"only SWEEP_TOPIC ({topic}) may ask for one"
            )

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
        earliest = min(
            [
                config.sweep.after_hours,
                *(r.stuck_after_hours for r in config.routing.routes if r.stuck_after_hours),
            ]
        )
        filter_ = stuck_filter(now - timedelta(hours=earliest))
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
                        notice = self._notice(details, now)
                    except Exception as exc:  # noqa: BLE001 - one bad job never aborts the rest
                        log.warning("Sweep skipped a run it could not read: %s", describe(exc))
                        continue
                    if notice is not None:
                        yield notice
        log.info("Sweep listed %d unfinished run(s) created before the earliest threshold", listed)
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

    def _notice(self, details: JobDetails, now: datetime) -> Notice | None:
        name = parse_job_name(details.name, "listed job's name")
        self._scope.check(name)
        status = FinalStatus(
            state=details.state or "RUNNING", pipeline_job_resource_name=name.resource, source=SWEEP
        )
        started = details.create_time
        hours = self._threshold_hours(status, details)
        if started is None or now - started < timedelta(hours=hours):
            return None
        enrichment = Enrichment(details, name.region, self._console_url(name))
        return Notice(status, publish_time=now, enrichment=enrichment)


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
