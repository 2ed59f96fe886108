"""The Schedule and scheduled PipelineJob documents in tests/data/schedules are what the real client reads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob, Schedule

from tests.support.paths import DATA

FOLDER = DATA / "schedules"
# The moment the documents describe (the sweep's clock in the tests that use them).
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
PREFIX = "projects/271009669852/locations/us-central1/schedules/"
CASES = {
    "on-time": "ACTIVE",
    "missed-slot": "ACTIVE",
    "creation-failed": "ACTIVE",
    "queued-behind": "ACTIVE",
    "timezone-cron": "ACTIVE",
    "paused": "PAUSED",
    "completed-max-runs": "COMPLETED",
    "completed-end-time": "COMPLETED",
}


def raw(case: str) -> dict:
    return json.loads((FOLDER / f"{case}.schedule.json").read_text())


def schedule(case: str) -> Schedule:
    # from_json refuses unknown fields: every key in the file is a real Schedule field.
    return Schedule.from_json((FOLDER / f"{case}.schedule.json").read_text())


def utc(stamp) -> datetime:
    return stamp.astimezone(timezone.utc)


def test_every_schedule_file_is_a_case() -> None:
    found = sorted(path.name.removesuffix(".schedule.json") for path in FOLDER.glob("*.schedule.json"))
    assert found == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_parses_as_the_rest_transport_receives_it(case: str) -> None:
    document, parsed = raw(case), schedule(case)
    assert parsed.state.name == CASES[case]
    assert document["state"] == int(parsed.state)  # enums as integers, as asked with enum-encoding=int
    assert isinstance(document["startedRunCount"], str)  # int64 as a string
    assert parsed.name.startswith(PREFIX) and parsed.name.removeprefix(PREFIX).isdigit()
    request = parsed.create_pipeline_job_request
    assert request.parent == "projects/acme-ml-prod/locations/us-central1"
    assert request.pipeline_job.pipeline_spec["pipelineInfo"]["name"]
    assert {"team", "env"} <= set(request.pipeline_job.labels)
    assert parsed.cron and parsed.max_concurrent_run_count >= 1
    last = parsed.last_scheduled_run_response
    assert utc(last.scheduled_run_time) < NOW
    assert utc(parsed.create_time) <= utc(parsed.start_time) <= utc(last.scheduled_run_time)
    assert utc(parsed.update_time) < NOW


@pytest.mark.parametrize("case", ["on-time", "timezone-cron", "missed-slot", "queued-behind", "paused"])
def test_successful_creations_answer_ok(case: str) -> None:
    assert schedule(case).last_scheduled_run_response.run_response == "OK"


def test_on_time_next_slot_is_ahead_and_the_last_one_created_its_run() -> None:
    parsed = schedule("on-time")
    assert utc(parsed.next_run_time) > NOW
    last = utc(parsed.last_scheduled_run_response.scheduled_run_time)
    assert utc(parsed.next_run_time) - last == timedelta(days=1)  # "0 7 * * *"
    paths = sorted(FOLDER.glob("churn-scoring-*.job.json"))
    runs = [PipelineJob.from_json(path.read_text()) for path in paths]
    assert [run.schedule_name for run in runs] == [parsed.name, parsed.name]
    newest = runs[-1]
    assert newest.state.name == "PIPELINE_STATE_SUCCEEDED"
    assert timedelta(0) < utc(newest.create_time) - last < timedelta(minutes=1)
    assert newest.pipeline_spec["pipelineInfo"]["name"] == "churn-scoring"
    assert dict(newest.labels).items() >= dict(parsed.create_pipeline_job_request.pipeline_job.labels).items()


def test_missed_slot_is_two_hours_behind_with_the_slot_before_it_created() -> None:
    parsed = schedule("missed-slot")
    assert NOW - utc(parsed.next_run_time) == timedelta(hours=2)
    last = utc(parsed.last_scheduled_run_response.scheduled_run_time)
    assert utc(parsed.next_run_time) - last == timedelta(days=1)


def test_creation_failed_holds_an_error_not_ok() -> None:
    last = schedule("creation-failed").last_scheduled_run_response
    assert last.run_response != "OK"
    assert last.run_response.startswith("PERMISSION_DENIED: ")
    assert utc(schedule("creation-failed").next_run_time) > NOW  # the next slot is still ahead


def test_queued_behind_is_late_within_the_grace_while_its_previous_run_runs() -> None:
    parsed = schedule("queued-behind")
    assert parsed.allow_queueing and parsed.max_concurrent_run_count == 1
    assert NOW - utc(parsed.next_run_time) == timedelta(minutes=20)
    run = PipelineJob.from_json((FOLDER / "clickstream-sessionize-20261127104002.job.json").read_text())
    assert run.schedule_name == parsed.name
    assert run.state.name == "PIPELINE_STATE_RUNNING"
    assert utc(run.create_time) > utc(parsed.last_scheduled_run_response.scheduled_run_time)


def test_paused_keeps_a_next_run_time_in_the_past() -> None:
    parsed = schedule("paused")
    assert utc(parsed.next_run_time) < utc(parsed.last_pause_time) + timedelta(hours=1) < NOW
    assert utc(parsed.last_resume_time) < utc(parsed.last_pause_time)


def test_completed_by_max_run_count_and_by_end_time() -> None:
    by_count, by_end = schedule("completed-max-runs"), schedule("completed-end-time")
    assert by_count.max_run_count == by_count.started_run_count == 6
    assert "endTime" not in raw("completed-max-runs")
    assert utc(by_end.end_time) < NOW and "maxRunCount" not in raw("completed-end-time")
    for parsed, case in ((by_count, "completed-max-runs"), (by_end, "completed-end-time")):
        assert "nextRunTime" not in raw(case)
        assert utc(parsed.last_scheduled_run_response.scheduled_run_time) < NOW


def test_timezone_prefixed_cron_runs_at_six_in_new_york() -> None:
    parsed = schedule("timezone-cron")
    zone, _, spec = parsed.cron.partition(" ")
    assert zone == "TZ=America/New_York" and spec == "0 6 * * *"
    new_york = ZoneInfo("America/New_York")
    for moment in (parsed.next_run_time, parsed.last_scheduled_run_response.scheduled_run_time):
        local = utc(moment).astimezone(new_york)
        assert (local.hour, local.minute) == (6, 0)
        assert utc(moment).hour == 11  # EST: UTC-5 in late November, not 06:00Z
