"""The weekly digest end to end: runs recorded, a digest request on the sweep topic, one message
per channel with the right figures, nothing twice, nothing for a channel with nothing to say.

Pub/Sub emulator push (the sweep topic) → the function → Firestore emulator (run history,
claims) → Slack and Google Chat stand-ins. Two weeks of runs are written to the history as
the function writes them (``FirestoreHistory``); one more run is recorded by the function
itself, from its exit handler's message, so the digest counts it with the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import pytest

from notifier.state.history import FirestoreHistory
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import LocalStack
from tests.support.digestdata import NUMBER, record, story

pytestmark = pytest.mark.emulator

CLAIMS = "digest-claims"
RUNS = "digest-runs"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
END = NOW + timedelta(hours=1)  # the digest's period ends after the run the function records
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def shifted(runs: list, prefix: str) -> list:
    """``story``'s runs moved to end by ``END`` and renamed (documents outlive a test)."""
    delta = END - datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
    return [
        replace(
            r,
            name=f"{r.name}-{prefix}",
            job_id=f"{r.job_id}-{prefix}",
            create_time=r.create_time + delta,
            start_time=r.start_time + delta,
            end_time=r.end_time + delta,
        )
        for r in runs
    ]


@pytest.fixture(scope="module")
def history(firestore: FirestoreEmulator) -> Iterator[FirestoreHistory]:
    """Two weeks of three pipelines in C0DEFAULT1 and in Chat's ml-alerts, one pipeline in C0DATAENG,
    and runs too old for any digest in C0EMPTY."""
    from google.cloud import firestore as client

    with patch.dict(os.environ, firestore.env):
        store = FirestoreHistory(client.Client(project=firestore.project), RUNS)
        runs = shifted(story("slack:C0DEFAULT1"), "a") + shifted(story("google_chat:ml-alerts"), "c")
        runs += [
            record(
                f"feature-{n}",
                "feature-build",
                "SUCCEEDED",
                NOW - timedelta(days=n, hours=2),
                targets=("slack:C0DATAENG",),
            )
            for n in range(3)
        ]
        runs += [record("ancient", "old", "SUCCEEDED", NOW - timedelta(days=40), targets=("slack:C0EMPTY",))]
        written, _ = store.record_many(runs)
        assert written == len(runs)
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
        "SWEEP_TOPIC": pubsub_emulator.create_topic("digest-sweep"),
        "SWEEP_PROJECTS": "acme-ml-prod",
        "SWEEP_REGIONS": "us-central1",
        "CHECK_SCHEDULES": "false",
    }
    with LocalStack.start(tmp_path_factory.mktemp("digest"), emulator=pubsub_emulator, env=env) as stack:
        stack.vertex.project_numbers["acme-ml-prod"] = NUMBER
        yield stack


def wait_for_log(stack: LocalStack, start: int, text: str, count: int = 1) -> None:
    wait_until(
        lambda: stack.function.log_text()[start:].count(text) >= count,
        timeout=30,
        message=lambda: (
            f"{count} x {text!r} in the function log:\n{stack.function.log_text()[start:][-3000:]}"
        ),
    )


def record_a_run(stack: LocalStack) -> None:
    """A failed run of nightly-train, through the function: posted, and recorded in the history."""
    job_id = "nightly-train-live"
    name = f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{job_id}"
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    stack.vertex.add_job(
        {
            "name": name,
            "displayName": job_id,
            "createTime": (NOW - timedelta(hours=1)).strftime(stamp),
            "startTime": (NOW - timedelta(hours=1)).strftime(stamp),
            "endTime": NOW.strftime(stamp),
            "state": 5,  # FAILED
            "pipelineSpec": {"pipelineInfo": {"name": "nightly-train"}},
        }
    )
    route = stack.add_route()
    status = {"state": "FAILED", "pipelineJobResourceName": name, "pipelineTaskName": job_id}
    stack.publish(route, json.dumps(status).encode())
    wait_until(lambda: stack.slack.messages(), timeout=30, message="the run's own notice")


def digests(stack: LocalStack) -> list:
    return [p for p in stack.slack.messages() if p.body["text"].startswith("Weekly digest")]


def test_a_digest_per_channel_once_and_none_for_an_empty_one(
    fresh: LocalStack, history: FirestoreHistory
) -> None:
    record_a_run(fresh)
    wait_until(
        lambda: history.load(f"projects/{NUMBER}/locations/us-central1/pipelineJobs/nightly-train-live"),
        timeout=30,
        message="the run in the history",
    )
    sweep = fresh.add_route(topic=fresh.function.env["SWEEP_TOPIC"])
    period = {"period_start": (END - timedelta(days=7)).strftime(STAMP), "period_end": END.strftime(STAMP)}
    start = len(fresh.function.log_text())
    fresh.publish(sweep, b"{}", {"action": "digest", **period})
    wait_for_log(fresh, start, "Digest of")
    posts = {p.channel: p for p in digests(fresh)}
    assert sorted(posts) == ["C0DATAENG", "C0DEFAULT1"]  # C0EMPTY: nothing to say
    default = json.dumps(posts["C0DEFAULT1"].body["blocks"], ensure_ascii=False)
    # nightly-train: the story's 7 runs and the one the function recorded, 3 of them failed.
    assert "*nightly-train*: 8 runs, 62.5% succeeded (\u221238 pts), 3 failed" in default
    assert (
        "*etl-daily*: 3 failed runs in a row" in default
        and "*weekly-report*: 7 runs in the previous period" in default
    )
    assert "&lt;!channel&gt;" in default and "<!channel>" not in default
    assert "*feature-build*: 3 runs, 100% succeeded" in json.dumps(posts["C0DATAENG"].body["blocks"])
    chat = fresh.chat.in_space("AAAAmlalerts")
    assert len(chat) == 1 and "11 runs of 2 pipeline(s)" in json.dumps(chat[0].body, ensure_ascii=False)

    # Delivered again (and asked for again): nothing is posted twice.
    fresh.publish(sweep, b"{}", {"action": "digest", **period})
    wait_for_log(fresh, start, "Digest of", count=2)
    wait_for_log(fresh, start, "Duplicate delivery", count=3)
    assert len(digests(fresh)) == 2 and len(fresh.chat.in_space("AAAAmlalerts")) == 1


def test_a_digest_from_another_topic_or_with_a_bad_period_is_rejected(fresh: LocalStack) -> None:
    start = len(fresh.function.log_text())
    other = fresh.add_route()
    fresh.publish(other, b"{}", {"action": "digest"})
    wait_for_log(fresh, start, "only SWEEP_TOPIC")
    sweep = fresh.add_route(topic=fresh.function.env["SWEEP_TOPIC"])
    fresh.publish(sweep, b"{}", {"action": "digest", "period_start": "last monday"})
    wait_for_log(fresh, start, "period_start 'last monday' is not an RFC 3339 time")
    assert digests(fresh) == []
