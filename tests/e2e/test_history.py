"""Run history end to end: a history of runs in Firestore, a slow run gets its line, a run
still going past its pipeline's p95 is warned about once and, when it ends, gets a reply in
that warning's thread.

Pub/Sub emulator push → the function → Vertex stand-in (get and list) → Firestore emulator
(claims and run history) → Slack stand-in. ``ON_FAILURE_ONLY`` is on: only a slow success
(``NOTIFY_SLOW_SUCCESS``) is posted.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import pytest

from notifier.history_rules import Policy, RunRecord
from notifier.state.history import FirestoreHistory
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import LocalStack

pytestmark = pytest.mark.emulator

NUMBER = "271009669852"
CLAIMS = "history-claims"
RUNS = "history-runs"
PIPELINE = "nightly-train"
NOW = datetime.now(timezone.utc)
RUNNING, SUCCEEDED = 3, 4  # PipelineState as the REST API's enums


@pytest.fixture(scope="module")
def history(firestore: FirestoreEmulator) -> Iterator[FirestoreHistory]:
    """The run history the function reads, seeded with 20 runs of 36 to 45 minutes over 20 days."""
    from google.cloud import firestore as client

    with patch.dict(os.environ, firestore.env):
        store = FirestoreHistory(client.Client(project=firestore.project), RUNS)
        for n in range(20):
            start = NOW - timedelta(days=20 - n)
            took = timedelta(minutes=36 + n % 10)
            store.record(
                RunRecord(
                    name=f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{PIPELINE}-past{n}",
                    project=NUMBER,
                    region="us-central1",
                    job_id=f"{PIPELINE}-past{n}",
                    pipeline=PIPELINE,
                    display_name=f"{PIPELINE}-past{n}",
                    state="SUCCEEDED",
                    create_time=start,
                    start_time=start,
                    end_time=start + took,
                    duration=took,
                    targets=("slack:C0DEFAULT1",),
                    source="exit_handler",
                )
            )
        yield store


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator,
    firestore: FirestoreEmulator,
    history: FirestoreHistory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalStack]:
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": CLAIMS,
        "RUNS_COLLECTION": RUNS,
        "ON_FAILURE_ONLY": "true",
        "SWEEP_TOPIC": pubsub_emulator.create_topic("history-sweep"),
        "SWEEP_PROJECTS": "acme-ml-prod",
        "SWEEP_REGIONS": "us-central1",
    }
    with LocalStack.start(tmp_path_factory.mktemp("history"), emulator=pubsub_emulator, env=env) as stack:
        stack.vertex.project_numbers["acme-ml-prod"] = NUMBER
        yield stack


def job(job_id: str, started: datetime, ended: datetime | None) -> dict:
    """A run of the pipeline as the REST API returns it (no exit-handler stub in its spec)."""
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    document = {
        "name": f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{job_id}",
        "displayName": job_id,
        "createTime": started.strftime(stamp),
        "startTime": started.strftime(stamp),
        "state": RUNNING if ended is None else SUCCEEDED,
        "pipelineSpec": {"pipelineInfo": {"name": PIPELINE}},
    }
    if ended is not None:
        document["endTime"] = ended.strftime(stamp)
    return document


def status(job_id: str) -> bytes:
    name = f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{job_id}"
    return json.dumps(
        {"state": "SUCCEEDED", "pipelineJobResourceName": name, "pipelineTaskName": job_id}
    ).encode()


def log_since(stack: LocalStack, start: int) -> str:
    return stack.function.log_text()[start:]


def wait_for_log(stack: LocalStack, start: int, text: str, count: int = 1) -> None:
    wait_until(
        lambda: log_since(stack, start).count(text) >= count,
        timeout=30,
        message=lambda: f"{count} x {text!r} in the function log:\n{log_since(stack, start)[-3000:]}",
    )


def test_a_slow_success_gets_its_line_and_every_run_is_recorded(
    fresh: LocalStack, history: FirestoreHistory
) -> None:
    route = fresh.add_route()
    start = len(fresh.function.log_text())
    fresh.vertex.add_job(
        job(f"{PIPELINE}-usual", NOW - timedelta(hours=3), NOW - timedelta(hours=3) + timedelta(minutes=41))
    )
    fresh.vertex.add_job(job(f"{PIPELINE}-slow", NOW - timedelta(hours=2), NOW))
    fresh.publish(route, status(f"{PIPELINE}-usual"))
    wait_for_log(fresh, start, "nothing to send for this run")  # a usual success: nothing to say
    fresh.publish(route, status(f"{PIPELINE}-slow"))
    post = wait_until(lambda: fresh.slack.messages(), timeout=30, message="the slow run's post")[0]
    line = ":turtle: Took 2h 00m, 2.9\u00d7 its usual 41m (median of the last 20 runs)."
    assert line in json.dumps(post.body["blocks"], ensure_ascii=False)
    assert post.body["text"].endswith(line)
    # Both runs are in the history, with where they went; the next baseline has them.
    for name in ("usual", "slow"):
        record = wait_until(
            lambda n=name: history.load(
                f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{PIPELINE}-{n}"
            ),
            timeout=30,
        )
        assert record.targets == ("slack:C0DEFAULT1",) and record.counts and record.source == "exit_handler"
    baseline = history.baseline(f"{NUMBER}/{PIPELINE}", NOW + timedelta(seconds=1), Policy())
    assert baseline is not None and baseline.durations[0] == 7200.0
    # A redelivery posts nothing more and records nothing twice.
    fresh.publish(route, status(f"{PIPELINE}-slow"))
    wait_for_log(fresh, start, "Duplicate delivery")
    wait_for_log(fresh, start, "in the history already")
    assert len(fresh.slack.messages()) == 1


def _an_interval_later(firestore: FirestoreEmulator) -> None:
    """Forget the last sweep's time, as if SWEEP_MIN_INTERVAL_MINUTES had passed."""
    from google.cloud import firestore as client

    with patch.dict(os.environ, firestore.env):
        client.Client(project=firestore.project).collection(CLAIMS).document("sweep-interval").delete()


def test_a_run_past_its_p95_is_warned_once_and_replied_to_when_it_ends(
    fresh: LocalStack, firestore: FirestoreEmulator
) -> None:
    sweep = fresh.add_route(topic=fresh.function.env["SWEEP_TOPIC"])
    route = fresh.add_route()
    job_id = f"{PIPELINE}-late"
    now = datetime.now(timezone.utc)
    started = now - timedelta(hours=2)  # p95 of 36-45 min is about 45 min: late after 1h 30m
    fresh.vertex.add_job(job(job_id, started, None))
    fresh.vertex.add_job(job(f"{PIPELINE}-young", now - timedelta(minutes=40), None))  # not late
    start = len(fresh.function.log_text())
    for number in (1, 2):
        fresh.publish(sweep, b"{}", {"action": "sweep"})
        wait_for_log(fresh, start, "Sweep listed", count=number)
        _an_interval_later(firestore)
    wait_for_log(fresh, start, "Duplicate delivery")  # the second sweep's warning
    warnings = fresh.slack.messages()
    assert len(warnings) == 1 and job_id in warnings[0].body["text"]
    blocks = json.dumps(warnings[0].body["blocks"], ensure_ascii=False)
    assert re.search(
        r":alarm_clock: Running for 2h 0[0-2]m, 2\.\d\u00d7 its usual 4\dm \(p95 of the last 20 runs\)\.",
        blocks,
    )
    # It ends: its own notice (slow, so posted under on_failure_only) and a reply in the warning's thread.
    fresh.vertex.add_job(job(job_id, started, started + timedelta(hours=2, minutes=10)))
    fresh.publish(route, status(job_id))
    replies = wait_until(lambda: fresh.slack.replies(warnings[0].ts), timeout=30, message="the reply")
    assert replies[0].body["text"].startswith(f":tada: {PIPELINE} has ended: it succeeded after 2h 10m")
    wait_until(lambda: len(fresh.slack.messages()) == 3, timeout=30, message="the run's own notice")
    # Delivered again: neither the notice nor the reply is posted twice.
    fresh.publish(route, status(job_id))
    wait_for_log(fresh, start, "Duplicate delivery", count=3)
    assert len(fresh.slack.messages()) == 3 and len(fresh.slack.replies(warnings[0].ts)) == 1
