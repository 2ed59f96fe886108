"""The run history store on the Firestore emulator: written once, read by pipeline and by channel."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from notifier.history_rules import Policy, RunRecord
from notifier.state import history as history_module
from notifier.state.history import FirestoreHistory, from_document, to_document
from sandbox.firestore_emulator import FirestoreEmulator

pytestmark = pytest.mark.emulator

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)
_pipelines = itertools.count(1)


def run(pipeline: str, n: int, minutes: float = 40, **changes: object) -> RunRecord:
    """Run ``n`` of ``pipeline``: started n hours after T0, taking ``minutes``."""
    start = T0 + timedelta(hours=n)
    record = RunRecord(
        name=f"projects/271009669852/locations/us-central1/pipelineJobs/{pipeline}-{n}",
        project="271009669852",
        region="us-central1",
        job_id=f"{pipeline}-{n}",
        pipeline=pipeline,
        display_name=f"{pipeline}-{n}",
        state="SUCCEEDED",
        create_time=start,
        start_time=start,
        end_time=start + timedelta(minutes=minutes),
        duration=timedelta(minutes=minutes),
        targets=("slack:C0123ABCD",),
        source="exit_handler",
    )
    return replace(record, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store(firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FirestoreHistory]:
    from google.cloud import firestore as fs

    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    yield FirestoreHistory(fs.Client(project=firestore.project), "test-runs", days=90, clock=lambda: NOW)


@pytest.fixture
def pipeline() -> str:
    """A pipeline no other test uses (documents outlive a test)."""
    return f"nightly-{next(_pipelines)}"


def test_a_run_is_recorded_once_and_read_back(store: FirestoreHistory, pipeline: str) -> None:
    first = run(pipeline, 1, labels=(("team", "growth"),), failed_tasks=("Trainer",), state="FAILED")
    assert store.record(first)
    ref = store.collection.document(history_module.document_id(first.name))
    written = ref.get().update_time
    # A redelivery, the job event after the exit handler, a backfill: nothing changes.
    assert not store.record(replace(first, state="SUCCEEDED", source="job_event"))
    assert ref.get().update_time == written
    assert store.load(first.name) == first
    stored = ref.get().to_dict()
    assert stored["expires_at"] == first.end_time + timedelta(days=90)
    assert stored["pipeline_key"] == f"271009669852/{pipeline}" and stored["counts"] is False


def test_the_baseline_is_the_latest_earlier_runs_that_count(store: FirestoreHistory, pipeline: str) -> None:
    for n in range(30):
        store.record(run(pipeline, n, minutes=10 + n))
    store.record(run(pipeline, 100, minutes=1, fully_cached=True))  # cached: no work
    store.record(run(pipeline, 101, minutes=1, state="FAILED"))  # failed early
    store.record(run(pipeline, 102, duration=None))  # times that did not allow a duration
    store.record(run(f"{pipeline}-renamed", 103, minutes=500))  # another pipeline
    policy = Policy(baseline_runs=20)
    baseline = store.baseline(f"271009669852/{pipeline}", NOW, policy)
    assert baseline is not None and baseline.durations == tuple(
        float((10 + n) * 60) for n in range(29, 9, -1)
    )
    # Only runs that ended before the one being judged.
    before = run(pipeline, 8).end_time
    assert store.baseline(f"271009669852/{pipeline}", before, policy) is not None
    assert store.baseline(f"271009669852/{pipeline}", run(pipeline, 3).end_time, policy) is None  # 3 runs
    assert store.baseline(f"271009669852/{pipeline}-renamed", NOW, policy) is None  # 1 run


def test_the_runs_of_a_period_page_by_page(
    store: FirestoreHistory, pipeline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "PAGE_SIZE", 3)
    channel = f"slack:C{pipeline.upper().replace('-', '')}"
    for n in range(10):
        store.record(run(pipeline, n, targets=(channel, "google_chat:ml-alerts")))
    store.record(run(pipeline, 50, targets=("slack:COTHER",)))
    start, end = run(pipeline, 2).end_time, run(pipeline, 9).end_time
    # Other tests' runs share the collection and the times: this pipeline's, in order.
    runs = [r for r in store.runs_between(start, end) if r.pipeline == pipeline]
    assert [r.job_id for r in runs] == [f"{pipeline}-{n}" for n in range(2, 9)]
    assert runs[0].targets == (channel, "google_chat:ml-alerts")
    later = [r for r in store.runs_between(start, NOW) if r.pipeline == pipeline]
    assert [r.job_id for r in later] == [f"{pipeline}-{n}" for n in (*range(2, 10), 50)]


def test_a_malformed_document_is_skipped(
    store: FirestoreHistory, pipeline: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = run(pipeline, 1)
    store.record(good)
    document = to_document(run(pipeline, 2), NOW, timedelta(days=1))
    document["state"] = 7
    store.collection.document(f"bad-{pipeline}").set(document)
    assert from_document(document) is None
    with caplog.at_level(logging.WARNING, logger="notifier.history"):
        runs = [r for r in store.runs_between(T0, NOW) if r.pipeline == pipeline]
    assert runs == [good] and "malformed run document" in caplog.text


def test_firestore_down_is_a_warning_never_an_error(
    caplog: pytest.LogCaptureFixture, unreachable_firestore
) -> None:
    dead = FirestoreHistory(unreachable_firestore, "test-runs")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="notifier.history"):
        assert not dead.record(run("p", 1))
        assert dead.baseline("271009669852/p", NOW, Policy()) is None
    assert time.monotonic() - started < 25
    assert "p-1 not recorded" in caplog.text and "no usual time" in caplog.text
