"""The schedule rules, pure: a Schedule document, the time and its runs in, warnings out.

The documents are tests/data/schedules (all describing 2026-11-27T12:00:00Z), each through
the real ``aiplatform_v1.Schedule`` type; the runs are the PipelineJob documents there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from notifier.model import MISSED, SCHEDULE, SCHEDULE_ENDED, SCHEDULE_FAILED, ScheduleDetails
from notifier.sources.schedule_rules import RECENT, Policy, check
from tests.support.scheduledata import NOW, NUMBER, SCHEDULES, JobRuns, details, document, rfc3339

POLICY = Policy(grace=timedelta(minutes=30))


def warned(
    case: str | dict, now: datetime = NOW, runs: JobRuns | None = None
) -> list[tuple[str, datetime | None]]:
    findings = check(details(case), now, POLICY, runs or JobRuns())
    return [(w.state, w.schedule.slot if w.schedule else None) for w in findings.warnings]


def at(hour: int, minute: int = 0, day: int = 27) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


@pytest.mark.parametrize("case", ["on-time", "timezone-cron"])
def test_schedules_on_time_warn_nothing_and_cost_no_call(case: str) -> None:
    runs = JobRuns()
    assert warned(case, runs=runs) == []
    assert runs.asked == []


def test_a_missed_slot_warns_once_for_that_slot() -> None:
    runs = JobRuns()
    [warning] = check(details("missed-slot"), NOW, POLICY, runs).warnings
    assert warning.state == MISSED and warning.source == SCHEDULE
    event = warning.schedule
    assert event is not None
    assert event.name.resource == SCHEDULES + "6123470581093384192"
    assert event.slot == at(10) and event.cron == "0 10 * * *"
    assert event.pipeline == "feature-backfill"  # pipelineSpec.pipelineInfo.name
    assert event.display_name == "feature-backfill-daily"
    # Nothing was created since 10:00, and without allowQueueing the queue is not asked about.
    assert runs.asked == ["created_since 10:00"]


def test_within_the_grace_a_late_slot_is_not_missed_yet() -> None:
    runs = JobRuns()
    assert warned("missed-slot", now=at(10, 29), runs=runs) == []
    assert warned("missed-slot", now=at(10, 31), runs=runs) == [(MISSED, at(10))]
    assert runs.asked == ["created_since 10:00"]  # only past the grace


def test_a_run_created_after_the_slot_means_it_ran_late() -> None:
    late = {
        "name": f"projects/{NUMBER}/locations/us-central1/pipelineJobs/feature-backfill-late",
        "scheduleName": SCHEDULES + "6123470581093384192",
        "createTime": rfc3339(at(11, 50)),
        "state": 3,
    }
    findings = check(details("missed-slot"), NOW, POLICY, JobRuns(runs=[late]))
    assert findings.warnings == ()
    assert findings.notes == ("its run of 2026-11-27 10:00 UTC started late",)


def test_a_slot_queued_behind_an_unfinished_run_is_not_missed() -> None:
    # 11:40 slot, 50 minutes late; the 10:40 run still runs and the schedule queues.
    runs = JobRuns()
    findings = check(details("queued-behind"), at(12, 30), POLICY, runs)
    assert findings.warnings == ()
    assert findings.notes == ("its run of 2026-11-27 11:40 UTC is queued behind an unfinished run",)
    assert runs.asked == ["created_since 11:40", "unfinished"]
    # Within the grace (20 minutes at NOW) nothing is asked at all.
    assert warned("queued-behind") == []


def test_without_queueing_an_unfinished_run_does_not_excuse_the_slot() -> None:
    raw = document("queued-behind")
    del raw["allowQueueing"]
    runs = JobRuns()
    assert warned(raw, now=at(12, 30), runs=runs) == [(MISSED, at(11, 40))]
    assert runs.asked == ["created_since 11:40"]


def test_a_failed_creation_warns_for_its_scheduled_run_time() -> None:
    [warning] = check(details("creation-failed"), NOW, POLICY, JobRuns()).warnings
    assert warning.state == SCHEDULE_FAILED
    assert warning.schedule is not None and warning.schedule.slot == at(8, 30)
    assert warning.schedule.error.startswith("PERMISSION_DENIED: Permission 'iam.serviceAccounts.actAs'")
    assert warning.schedule.pipeline == "fraud-retrain"


def test_a_failed_creation_and_a_missed_slot_are_two_warnings() -> None:
    raw = document("creation-failed")
    raw["nextRunTime"] = rfc3339(at(10, 30))  # and the 10:30 slot never started either
    assert warned(raw) == [(SCHEDULE_FAILED, at(8, 30)), (MISSED, at(10, 30))]


def test_an_old_failed_creation_is_logged_not_sent() -> None:
    later = NOW + RECENT + timedelta(hours=4)
    raw = document("creation-failed")
    raw["nextRunTime"] = rfc3339(later + timedelta(hours=1))
    findings = check(details(raw), later, POLICY, JobRuns())
    assert findings.warnings == ()
    assert findings.notes == (
        "its run of 2026-11-27 08:30 UTC could not be created, too long ago to announce",
    )


def test_a_failed_creation_without_a_run_time_is_logged_not_sent() -> None:
    raw = document("creation-failed")
    del raw["lastScheduledRunResponse"]["scheduledRunTime"]
    findings = check(details(raw), NOW, POLICY, JobRuns())
    assert findings.warnings == () and "no scheduledRunTime" in findings.notes[0]


@pytest.mark.parametrize("response", ["OK", "", "  "])
def test_only_ok_or_nothing_is_a_successful_creation(response: str) -> None:
    raw = document("creation-failed")
    raw["lastScheduledRunResponse"]["runResponse"] = response
    assert warned(raw) == []


def test_a_paused_schedule_is_never_missed() -> None:
    runs = JobRuns()
    raw = document("paused")
    raw["lastScheduledRunResponse"]["runResponse"] = "INTERNAL: no"  # nor failed
    assert warned(raw, runs=runs) == []
    assert runs.asked == []  # its stale nextRunTime (a week ago) costs no call


def test_a_schedule_that_ended_at_its_end_time_says_so() -> None:
    [warning] = check(details("completed-end-time"), NOW, POLICY, JobRuns()).warnings
    assert warning.state == SCHEDULE_ENDED and warning.schedule is not None
    assert warning.schedule.slot is None  # one per schedule
    assert warning.schedule.end_time == datetime(2026, 11, 25, tzinfo=timezone.utc)


def test_a_schedule_that_reached_its_max_run_count_says_so_while_it_is_news() -> None:
    # It completed on 2026-11-16 09:00: news for a week.
    assert warned("completed-max-runs", now=at(12, day=17)) == [(SCHEDULE_ENDED, None)]
    findings = check(details("completed-max-runs"), NOW, POLICY, JobRuns())
    assert findings.warnings == ()
    assert findings.notes == ("ended 2026-11-16 09:00 UTC, too long ago to announce",)


def test_an_active_schedule_past_its_end_is_ended_not_missed() -> None:
    raw = document("missed-slot")
    raw["endTime"] = rfc3339(at(9))
    runs = JobRuns()
    assert warned(raw, runs=runs) == [(SCHEDULE_ENDED, None)]
    raw = document("missed-slot")
    raw["maxRunCount"] = raw["startedRunCount"]
    assert warned(raw, runs=runs) == [(SCHEDULE_ENDED, None)]
    assert runs.asked == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"nextRunTime": None}, []),  # no next run time at all
        ({"nextRunTime": "2026-11-27T12:10:00Z"}, []),  # ahead of this clock (skew)
        ({"state": 0}, []),  # STATE_UNSPECIFIED
        ({"state": 7}, []),  # a state this client does not know
    ],
)
def test_missing_or_odd_fields_warn_nothing_and_never_crash(change: dict, expected: list) -> None:
    raw = document("missed-slot")
    for key, value in change.items():
        if value is None:
            raw.pop(key)
        else:
            raw[key] = value
    assert warned(raw) == expected


def test_the_pipeline_name_falls_back_to_the_display_names() -> None:
    raw = document("missed-slot")
    del raw["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"]["pipelineInfo"]
    raw["createPipelineJobRequest"]["pipelineJob"]["displayName"] = "feature-backfill-20261101000000"
    [warning] = check(details(raw), NOW, POLICY, JobRuns()).warnings
    assert warning.schedule is not None and warning.schedule.pipeline == "feature-backfill"
    del raw["createPipelineJobRequest"]["pipelineJob"]["displayName"]
    [warning] = check(details(raw), NOW, POLICY, JobRuns()).warnings
    assert warning.schedule is not None and warning.schedule.pipeline == "feature-backfill-daily"


def test_the_reduction_keeps_what_routing_reads() -> None:
    schedule: ScheduleDetails = details("on-time")
    pipeline = schedule.pipeline
    assert pipeline.pipeline_name == "churn-scoring"
    assert dict(pipeline.labels) == {"team": "growth-ml", "env": "prod"}
    assert pipeline.service_account == "pipelines@acme-ml-prod.iam.gserviceaccount.com"
    # The real KFP spec carries the exit-handler stub: its settings route the warnings too.
    assert dict(pipeline.stub_settings).get("slack_channel_id") == "C0CHURN01"
