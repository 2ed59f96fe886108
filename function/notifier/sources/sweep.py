"""The sweep for runs that hang: a Pub/Sub message with the attribute ``action=sweep``.

Cloud Scheduler publishes it (Terraform's ``sweep`` resources). For each configured
project and region, one ``ListPipelineJobs`` call per page, filtered server-side to runs
that have not ended and were created before the earliest threshold in use; each run past
its own threshold (its routing rule's ``stuck_after_hours``, else ``SWEEP_AFTER_HOURS``)
becomes one "still running" notice. The list view carries what the warning needs (name,
labels, times, spec), so no run costs a ``GetPipelineJob``. The notice's idempotency key
is the job and its running state, so a run is warned about once, however often the
sweep runs (with de-duplication on).

A region whose list call fails does not stop the others: their warnings go out, then
the sweep raises a transient error so that Pub/Sub tries it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone

from notifier.config import Config
from notifier.errors import TransientError, describe
from notifier.model import SWEEP, Enrichment, FinalStatus, JobDetails, Notice
from notifier.sources.pubsub import PubSubMessage

log = logging.getLogger("notifier")

SWEEP_ACTION = "sweep"
# Vertex AI's names for runs that have not ended (paused runs are paused on purpose).
NOT_ENDED = ("PIPELINE_STATE_QUEUED", "PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING")

ListJobs = Callable[[str, str, str], Iterable[JobDetails]]
Threshold = Callable[[FinalStatus, JobDetails], float]
ConsoleUrl = Callable[[FinalStatus, str], str]


class SweepFailedError(TransientError):
    """Listing the runs of some project or region failed; Pub/Sub redelivers the sweep."""


def is_sweep(message: PubSubMessage) -> bool:
    """True for the scheduler's sweep request."""
    return message.attributes.get("action", "").strip().lower() == SWEEP_ACTION


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
    ) -> None:
        self._config = config
        self._list_jobs = list_jobs
        self._threshold_hours = threshold_hours
        self._console_url = console_url
        self._clock = clock

    def notices(self) -> Iterator[Notice]:
        """One notice per stuck run; raises SweepFailedError at the end if a listing failed."""
        config = self._config
        if not config.sweep_projects or not config.sweep_regions:
            log.error(
                "Sweep requested, but SWEEP_PROJECTS/GOOGLE_CLOUD_PROJECT or SWEEP_REGIONS/GCP_REGION is unset"
            )
            return
        now = self._clock()
        earliest = min(
            [config.sweep_after_hours, *(r.stuck_after_hours for r in config.routes if r.stuck_after_hours)]
        )
        filter_ = stuck_filter(now - timedelta(hours=earliest))
        failed: list[str] = []
        listed = 0
        for project in config.sweep_projects:
            for region in config.sweep_regions:
                try:
                    jobs = list(self._list_jobs(project, region, filter_))
                except Exception as exc:  # noqa: BLE001 - one region's failure must not hide the others
                    log.warning("Sweep could not list runs in %s/%s: %s", project, region, describe(exc))
                    failed.append(f"{project}/{region}")
                    continue
                listed += len(jobs)
                for details in jobs:
                    notice = self._notice(details, region, now)
                    if notice is not None:
                        yield notice
        log.info("Sweep listed %d unfinished run(s) created before the earliest threshold", listed)
        if failed:
            raise SweepFailedError(f"could not list runs in {', '.join(failed)}")

    def _notice(self, details: JobDetails, region: str, now: datetime) -> Notice | None:
        status = FinalStatus(
            state=details.state or "RUNNING", pipeline_job_resource_name=details.name, source=SWEEP
        )
        started = details.create_time
        hours = self._threshold_hours(status, details)
        if started is None or now - started < timedelta(hours=hours):
            return None
        enrichment = Enrichment(details, region, self._console_url(status, region))
        return Notice(status, publish_time=now, enrichment=enrichment)
