"""The sweep's schedule check: real ScheduleServiceClient and PipelineServiceClient over REST against
the Vertex stand-in serving tests/data/schedules, at the moment they describe."""

from __future__ import annotations

import logging

import pytest

from notifier.config import Config
from notifier.enrich.vertex import VertexEnricher, console_url
from notifier.model import MISSED, SCHEDULE, SCHEDULE_ENDED, SCHEDULE_FAILED
from notifier.routing import stuck_after_hours
from notifier.sources.schedules import ACTIVE_FILTER
from notifier.sources.sweep import Sweep, SweepFailedError
from notifier.verify import verify
from notifier.wiring import make_schedule_check
from sandbox.vertex_standin import VertexStandin
from tests.support.scheduledata import NOW, NUMBER, SCHEDULES, document

MISSED_SLOT = SCHEDULES + "6123470581093384192"
CREATION_FAILED = SCHEDULES + "3311058862317912064"
ENDED = SCHEDULES + "5029178845237460992"


@pytest.fixture
def vertex(schedules_api: VertexStandin) -> VertexStandin:
    return schedules_api


def make_sweep(vertex: VertexStandin, **env: str) -> Sweep:
    config = Config.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "GOOGLE_CLOUD_PROJECT": "acme-ml-prod",
            "ALLOWED_PROJECTS": f"acme-ml-prod,{NUMBER}",
            "ALLOWED_REGIONS": "us-central1,europe-west4",
            "SWEEP_REGIONS": "us-central1,europe-west4",
            "VERTEX_API_ENDPOINT": vertex.region_template,
            **env,
        }
    )
    jobs = VertexEnricher(config.vertex_endpoint_for, 2.0)
    schedules = make_schedule_check(config, jobs) if config.schedules.enabled else None
    return Sweep(
        config,
        jobs.list_jobs,
        lambda s, d: stuck_after_hours(config, s, d),
        console_url,
        clock=lambda: NOW,
        schedules=schedules,
    )


def warnings(vertex: VertexStandin, **env: str) -> list[tuple[str, str]]:
    return sorted(
        (n.status.schedule.name.resource, n.status.state)
        for n in make_sweep(vertex, **env).notices()
        if n.status.schedule is not None
    )


def test_the_sweep_warns_of_the_missed_slot_the_failed_creation_and_the_end(vertex: VertexStandin) -> None:
    notices = [n for n in make_sweep(vertex).notices() if n.status.source == SCHEDULE]
    assert sorted((n.status.schedule.name.resource, n.status.state) for n in notices) == sorted(
        [(MISSED_SLOT, MISSED), (CREATION_FAILED, SCHEDULE_FAILED), (ENDED, SCHEDULE_ENDED)]
    )
    for notice in notices:
        assert notice.publish_time == NOW
        enrichment = notice.enrichment
        assert enrichment is not None and enrichment.region == "us-central1"
        assert enrichment.console_url.startswith(
            "https://console.cloud.google.com/vertex-ai/pipelines/locations/us-central1/schedules/"
        )
        assert verify(notice.status, enrichment).confirmed  # Vertex's own list
        assert enrichment.details is not None and ("env", "prod") in enrichment.details.labels
        assert notice.status.may_page is False


def test_each_region_is_listed_twice_and_only_a_late_slot_costs_a_run_lookup(vertex: VertexStandin) -> None:
    list(make_sweep(vertex).notices())
    schedule_lists = [(r.parent.rsplit("/", 1)[-1], r.filter) for r in vertex.schedule_list_requests]
    ended = 'create_pipeline_job_request:* AND state="COMPLETED" AND (end_time>="2026-11-20T12:00:00Z" OR NOT end_time:*)'
    assert schedule_lists == [
        ("us-central1", ACTIVE_FILTER),
        ("us-central1", ended),
        ("europe-west4", ACTIVE_FILTER),
        ("europe-west4", ended),
    ]
    # The stuck-run list per region, then one "created since?" for the one slot past its grace.
    run_lookups = [r.filter for r in vertex.list_requests if "schedule_name" in r.filter]
    assert run_lookups == [f'schedule_name="{MISSED_SLOT}" AND create_time>="2026-11-27T10:00:00Z"']


def test_check_schedules_off_lists_no_schedule(vertex: VertexStandin) -> None:
    assert warnings(vertex, CHECK_SCHEDULES="false") == []
    assert vertex.schedule_list_requests == []


def test_the_grace_is_a_setting(vertex: VertexStandin) -> None:
    # With 3 hours of grace the 10:00 slot (2 h late) is not missed yet.
    assert (MISSED_SLOT, MISSED) not in warnings(vertex, SCHEDULE_GRACE_MINUTES="180")
    # With 10 minutes the queued 11:40 slot (20 min late) is past it, but queued behind its running run.
    assert warnings(vertex, SCHEDULE_GRACE_MINUTES="10") == warnings(vertex)


def test_a_failing_schedule_listing_does_not_hide_the_other_region_then_asks_for_a_retry(
    vertex: VertexStandin, caplog
) -> None:
    eu = document("missed-slot")
    eu["name"] = MISSED_SLOT.replace("us-central1", "europe-west4")
    vertex.add_schedule(eu)
    try:
        # Call 1 lists stuck runs in us-central1, 2 in europe-west4, 3 is us-central1's schedules.
        vertex.fail_next(0, 0, 403)
        got = []
        with (
            caplog.at_level(logging.WARNING),
            pytest.raises(SweepFailedError, match="schedules in acme-ml-prod/us-central1"),
        ):
            for notice in make_sweep(vertex).notices():
                got.append(notice.status.schedule.name.resource if notice.status.schedule else "")
    finally:
        del vertex.schedules[eu["name"]]
    assert got == [eu["name"]]  # europe-west4's warning went out all the same
    assert "Sweep could not list schedules in acme-ml-prod/us-central1" in caplog.text


def test_a_schedule_whose_runs_cannot_be_listed_is_skipped_never_the_rest(
    vertex: VertexStandin, caplog
) -> None:
    sweep = make_sweep(vertex)
    vertex.fail_next(
        0, 0, 0, 403
    )  # stuck runs in two regions, active schedules, then the missed slot's run lookup
    with caplog.at_level(logging.WARNING):
        found = [
            (n.status.schedule.name.resource, n.status.state) for n in sweep.notices() if n.status.schedule
        ]
    assert sorted(found) == sorted([(CREATION_FAILED, SCHEDULE_FAILED), (ENDED, SCHEDULE_ENDED)])
    assert f"Skipping schedule {MISSED_SLOT} this sweep: Forbidden" in caplog.text


def test_a_schedule_outside_the_allowed_scope_is_skipped(vertex: VertexStandin, caplog) -> None:
    # The schedules carry the project number; without it in ALLOWED_PROJECTS none is in scope.
    with caplog.at_level(logging.WARNING):
        found = warnings(vertex, ALLOWED_PROJECTS="acme-ml-prod")
    assert found == []
    assert f"Skipping schedule {MISSED_SLOT}: outside ALLOWED_PROJECTS/ALLOWED_REGIONS" in caplog.text


def test_decisions_without_a_warning_are_logged(vertex: VertexStandin, caplog) -> None:
    with caplog.at_level(logging.INFO):
        list(make_sweep(vertex, SCHEDULE_GRACE_MINUTES="10").notices())
    assert (
        f"Schedule {SCHEDULES}4167329904621649920: its run of 2026-11-27 11:40 UTC is queued behind "
        "an unfinished run; no warning"
    ) in caplog.text
    assert "ended 2026-11-16 09:00 UTC, too long ago to announce" in caplog.text
    assert "Schedule check listed 7 schedule(s) in acme-ml-prod/us-central1" in caplog.text
