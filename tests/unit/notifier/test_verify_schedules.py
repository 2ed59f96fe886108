"""A schedule warning is confirmed as it is: it comes from Vertex AI's own list of Schedules."""

from __future__ import annotations

from datetime import datetime, timezone

from notifier.model import MISSED, SCHEDULE, Enrichment, FinalStatus, JobDetails, ScheduleEvent
from notifier.names import parse_schedule_name
from notifier.verify import verify

NAME = parse_schedule_name("projects/271009669852/locations/us-central1/schedules/6123470581093384192")


def test_a_schedule_warning_needs_no_job_to_be_confirmed() -> None:
    status = FinalStatus(
        state=MISSED,
        source=SCHEDULE,
        schedule=ScheduleEvent(NAME, slot=datetime(2026, 11, 27, 10, tzinfo=timezone.utc)),
    )
    # No job, no job state: a run's notice with these details would be refuted or unconfirmed.
    assert verify(
        status, Enrichment(JobDetails(pipeline_name="feature-backfill"), "us-central1", "")
    ).confirmed
    assert verify(status, Enrichment(None, "us-central1", "")).confirmed
    assert verify(FinalStatus(state=MISSED), Enrichment(None, "us-central1", "")).unconfirmed
