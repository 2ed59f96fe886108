"""Missed and failed Vertex AI Schedules, end to end: the sweep's check of Schedules.

Pub/Sub emulator push (the sweep topic) → the function → Vertex stand-in (ListSchedules,
ListPipelineJobs) → Firestore emulator claims → Slack stand-in. The function runs on the
real clock, so the Schedules of tests/data/schedules are moved from the moment they
describe to now; each test gives them ids of its own (claims outlive a test).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from unittest.mock import patch

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import LocalStack
from tests.support.scheduledata import NOW, SCHEDULES, document, shifted

pytestmark = pytest.mark.emulator

CLAIMS = "schedules-claims"
ROUTES = [{"match": {"labels": {"team": "data-*"}}, "channel": "C0DATAENG"}]
_ids = itertools.count(7_000_000_000_000_000_001)


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": CLAIMS,
        "ROUTES": json.dumps(ROUTES),
        "SWEEP_TOPIC": pubsub_emulator.create_topic("schedules-sweep"),
        "SWEEP_PROJECTS": "acme-ml-prod",
        "SWEEP_REGIONS": "us-central1",
    }
    with LocalStack.start(tmp_path_factory.mktemp("schedules"), emulator=pubsub_emulator, env=env) as stack:
        stack.vertex.project_numbers["acme-ml-prod"] = "271009669852"
        yield stack


def add_schedules(stack: LocalStack, *cases: str) -> dict[str, str]:
    """The cases' Schedules, as of now, under new ids; returns case -> schedule name."""
    delta = datetime.now(timezone.utc) - NOW
    names = {}
    for case in cases:
        schedule = shifted(document(case), delta)
        schedule["name"] = f"{SCHEDULES}{next(_ids)}"
        stack.vertex.add_schedule(schedule)
        names[case] = schedule["name"]
    return names


def log_since(stack: LocalStack, start: int) -> str:
    return stack.function.log_text()[start:]


def wait_for_log(stack: LocalStack, start: int, text: str, count: int = 1) -> None:
    wait_until(
        lambda: log_since(stack, start).count(text) >= count,
        timeout=30,
        message=lambda: f"{count} x {text!r} in the function log:\n{log_since(stack, start)[-3000:]}",
    )


def an_interval_later(firestore: FirestoreEmulator) -> None:
    """Forget the last sweep's time, as if SWEEP_MIN_INTERVAL_MINUTES had passed."""
    from google.cloud import firestore as client

    with patch.dict(os.environ, firestore.env):
        client.Client(project=firestore.project).collection(CLAIMS).document("sweep-interval").delete()


def test_each_kind_warns_once_and_a_paused_schedule_nothing(
    fresh: LocalStack, firestore: FirestoreEmulator
) -> None:
    names = add_schedules(fresh, "missed-slot", "creation-failed", "completed-end-time", "paused")
    route = fresh.add_route(topic=fresh.function.env["SWEEP_TOPIC"])
    start = len(fresh.function.log_text())
    try:
        fresh.publish(route, b"{}", {"action": "sweep"})
        wait_until(
            lambda: len(fresh.slack.messages()) >= 3, timeout=30, message="the three schedule warnings"
        )
        wait_for_log(fresh, start, "Schedule check listed")
        # Within the interval another sweep lists nothing; an interval later one finds the same
        # slots, and their claims keep it from posting them again.
        fresh.publish(route, b"{}", {"action": "sweep"})
        wait_for_log(fresh, start, "Sweep skipped")
        an_interval_later(firestore)
        fresh.publish(route, b"{}", {"action": "sweep"})
        wait_for_log(fresh, start, "Schedule check listed", count=2)
        wait_for_log(fresh, start, "Duplicate delivery", count=3)
    finally:
        for name in names.values():
            del fresh.vertex.schedules[name]
        an_interval_later(firestore)
    posts = sorted((p.channel, p.body["text"]) for p in fresh.slack.messages())
    assert [channel for channel, _ in posts] == ["C0DATAENG", "C0DEFAULT1", "C0DEFAULT1"]
    texts = [text for _, text in posts]
    assert texts[0].startswith(":alarm_clock: Scheduled run of *feature-backfill* did not start: due ")
    assert texts[0].endswith("(cron `0 10 * * *`), 2h ago")
    assert texts[1].startswith(":checkered_flag: Schedule *holiday-forecast-daily* ended: its end time, ")
    assert texts[2].startswith(":warning: Scheduled run of *fraud-retrain* could not be created: due ")
    body = json.dumps([p.body for p in fresh.slack.messages()])
    assert "PERMISSION_DENIED" in body and names["paused"].rsplit("/", 1)[-1] not in body
    # Each warning's slot was looked up only where it was late: the missed slot's runs.
    lookups = [r.filter for r in fresh.vertex.list_requests if "schedule_name" in r.filter]
    assert lookups and all(names["missed-slot"] in f for f in lookups)
