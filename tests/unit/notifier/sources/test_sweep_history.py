"""The sweep with run history: each pipeline's p95 decides when its run is late, the fixed
thresholds stay the fallback; through the real Vertex client against the stand-in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from notifier.config import Config
from notifier.enrich.vertex import VertexEnricher, console_url
from notifier.history_rules import Baseline
from notifier.routing import stuck_after_hours
from notifier.sources import sweep as sweep_module
from notifier.sources.sweep import Sweep, stuck_filter
from sandbox.vertex_standin import VertexStandin
from tests.unit.notifier.sources.test_sweep import JOBS, NOW, NUMBER, RUNNING, job

# The train pipelines usually take about an hour (p95 ~ 1h 10m: late after 2h 20m); the etl
# one 5 hours. (Each job of tests.test_sweep is a pipeline of its own: its id without the stamp.)
TRAIN = Baseline(tuple(float(60 * m) for m in range(50, 70)))
USUAL = {
    **{f"{NUMBER}/train-{kind}": TRAIN for kind in ("stuck", "late", "ontime", "fresh")},
    f"{NUMBER}/etl-slow": Baseline((5 * 3600.0,) * 20),
}
EXTRA = [
    job("train-late-20261127090000", "us-central1", RUNNING, 3),  # 3 h: late for train, not for 12 h
    job("train-ontime-20261127103000", "us-central1", RUNNING, 1.5),  # within its usual time
]


@pytest.fixture(scope="module")
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        for item in (*JOBS, *EXTRA):
            standin.add_job(item)
        standin.project_numbers["acme-ml-prod"] = NUMBER
        yield standin


def make_sweep(vertex: VertexStandin, usual: dict[str, Baseline], asked: list[str] | None = None) -> Sweep:
    config = Config.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-2",
            "GOOGLE_CLOUD_PROJECT": "acme-ml-prod",
            "ALLOWED_PROJECTS": f"acme-ml-prod,{NUMBER}",
            "ALLOWED_REGIONS": "us-central1,europe-west4",
            "SLACK_ROUTES": '[{"match": {"labels": {"team": "data-*"}}, "channel": "C0D", "stuck_after_hours": 6}]',
        }
    )

    def baselines(key: str, before: datetime) -> Baseline | None:
        assert before == NOW
        if asked is not None:
            asked.append(key)
        return usual.get(key)

    client = VertexEnricher(lambda region: vertex.url, 2.0)
    threshold = lambda s, d: stuck_after_hours(config, s, d)  # noqa: E731
    return Sweep(config, client.list_jobs, threshold, console_url, clock=lambda: NOW, baselines=baselines)


def test_a_pipelines_history_decides_when_its_run_is_late(vertex: VertexStandin) -> None:
    notices = {n.status.job_id: n for n in make_sweep(vertex, USUAL).notices()}
    # train-stuck (35 h) and train-late (3 h) are late for train; train-ontime is not; the
    # 9-hour etl run is within its usual 5 h x 2 though its rule says 6 h; pipelines without
    # history keep the fixed thresholds.
    assert sorted(notices) == [
        "eu-stuck-20261126000000",
        "eval-pending-20261126200000",
        "ingest-queued-20261126230000",
        "train-late-20261127090000",
        "train-stuck-20261126010000",
    ]
    late = notices["train-late-20261127090000"].enrichment
    assert late is not None and late.comparison is not None and late.comparison.running
    assert late.comparison.usual == TRAIN.p95 and late.comparison.runs == 20
    assert late.comparison.took == timedelta(hours=3) - timedelta(seconds=9)  # from its start
    fixed = notices["eu-stuck-20261126000000"].enrichment
    assert fixed is not None and fixed.comparison is None


def test_with_history_the_sweep_lists_from_the_floor_and_asks_each_pipeline_once(
    vertex: VertexStandin,
) -> None:
    asked: list[str] = []
    vertex.list_requests.clear()
    list(make_sweep(vertex, USUAL, asked).notices())
    assert {r.filter for r in vertex.list_requests} == {stuck_filter(NOW - timedelta(minutes=15))}
    assert len(asked) == len(set(asked)) == 8  # the pipeline of every run not ended, once each


def test_beyond_the_cap_pipelines_keep_the_fixed_thresholds_and_one_line_says_so(
    vertex: VertexStandin, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sweep_module, "BASELINES_MAX", 1)
    asked: list[str] = []
    with caplog.at_level(logging.WARNING, logger="notifier"):
        notices = list(make_sweep(vertex, USUAL, asked).notices())
    assert len(asked) == 1
    lines = [r.getMessage() for r in caplog.records if "judged by the fixed thresholds" in r.getMessage()]
    assert len(lines) == 1 and "at most 1 pipelines" in lines[0]
    assert notices  # the rest are still swept, on the fixed thresholds
