"""The sweep for hung runs, through the real Vertex client against the ListPipelineJobs stand-in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from notifier.config import Config
from notifier.enrich.vertex import VertexEnricher, console_url
from notifier.model import SWEEP
from notifier.routing import stuck_after_hours
from notifier.sources.pubsub import PubSubMessage
from notifier.sources.sweep import Sweep, SweepFailedError, is_sweep, stuck_filter
from sandbox.vertex_standin import VertexStandin

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
NUMBER = "271009669852"
SWEEP_MESSAGE = PubSubMessage(message_id="s-1", data=b"{}", attributes={"action": "sweep"})


def job(job_id: str, region: str, state: int, age_hours: float, **labels: str) -> dict:
    created = NOW - timedelta(hours=age_hours)
    return {
        "name": f"projects/{NUMBER}/locations/{region}/pipelineJobs/{job_id}",
        "displayName": job_id,
        "createTime": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "startTime": (created + timedelta(seconds=9)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "state": state,
        "labels": labels,
        "pipelineSpec": {"pipelineInfo": {"name": job_id.rsplit("-", 1)[0]}},
        "jobDetail": {"taskDetails": [{"taskId": "1", "taskName": job_id, "state": 2}]},
    }


RUNNING, PENDING, QUEUED, SUCCEEDED = 3, 2, 1, 4
JOBS = [
    job("train-stuck-20261126010000", "us-central1", RUNNING, 35),
    job("train-fresh-20261127100000", "us-central1", RUNNING, 2),
    job("ingest-queued-20261126230000", "us-central1", QUEUED, 13),
    job("eval-pending-20261126200000", "us-central1", PENDING, 16, team="data-eng"),
    job("score-done-20261120010000", "us-central1", SUCCEEDED, 200),
    job("etl-slow-20261127030000", "us-central1", RUNNING, 9, team="data-eng"),  # its rule: 6 h
    job("eu-stuck-20261126000000", "europe-west4", RUNNING, 36),
]


@pytest.fixture(scope="module")
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        for item in JOBS:
            standin.add_job(item)
        standin.project_numbers["acme-ml-prod"] = NUMBER
        yield standin


@pytest.fixture(autouse=True)
def _healthy(vertex: VertexStandin) -> None:
    vertex.fail_all = None
    vertex.list_requests.clear()


def make_sweep(vertex: VertexStandin, **env: str) -> Sweep:
    config = Config.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "GCP_REGION": "us-central1",
            "GOOGLE_CLOUD_PROJECT": "acme-ml-prod",
            "ALLOWED_PROJECTS": f"acme-ml-prod,{NUMBER}",
            "ALLOWED_REGIONS": "us-central1,europe-west4",
            "SWEEP_REGIONS": "us-central1,europe-west4",
            "SLACK_ROUTES": json.dumps(
                [{"match": {"labels": {"team": "data-*"}}, "channel": "C0D", "stuck_after_hours": 6}]
            ),
            **env,
        }
    )
    client = VertexEnricher(lambda region: vertex.url, 2.0, page_size=2)
    return Sweep(
        config, client.list_jobs, lambda s, d: stuck_after_hours(config, s, d), console_url, clock=lambda: NOW
    )


def test_one_notice_per_run_past_its_threshold(vertex: VertexStandin) -> None:
    notices = list(make_sweep(vertex).notices())
    assert sorted(n.status.job_id for n in notices) == [
        "etl-slow-20261127030000",  # 9 h, past its rule's 6 h
        "eu-stuck-20261126000000",
        "eval-pending-20261126200000",
        "ingest-queued-20261126230000",
        "train-stuck-20261126010000",
    ]
    for notice in notices:
        assert notice.status.source == SWEEP
        assert notice.status.state in {"RUNNING", "PENDING", "QUEUED"}
        assert notice.enrichment is not None and notice.enrichment.console_url
        assert notice.publish_time == NOW


def test_the_filter_is_server_side_and_one_call_per_region_and_page(vertex: VertexStandin) -> None:
    list(make_sweep(vertex).notices())
    cutoff = (NOW - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")  # the earliest threshold in use
    expected = (
        f'create_time<"{cutoff}" AND (state="PIPELINE_STATE_QUEUED" OR '
        'state="PIPELINE_STATE_PENDING" OR state="PIPELINE_STATE_RUNNING")'
    )
    assert {r.filter for r in vertex.list_requests} == {expected}
    # us-central1 has 4 matching runs: 2 pages of 2; europe-west4 one page.
    pages = [(r.parent, r.page_token) for r in vertex.list_requests]
    assert pages == [
        ("projects/acme-ml-prod/locations/us-central1", ""),
        ("projects/acme-ml-prod/locations/us-central1", "2"),
        ("projects/acme-ml-prod/locations/europe-west4", ""),
    ]
    assert all(r.page_size == 2 for r in vertex.list_requests)
    assert not any("/pipelineJobs/" in path and "?" not in path for path in vertex.requests)  # no GETs


def test_a_failing_region_does_not_hide_the_others_then_asks_for_a_retry(vertex: VertexStandin) -> None:
    vertex.fail_next(403)  # the first list call: us-central1
    sweep = make_sweep(vertex).notices()
    got = []
    with pytest.raises(SweepFailedError, match="acme-ml-prod/us-central1"):
        for notice in sweep:
            got.append(notice.status.job_id)
    assert got == ["eu-stuck-20261126000000"]


def test_filter_format() -> None:
    text = stuck_filter(datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=timezone.utc))
    assert re.fullmatch(
        r'create_time<"2026-01-02T03:04:05Z" AND \(state="[A-Z_]+"( OR state="[A-Z_]+"){2}\)', text
    )


def test_only_the_action_attribute_makes_a_sweep() -> None:
    assert is_sweep(SWEEP_MESSAGE)
    assert is_sweep(PubSubMessage("x", b"", {"action": " Sweep "}))
    assert not is_sweep(PubSubMessage("x", b'{"action": "sweep"}', {}))
