"""What a Vertex AI Schedule warns about, at one moment. Pure: a schedule, the time and its runs in; warnings out.

For each schedule the sweep lists (``sources.schedules``):

- **Ended**: ``COMPLETED``, or still ``ACTIVE`` past its ``endTime`` or with as many
  runs started as its ``maxRunCount``: one ``SCHEDULE_ENDED`` per schedule, if it ended
  within ``Policy.recent`` (an end found later is old news: logged, not sent). Nothing
  else is checked for it.
- **Paused** (or any state but ``ACTIVE``): nothing. A paused schedule keeps the
  ``nextRunTime`` it was paused before, a past time: it is never "missed".
- **Failed creation**: ``lastScheduledRunResponse.runResponse`` is anything but the
  literal ``OK``: one ``SCHEDULE_FAILED`` for its ``scheduledRunTime``, if within
  ``Policy.recent``.
- **Missed**: ``nextRunTime`` more than ``Policy.grace`` in the past (within the grace it
  is on time, or only late). Then Vertex's own runs decide: a run of this schedule
  created at or after that slot means it ran late, nothing missed; with
  ``allowQueueing`` an unfinished run of this schedule means the slot waits in the queue,
  nothing missed; else one ``MISSED`` for that slot. A slot stays missed until the
  schedule moves on, so the same slot is warned about again only when its claim has
  expired (``state.schedule_claims``).

Every warning is a ``FinalStatus`` with ``source`` SCHEDULE and a ``ScheduleEvent``; the
de-duplication key is the schedule, the kind and the slot (``state.schedule_claims``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from notifier.model import (
    MISSED,
    SCHEDULE,
    SCHEDULE_ENDED,
    SCHEDULE_FAILED,
    FinalStatus,
    ScheduleDetails,
    ScheduleEvent,
    pipeline_name_of,
)

ACTIVE = "ACTIVE"
COMPLETED = "COMPLETED"
CREATED = "OK"  # lastScheduledRunResponse.runResponse of a slot whose run was created
# How long a failed creation or an end is news. Schedule claims are kept longer
# (state.schedule_claims.RETENTION), so each is sent once.
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class Policy:
    """``grace``: how late a run may start before its slot counts as missed; ``recent``: see RECENT."""

    grace: timedelta = timedelta(minutes=30)
    recent: timedelta = RECENT


class Runs(Protocol):
    """What Vertex AI knows of a schedule's runs (ListPipelineJobs filtered on ``schedule_name``)."""

    def created_since(self, schedule: ScheduleDetails, moment: datetime) -> bool:
        """Whether a run of ``schedule`` was created at or after ``moment``."""

    def unfinished(self, schedule: ScheduleDetails) -> bool:
        """Whether a run of ``schedule`` has not ended (queued, pending or running)."""


@dataclass(frozen=True)
class Findings:
    """The warnings to send, and what was decided without one (for the log)."""

    warnings: tuple[FinalStatus, ...] = ()
    notes: tuple[str, ...] = ()


def check(schedule: ScheduleDetails, now: datetime, policy: Policy, runs: Runs) -> Findings:
    """The warnings ``schedule`` deserves at ``now``; ``runs`` is asked only about a slot past its grace."""
    warnings: list[FinalStatus] = []
    notes: list[str] = []
    ended_at = _ended_at(schedule, now)
    if ended_at is not None:
        if now - ended_at > policy.recent:
            notes.append(f"ended {_when(ended_at)}, too long ago to announce")
        else:
            warnings.append(_warning(SCHEDULE_ENDED, schedule))
        return Findings(tuple(warnings), tuple(notes))
    if schedule.state != ACTIVE:
        return Findings()
    response = schedule.last_run_response.strip()
    if response and response != CREATED:
        slot = schedule.last_run_time
        if slot is None:
            notes.append("its last run could not be created, but Vertex AI gives no scheduledRunTime")
        elif now - slot > policy.recent:
            notes.append(f"its run of {_when(slot)} could not be created, too long ago to announce")
        else:
            warnings.append(_warning(SCHEDULE_FAILED, schedule, slot, error=response))
    due = schedule.next_run_time
    if due is not None and now - due > policy.grace:
        if runs.created_since(schedule, due):
            notes.append(f"its run of {_when(due)} started late")
        elif schedule.allow_queueing and runs.unfinished(schedule):
            notes.append(f"its run of {_when(due)} is queued behind an unfinished run")
        else:
            warnings.append(_warning(MISSED, schedule, due))
    return Findings(tuple(warnings), tuple(notes))


def _ended_at(schedule: ScheduleDetails, now: datetime) -> datetime | None:
    """When the schedule ended (None: it has not): its endTime if that passed, else its last update."""
    past_end = schedule.end_time is not None and schedule.end_time <= now
    all_runs = 0 < schedule.max_run_count <= schedule.started_run_count
    if schedule.state != COMPLETED and not (schedule.state == ACTIVE and (past_end or all_runs)):
        return None
    if past_end and schedule.end_time is not None:
        return schedule.end_time
    return schedule.update_time or schedule.last_run_time or schedule.end_time or now


def _warning(
    kind: str, schedule: ScheduleDetails, slot: datetime | None = None, *, error: str = ""
) -> FinalStatus:
    event = ScheduleEvent(
        name=schedule.name,
        display_name=schedule.display_name,
        pipeline=pipeline_name_of(schedule.pipeline, schedule.display_name or schedule.name.schedule),
        slot=slot,
        cron=schedule.cron,
        error=error,
        run_count=schedule.started_run_count,
        max_run_count=schedule.max_run_count,
        end_time=schedule.end_time,
    )
    return FinalStatus(state=kind, source=SCHEDULE, schedule=event)


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
