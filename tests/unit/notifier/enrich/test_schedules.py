"""ScheduleReader and the schedule check's run lookups, through the real aiplatform_v1 REST clients
against the Vertex stand-in (tests/data/schedules)."""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timezone

import pytest

from notifier.config import Config
from notifier.enrich.schedules import ScheduleReader, schedule_console_url
from notifier.enrich.vertex import VertexEnricher
from notifier.names import Region, parse_schedule_name
from notifier.sources.schedules import ACTIVE_FILTER, created_since_filter, ended_filter, unfinished_filter
from sandbox.vertex_standin import VertexStandin
from tests.support.scheduledata import NUMBER, SCHEDULES, document

US = Region("us-central1")
QUEUED = parse_schedule_name(SCHEDULES + "4167329904621649920")
ON_TIME = parse_schedule_name(SCHEDULES + "1480612300150562816")


@pytest.fixture
def vertex(schedules_api: VertexStandin) -> VertexStandin:
    return schedules_api


def config(vertex: VertexStandin) -> Config:
    return Config.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "GOOGLE_CLOUD_PROJECT": "acme-ml-prod",
            "ALLOWED_PROJECTS": f"acme-ml-prod,{NUMBER}",
            "ALLOWED_REGIONS": "us-central1,europe-west4",
            "VERTEX_API_ENDPOINT": vertex.region_template,
        }
    )


def reader(vertex: VertexStandin, **options: int) -> ScheduleReader:
    return ScheduleReader(config(vertex).vertex_endpoint_for, 2.0, **options)


def test_active_pipeline_schedules_are_listed_from_the_regions_endpoint(vertex: VertexStandin) -> None:
    found = list(reader(vertex).list_schedules("acme-ml-prod", US, ACTIVE_FILTER))
    assert sorted(s.display_name for s in found) == [
        "churn-scoring-nightly",
        "clickstream-sessionize-hourly",
        "feature-backfill-daily",
        "fraud-retrain-4h",
        "ltv-refresh-new-york",
    ]
    assert {s.state for s in found} == {"ACTIVE"}
    [request] = vertex.schedule_list_requests
    assert (request.parent, request.filter, request.page_size) == (
        "projects/acme-ml-prod/locations/us-central1",
        ACTIVE_FILTER,
        100,
    )
    # Sent to the region's own endpoint ({region}-aiplatform… in production).
    assert vertex.requests[0].startswith(
        "/us-central1/v1/projects/acme-ml-prod/locations/us-central1/schedules?"
    )


def test_the_ended_filter_keeps_recent_ends_and_those_without_an_end_time(vertex: VertexStandin) -> None:
    listed = reader(vertex).list_schedules
    recent = datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert sorted(s.display_name for s in listed("acme-ml-prod", US, ended_filter(recent))) == [
        "ab-test-readout-weekly",  # no endTime: it ended by maxRunCount
        "holiday-forecast-daily",  # endTime 2026-11-25
    ]
    later = datetime(2026, 11, 26, tzinfo=timezone.utc)
    assert [s.display_name for s in listed("acme-ml-prod", US, ended_filter(later))] == [
        "ab-test-readout-weekly"
    ]


def test_the_page_cap_stops_the_listing_with_a_warning(vertex: VertexStandin, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        found = list(reader(vertex, page_size=2, max_pages=2).list_schedules("acme-ml-prod", US, ""))
    assert len(found) == 4 and len(vertex.schedule_list_requests) == 2
    assert "Listed 2 pages of schedules in acme-ml-prod/us-central1" in caplog.text


def test_a_schedule_that_cannot_be_read_is_skipped_never_the_rest(vertex: VertexStandin, caplog) -> None:
    bad = document("missed-slot")
    bad["name"] = SCHEDULES.replace("us-central1", "europe-west4") + "not-a-number"
    other = copy.deepcopy(document("paused"))
    other["name"] = SCHEDULES.replace("us-central1", "europe-west4") + "42"
    vertex.add_schedule(bad)
    vertex.add_schedule(other)
    try:
        with caplog.at_level(logging.WARNING):
            found = list(reader(vertex).list_schedules("acme-ml-prod", Region("europe-west4"), ""))
    finally:
        del vertex.schedules[bad["name"]], vertex.schedules[other["name"]]
    assert [s.name.schedule for s in found] == ["42"]
    assert "Skipping a listed schedule that cannot be read" in caplog.text
    assert "'projects/271009669852/locations/europe-west4/schedules/not-a-number' is malformed" in caplog.text


def test_a_failing_list_call_raises(vertex: VertexStandin) -> None:
    from google.api_core import exceptions

    vertex.fail_all = 403
    with pytest.raises(exceptions.Forbidden):
        list(reader(vertex).list_schedules("acme-ml-prod", US, ACTIVE_FILTER))


def test_runs_are_looked_up_by_schedule_name_with_a_small_read_mask(vertex: VertexStandin) -> None:
    jobs = VertexEnricher(config(vertex).vertex_endpoint_for, 2.0)
    since_1040 = datetime(2026, 11, 27, 10, 40, tzinfo=timezone.utc)
    assert jobs.has_job("acme-ml-prod", US, created_since_filter(QUEUED, since_1040)) is True
    assert (
        jobs.has_job("acme-ml-prod", US, created_since_filter(QUEUED, since_1040.replace(minute=41))) is False
    )
    assert jobs.has_job("acme-ml-prod", US, unfinished_filter(QUEUED)) is True  # the 10:40 run still runs
    assert jobs.has_job("acme-ml-prod", US, unfinished_filter(ON_TIME)) is False  # its runs succeeded
    filters = [r.filter for r in vertex.list_requests]
    assert filters[0] == f'schedule_name="{QUEUED.resource}" AND create_time>="2026-11-27T10:40:00Z"'
    assert filters[2] == (
        f'schedule_name="{QUEUED.resource}" AND (state="PIPELINE_STATE_QUEUED" '
        'OR state="PIPELINE_STATE_PENDING" OR state="PIPELINE_STATE_RUNNING")'
    )
    assert {(r.read_mask, r.page_size) for r in vertex.list_requests} == {("name", 1)}


def test_the_console_link_is_built_from_the_checked_name() -> None:
    assert schedule_console_url(QUEUED) == (
        "https://console.cloud.google.com/vertex-ai/pipelines/locations/us-central1/schedules/"
        "4167329904621649920?project=271009669852"
    )
