"""No run ends unnoticed: job events beside the stub, routing by labels, and the sweep, end to end.

Pub/Sub emulator push → the function → Vertex stand-in (get and list) → Firestore emulator
claims → Slack stand-in. Every run here has its own job id: claims outlive a test.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import LocalStack
from tests.support.paths import DATA

pytestmark = pytest.mark.emulator

EVENTS = DATA / "events"
NUMBER = "271009669852"
SOURCES_CLAIMS = "sources-claims"
ROUTES = [
    {"match": {"labels": {"team": "data-*"}}, "channel": "C0DATAENG"},
    {"match": {"pipeline": "nightly-*"}, "channel": "C0NIGHTLY", "stuck_after_hours": 48},
]
_runs = itertools.count(1)


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": SOURCES_CLAIMS,
        "SLACK_ROUTES": json.dumps(ROUTES),
        "SWEEP_TOPIC": pubsub_emulator.create_topic("sources-sweep"),
        "SWEEP_PROJECTS": "acme-ml-prod",
        "SWEEP_REGIONS": "us-central1,europe-west4",
        "SWEEP_AFTER_HOURS": "12",
    }
    with LocalStack.start(tmp_path_factory.mktemp("sources"), emulator=pubsub_emulator, env=env) as stack:
        stack.vertex.load_jobs(EVENTS)
        stack.vertex.project_numbers["acme-ml-prod"] = NUMBER
        yield stack


@pytest.fixture
def route(fresh: LocalStack):
    return fresh.add_route()


def scoring_run(stack: LocalStack, exit_state: int) -> tuple[str, bytes, bytes]:
    """A new run of the churn-scoring pipeline (real KFP spec with the stub) in the stand-in.

    Returns its job id, the stub's final status (project number, as Vertex hands it over)
    and its job event (project id, as the log name has it).
    """
    job = load("churn-scoring-20261127070000.job.json")
    job_id = f"churn-scoring-e2e{next(_runs)}"
    job["name"] = job["name"].rsplit("/", 1)[0] + "/" + job_id
    job["displayName"] = job_id
    exit_task = next(t for t in job["jobDetail"]["taskDetails"] if t["taskName"] == "pubsub-exit-handler")
    exit_task["state"] = exit_state
    stack.vertex.add_job(job)
    status = load("churn-scoring-20261127070000.status.json")
    status["pipelineJobResourceName"] = job["name"]
    entry = load("churn-scoring-stub-succeeded.logentry.json")
    entry["resource"]["labels"]["pipeline_job_id"] = job_id
    return job_id, json.dumps(status).encode(), json.dumps(entry).encode()


def log_since(stack: LocalStack, start: int) -> str:
    return stack.function.log_text()[start:]


def wait_for_log(stack: LocalStack, start: int, text: str, count: int = 1) -> None:
    wait_until(
        lambda: log_since(stack, start).count(text) >= count,
        timeout=30,
        message=lambda: f"{count} x {text!r} in the function log:\n{log_since(stack, start)[-3000:]}",
    )


def posts_for(stack: LocalStack, job_id: str) -> list:
    return [p for p in stack.slack.messages() if job_id in json.dumps(p.body)]


STUB_ATTRIBUTES = {"slack_channel_id": "C0CHURN01", "gcp_region": "us-central1"}


def test_a_run_without_the_stub_is_reported_from_its_event_in_the_label_routed_channel(fresh, route) -> None:
    fresh.publish(route, (EVENTS / "feature-backfill-failed.logentry.json").read_bytes())
    [posted] = wait_until(lambda: fresh.slack.messages(), timeout=30, message="the event's message")
    assert posted.channel == "C0DATAENG"  # rule: team=data-*
    body = json.dumps(posted.body)
    assert posted.body["text"].startswith(":scream: Pipeline job *feature-backfill-20261127020000* failed.")
    assert "DeadlineExceeded" in body  # the failed task's own error, from Vertex
    assert "job event" in body


def test_stub_first_then_event_posts_once_in_the_stubs_channel(fresh, route) -> None:
    job_id, status, event = scoring_run(fresh, exit_state=3)
    start = len(fresh.function.log_text())
    fresh.publish(route, status, STUB_ATTRIBUTES)
    [posted] = wait_until(lambda: posts_for(fresh, job_id), timeout=30, message="the stub's message")
    fresh.publish(route, event)
    wait_for_log(fresh, start, "Covered: the pipeline's exit-handler stub succeeded")
    assert posted.channel == "C0CHURN01"
    assert len(posts_for(fresh, job_id)) == 1


def test_event_first_then_stub_posts_once_in_the_stubs_channel(fresh, route) -> None:
    job_id, status, event = scoring_run(fresh, exit_state=3)
    start = len(fresh.function.log_text())
    fresh.publish(route, event)
    wait_for_log(fresh, start, "Covered: the pipeline's exit-handler stub succeeded")
    assert posts_for(fresh, job_id) == []
    fresh.publish(route, status, STUB_ATTRIBUTES)
    [posted] = wait_until(lambda: posts_for(fresh, job_id), timeout=30, message="the stub's message")
    assert posted.channel == "C0CHURN01"


def test_a_run_whose_exit_handler_failed_is_reported_from_its_event_once(fresh, route) -> None:
    job_id, status, event = scoring_run(fresh, exit_state=7)
    start = len(fresh.function.log_text())
    fresh.publish(route, event)
    [posted] = wait_until(lambda: posts_for(fresh, job_id), timeout=30, message="the event's message")
    # Where the stub would have sent it: its settings, read from the pipeline spec.
    assert posted.channel == "C0CHURN01"
    assert "ended FAILED; reporting from the job event" in log_since(fresh, start)
    # Had the stub's message got through after all (project number, where the event had the
    # project id), it is the same run and state: a duplicate.
    fresh.publish(route, status, STUB_ATTRIBUTES)
    wait_for_log(fresh, start, "Duplicate delivery")
    assert len(posts_for(fresh, job_id)) == 1


MALFORMED = {
    "another log": lambda e: e.update(
        logName="projects/acme-ml-prod/logs/cloudaudit.googleapis.com%2Factivity"
    ),
    "another resource": lambda e: e["resource"].update(type="gce_instance"),
    "no state": lambda e: e["jsonPayload"].pop("state"),
    "no job id": lambda e: e["resource"]["labels"].pop("pipeline_job_id"),
}


def test_malformed_log_entries_are_acknowledged_with_an_error_naming_why(fresh, route) -> None:
    start = len(fresh.function.log_text())
    ids = {}
    for name, change in MALFORMED.items():
        entry = load("feature-backfill-failed.logentry.json")
        change(entry)
        ids[name] = fresh.publish(route, json.dumps(entry).encode())
    expected = {
        "another log": "not the aiplatform.googleapis.com%2Fpipeline_job_events log",
        "another resource": "resource type is 'gce_instance'",
        "no state": "has no jsonPayload.state",
        "no job id": "lack the job id",
    }
    for name, message_id in ids.items():
        wait_until(
            lambda mid=message_id, n=name: any(
                f"[msg={mid} " in line and " ERROR " in line and expected[n] in line
                for line in log_since(fresh, start).splitlines()
            ),
            timeout=30,
            message=lambda n=name: f"the ERROR for {n}",
        )
    assert "will redeliver" not in log_since(fresh, start)
    assert fresh.slack.messages() == []


def stuck_job(job_id: str, region: str, age_hours: float, **labels: str) -> dict:
    created = datetime.now(timezone.utc) - timedelta(hours=age_hours)
    return {
        "name": f"projects/{NUMBER}/locations/{region}/pipelineJobs/{job_id}",
        "displayName": job_id,
        "createTime": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "startTime": created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "state": 3,
        "labels": labels,
        "pipelineSpec": {"pipelineInfo": {"name": job_id.rsplit("-", 1)[0]}},
    }


def _an_interval_later(firestore: FirestoreEmulator) -> None:
    """Forget the last sweep's time, as if SWEEP_MIN_INTERVAL_MINUTES had passed."""
    from google.cloud import firestore as client

    with patch.dict(os.environ, firestore.env):
        client.Client(project=firestore.project).collection(SOURCES_CLAIMS).document(
            "sweep-interval"
        ).delete()


def test_a_sweep_on_the_status_topic_is_refused(fresh, route) -> None:
    fresh.vertex.list_requests.clear()
    start = len(fresh.function.log_text())
    fresh.publish(route, b"{}", {"action": "sweep"})
    wait_for_log(fresh, start, "only SWEEP_TOPIC")
    assert fresh.vertex.list_requests == []


def test_the_sweep_warns_once_per_stuck_run_however_often_it_runs(fresh, firestore) -> None:
    route = fresh.add_route(topic=fresh.function.env["SWEEP_TOPIC"])
    runs = [
        stuck_job("train-stuck-20261126010000", "us-central1", 30),
        stuck_job("etl-stuck-20261126020000", "europe-west4", 20, team="data-eng"),
        stuck_job("nightly-slow-20261126030000", "us-central1", 30),  # its rule allows 48 h
        stuck_job("train-fresh-20261127110000", "us-central1", 1),
    ]
    for run in runs:
        fresh.vertex.add_job(copy.deepcopy(run))
    fresh.vertex.list_requests.clear()
    start = len(fresh.function.log_text())
    for sweep in (1, 2, 3):
        fresh.publish(route, b"{}", {"action": "sweep"})
        wait_for_log(fresh, start, "Sweep listed", count=sweep)
        # Within the interval another sweep is acknowledged and lists nothing.
        fresh.publish(route, b"{}", {"action": "sweep"})
        wait_for_log(fresh, start, "Sweep skipped", count=sweep)
        _an_interval_later(firestore)
    posts = fresh.slack.messages()
    assert sorted((p.channel, p.body["text"]) for p in posts) == [
        (
            "C0DATAENG",
            ":hourglass_flowing_sand: Pipeline job *etl-stuck-20261126020000* is still running (running).",
        ),
        (
            "C0DEFAULT1",
            ":hourglass_flowing_sand: Pipeline job *train-stuck-20261126010000* is still running (running).",
        ),
    ]
    assert log_since(fresh, start).count("Duplicate delivery") == 4  # sweeps 2 and 3
    # One list call per region and sweep, each with the filter for the earliest threshold (12 h).
    assert [r.parent.rsplit("/", 1)[-1] for r in fresh.vertex.list_requests] == [
        "us-central1",
        "europe-west4",
    ] * 3
    assert all(
        'create_time<"' in r.filter and 'state="PIPELINE_STATE_RUNNING"' in r.filter
        for r in fresh.vertex.list_requests
    )
