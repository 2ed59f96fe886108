"""Missed and failed Vertex AI Schedules: the sweep's second look, after the runs.

For one project and region (``Sweep`` loops over each of ``SWEEP_PROJECTS`` and ``SWEEP_REGIONS``,
inside its once-per-interval claim), two ``ListSchedules`` calls (``enrich.schedules``):
the ``ACTIVE`` pipeline schedules (``ACTIVE_FILTER``), and the ``COMPLETED`` ones that can
still be news (``ended_filter``). Each schedule is judged by ``schedule_rules.check``;
only a slot past its grace costs a ``ListPipelineJobs`` call or two (filtered on the
schedule's name, a read mask of ``name``, one item a page). Each warning becomes a notice
routed like the schedule's pipeline: its pipeline name, labels and the exit-handler
stub's settings from the schedule's ``createPipelineJobRequest``.

A schedule outside the allowed scope, or one whose runs cannot be listed, is skipped with
a WARNING; a failing ``ListSchedules`` raises, and the sweep carries on with the other
projects and regions before it asks Pub/Sub to try again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from notifier.errors import describe
from notifier.model import Enrichment, Notice, ScheduleDetails
from notifier.names import Region, ScheduleName, Scope, quoted
from notifier.sources.schedule_rules import Findings, Policy, check
from notifier.sources.sweep import NOT_ENDED

log = logging.getLogger("notifier")

# Pipeline schedules only (a schedule may create notebook executions instead).
ACTIVE_FILTER = 'create_pipeline_job_request:* AND state="ACTIVE"'

ListSchedules = Callable[[str, Region, str], Iterator[ScheduleDetails]]
HasJob = Callable[[str, Region, str], bool]
ConsoleUrl = Callable[[ScheduleName], str]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ended_filter(since: datetime) -> str:
    """``COMPLETED`` pipeline schedules that can have ended after ``since`` (no endTime, or a later one)."""
    return (
        f'create_pipeline_job_request:* AND state="COMPLETED" '
        f'AND (end_time>="{_rfc3339(since)}" OR NOT end_time:*)'
    )


def created_since_filter(name: ScheduleName, moment: datetime) -> str:
    """``ListPipelineJobs``: the runs of schedule ``name`` created at or after ``moment``."""
    return f'schedule_name="{name.resource}" AND create_time>="{_rfc3339(moment)}"'


def unfinished_filter(name: ScheduleName) -> str:
    """``ListPipelineJobs``: the runs of schedule ``name`` that have not ended."""
    states = " OR ".join(f'state="{state}"' for state in NOT_ENDED)
    return f'schedule_name="{name.resource}" AND ({states})'


class _Runs:
    """``schedule_rules.Runs`` from ListPipelineJobs in one project and region."""

    def __init__(self, has_job: HasJob, project: str, region: Region) -> None:
        self._has_job = has_job
        self._project = project
        self._region = region

    def created_since(self, schedule: ScheduleDetails, moment: datetime) -> bool:
        return self._has_job(self._project, self._region, created_since_filter(schedule.name, moment))

    def unfinished(self, schedule: ScheduleDetails) -> bool:
        return self._has_job(self._project, self._region, unfinished_filter(schedule.name))


class ScheduleCheck:
    """Lists one project and region's schedules and yields a notice for each warning they deserve."""

    def __init__(
        self,
        scope: Scope,
        policy: Policy,
        list_schedules: ListSchedules,
        has_job: HasJob,
        console_url: ConsoleUrl,
    ) -> None:
        self._scope = scope
        self._policy = policy
        self._list = list_schedules
        self._has_job = has_job
        self._console_url = console_url

    def notices(self, project: str, region: Region, now: datetime) -> Iterator[Notice]:
        """The warnings of ``project``/``region`` at ``now``; raises when the schedules cannot be listed."""
        runs = _Runs(self._has_job, project, region)
        listed = 0
        for filter_ in (ACTIVE_FILTER, ended_filter(now - self._policy.recent)):
            for schedule in self._list(project, region, filter_):
                listed += 1
                findings = self._findings(schedule, now, runs)
                for warning in findings.warnings:
                    log.info(
                        "Schedule %s (%s): %s",
                        schedule.name.resource,
                        quoted(schedule.display_name),
                        warning.state,
                    )
                    enrichment = Enrichment(schedule.pipeline, region, self._console_url(schedule.name))
                    yield Notice(warning, publish_time=now, enrichment=enrichment)
        log.info("Schedule check listed %d schedule(s) in %s/%s", listed, project, region)

    def _findings(self, schedule: ScheduleDetails, now: datetime, runs: _Runs) -> Findings:
        if not self._scope.admits(schedule.name):
            log.warning(
                "Skipping schedule %s: outside ALLOWED_PROJECTS/ALLOWED_REGIONS", schedule.name.resource
            )
            return Findings()
        try:
            findings = check(schedule, now, self._policy, runs)
        except Exception as exc:  # noqa: BLE001 - one schedule's runs failing to list never aborts the rest
            log.warning("Skipping schedule %s this sweep: %s", schedule.name.resource, describe(exc))
            return Findings()
        for note in findings.notes:
            log.info("Schedule %s: %s; no warning", schedule.name.resource, note)
        return findings
