"""The digest benchmark's history generator: deterministic, the promised shape, the promised stories."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from itertools import islice

from bench.history_data import END, pipelines, runs, total

# A small history: 60 pipelines (the life-cycle events land on k = 3, 5, 7, 11, 17, 23, ...),
# 30 days, 4 runs a day.
SHAPE = {"count": 60, "days": 30, "per_day": 4}
KEYS = {
    "pipeline": str,
    "job_id": str,
    "project": str,
    "project_number": str,
    "region": str,
    "state": str,
    "create_time": datetime,
    "start_time": datetime,
    "end_time": datetime,
    "duration_s": float,
    "cached": bool,
    "failed_tasks": list,
    "error": str,
    "labels": dict,
    "schedule_name": str,
}


def history() -> list[dict]:
    return list(runs(**SHAPE))


def test_same_seed_same_history_other_seed_another() -> None:
    first, second = history(), history()
    assert first == second
    other = list(runs(**SHAPE, seed=24))
    assert len(other) == total(**SHAPE, seed=24)
    assert [r["job_id"] for r in other[:50]] != [r["job_id"] for r in first[:50]]


def test_a_pipelines_history_does_not_depend_on_how_many_others_there_are() -> None:
    name = pipelines(10, 30)[4].name
    assert pipelines(60, 30)[4].name == name
    few = [r for r in runs(count=10, days=30, per_day=4) if r["pipeline"] == name]
    many = [r for r in history() if r["pipeline"] == name]
    assert few == many and len(few) == 30 * 4


def test_shape_and_types() -> None:
    records = history()
    assert len(records) == total(**SHAPE)
    assert 60 * 30 * 4 * 0.9 < len(records) < 60 * 30 * 4  # a few pipelines start late or stop early
    assert len({r["job_id"] for r in records}) == len(records)
    start = END - timedelta(days=30)
    previous = start
    for record in records:
        assert {key: type(value) for key, value in record.items()} == KEYS
        assert record["create_time"].tzinfo == timezone.utc
        assert start <= record["create_time"] < END
        assert record["create_time"] >= previous - timedelta(hours=6)  # streamed slot by slot
        previous = max(previous, record["create_time"])
        assert record["create_time"] < record["start_time"] < record["end_time"]
        elapsed = (record["end_time"] - record["start_time"]).total_seconds()
        assert abs(elapsed - record["duration_s"]) < 1e-3
        assert record["job_id"].startswith(record["pipeline"] + "-")
        assert record["job_id"].endswith(record["create_time"].strftime("%Y%m%d%H%M%S"))
        assert set(record["labels"]) == {"team", "env"}
        assert record["state"] in {"SUCCEEDED", "FAILED", "CANCELLED"}
        if record["state"] == "FAILED":
            assert record["failed_tasks"] and record["error"]
        else:
            assert not record["failed_tasks"] and not record["error"]
        if record["cached"]:
            assert record["state"] == "SUCCEEDED" and record["duration_s"] < 120


def test_mostly_succeeded_some_failed_a_few_cancelled_some_cached() -> None:
    records = history()
    share = {
        state: sum(r["state"] == state for r in records) / len(records) for state in ("FAILED", "CANCELLED")
    }
    assert 0.01 < share["FAILED"] < 0.15
    assert 0 < share["CANCELLED"] < 0.01
    assert 0.005 < sum(r["cached"] for r in records) / len(records) < 0.2
    assert len({r["region"] for r in records}) >= 2 and len({r["project"] for r in records}) >= 2


def test_durations_are_per_pipeline_with_noise_and_slow_outliers() -> None:
    by_pipeline = defaultdict(list)
    for record in runs(count=12, days=60, per_day=24):
        if record["state"] == "SUCCEEDED" and not record["cached"]:
            by_pipeline[record["pipeline"]].append(record["duration_s"])
    medians = {name: statistics.median(values) for name, values in by_pipeline.items()}
    assert max(medians.values()) > 3 * min(medians.values())  # pipelines differ
    for values in by_pipeline.values():
        median = statistics.median(values)
        assert statistics.quantiles(values, n=4)[2] < 2 * median  # noise, not chaos
        assert max(values) > 1.6 * median  # the long tail (outliers, trends, regressions)


def test_the_stories_the_digest_needs() -> None:
    profiles = {p.index: p for p in pipelines(**{"count": 60, "days": 30})}
    records = history()
    last_days = END - timedelta(days=10)
    stopped = profiles[11].name
    assert any(r["pipeline"] == stopped for r in records)
    assert not any(r["pipeline"] == stopped and r["create_time"] >= last_days for r in records)
    new = profiles[23].name
    assert min(r["create_time"] for r in records if r["pipeline"] == new) >= END - timedelta(days=20)
    renamed = profiles[7]
    assert renamed.renamed_from and {r["pipeline"] for r in records} >= {renamed.name, renamed.renamed_from}
    broken = [
        r
        for r in records
        if r["pipeline"] == profiles[3].name and r["create_time"] >= END - timedelta(days=2)
    ]
    assert len(broken) == 8 and all(r["state"] == "FAILED" for r in broken)
    assert any(r["schedule_name"].startswith("projects/") for r in records)


def test_streamed_not_materialised() -> None:
    stream = runs()  # the full 200 x 90 x 24: only what is asked for is made
    assert len(list(islice(stream, 1000))) == 1000
    assert total() > 400_000
