"""The handler's run history hooks, in process (Slack and Vertex stand-ins, the Firestore
emulator): only confirmed final runs are recorded, a slow success under on_failure_only, and
Firestore being down costs a WARNING, never the message."""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from notifier.history_rules import RunRecord
from notifier.model import Outcome
from notifier.state.history import FirestoreHistory
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import free_port
from sandbox.slack_standin import SlackStandin
from sandbox.stack import push_body
from sandbox.vertex_standin import VertexStandin
from tests.support.inprocess import make_notifier

pytestmark = pytest.mark.emulator

NUMBER = "271009669852"
END = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
_ids = itertools.count(1)


@pytest.fixture
def env(firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in firestore.env.items():
        monkeypatch.setenv(key, value)
    n = next(_ids)
    return {
        **firestore.env,
        "DEDUP_COLLECTION": f"handler-claims-{n}",
        "RUNS_COLLECTION": f"handler-runs-{n}",
    }


@pytest.fixture
def history(env: dict[str, str], firestore: FirestoreEmulator) -> FirestoreHistory:
    from google.cloud import firestore as fs

    return FirestoreHistory(fs.Client(project=firestore.project), env["RUNS_COLLECTION"])


@pytest.fixture
def stand(standins: tuple[SlackStandin, VertexStandin]) -> Iterator[tuple[SlackStandin, VertexStandin]]:
    slack, vertex = standins
    slack.reset()
    vertex.fail_all = None
    yield standins
    vertex.fail_all = None


def run(vertex: VertexStandin, pipeline: str, minutes: float, state: int = 4) -> tuple[str, dict]:
    """A run of ``pipeline`` that ended at END after ``minutes``; its resource name and push body."""
    job_id = f"{pipeline}-{next(_ids)}"
    name = f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{job_id}"
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    vertex.add_job(
        {
            "name": name,
            "displayName": job_id,
            "state": state,
            "createTime": (END - timedelta(minutes=minutes)).strftime(stamp),
            "startTime": (END - timedelta(minutes=minutes)).strftime(stamp),
            "endTime": END.strftime(stamp),
            "pipelineSpec": {"pipelineInfo": {"name": pipeline}},
        }
    )
    status = {"state": "SUCCEEDED", "pipelineJobResourceName": name, "pipelineTaskName": job_id}
    return name, push_body(json.dumps(status).encode(), message_id=job_id)


def seed(history: FirestoreHistory, pipeline: str, minutes: float = 40, count: int = 10) -> None:
    for n in range(count):
        end = END - timedelta(days=n + 1)
        history.record(
            RunRecord(
                name=f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{pipeline}-seed{n}",
                project=NUMBER,
                region="us-central1",
                job_id=f"{pipeline}-seed{n}",
                pipeline=pipeline,
                display_name="",
                state="SUCCEEDED",
                create_time=end - timedelta(minutes=minutes),
                start_time=end - timedelta(minutes=minutes),
                end_time=end,
                duration=timedelta(minutes=minutes),
            )
        )


def test_a_slow_success_is_posted_under_on_failure_only_unless_told_not_to(stand, env, history) -> None:
    slack, vertex = stand
    seed(history, "nightly")
    name, body = run(vertex, "nightly", 120)
    assert make_notifier(stand, ON_FAILURE_ONLY="true", **env).handle(body) is Outcome.POSTED
    assert "Took 2h 00m, 3.0\u00d7 its usual 40m" in json.dumps(slack.messages()[0].body, ensure_ascii=False)
    name, body = run(vertex, "nightly", 120)
    quiet = make_notifier(stand, ON_FAILURE_ONLY="true", NOTIFY_SLOW_SUCCESS="false", **env)
    assert quiet.handle(body) is Outcome.SKIPPED
    assert history.load(name) is not None  # skipped, and recorded all the same
    # A usual success under on_failure_only: nothing to say, recorded.
    name, body = run(vertex, "nightly", 41)
    assert make_notifier(stand, ON_FAILURE_ONLY="true", **env).handle(body) is Outcome.SKIPPED
    assert len(slack.messages()) == 1 and history.load(name) is not None


def test_unverified_and_refuted_notices_are_never_recorded(stand, env, history) -> None:
    slack, vertex = stand
    seed(history, "weekly")
    name, body = run(vertex, "weekly", 300)
    vertex.fail_all = 503  # Vertex AI cannot confirm: posted, marked, no line, not recorded
    assert make_notifier(stand, **env).handle(body) is Outcome.POSTED
    assert "usual" not in json.dumps(slack.messages()[0].body) and history.load(name) is None
    vertex.fail_all = None
    name, body = run(vertex, "weekly", 30, state=5)  # the status says SUCCEEDED, Vertex FAILED
    assert make_notifier(stand, **env).handle(body) is Outcome.REJECTED
    assert history.load(name) is None


def test_firestore_down_is_a_warning_and_the_message_goes_out(
    stand, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    slack, vertex = stand
    dead = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", dead)
    notifier = make_notifier(
        stand,
        FIRESTORE_EMULATOR_HOST=dead,
        GOOGLE_CLOUD_PROJECT="local-project",
        DEDUP_COLLECTION="c",
        SLACK_THREADS="false",
    )
    _, body = run(vertex, "daily", 30)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert notifier.handle(body) is Outcome.POSTED
    assert time.monotonic() - started < 40
    assert "no usual time" in caplog.text and "not recorded" in caplog.text
    assert len(slack.messages()) == 1
    assert os.environ["FIRESTORE_EMULATOR_HOST"] == dead
