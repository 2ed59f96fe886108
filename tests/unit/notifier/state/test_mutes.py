"""Acknowledgements and mutes (``state.mutes``) on the Firestore emulator.

Each test has pipelines of its own (documents outlive a test); the store's clock is the
test's, so expiries are stepped over rather than waited for.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from notifier.model import FAILED, SUCCEEDED
from notifier.state.mutes import FirestoreMutes, MutesUnavailableError
from sandbox.firestore_emulator import FirestoreEmulator
from tests.support.concurrency import together

pytestmark = pytest.mark.emulator

T0 = datetime(2026, 12, 1, 10, 42, tzinfo=timezone.utc)
RUN = "projects/271009669852/locations/us-central1/pipelineJobs/nightly-1"
_pipelines = itertools.count(1)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch):
    from google.cloud import firestore as fs

    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    return fs.Client(project=firestore.project)


@pytest.fixture
def mutes(client, clock: Clock) -> Iterator[FirestoreMutes]:
    yield FirestoreMutes(client, "test-mutes", ack_expiry=timedelta(days=14), clock=clock)


@pytest.fixture
def pipeline() -> str:
    return f"nightly-{next(_pipelines)}"


def test_the_first_acknowledgement_stands(mutes: FirestoreMutes, pipeline: str, clock: Clock) -> None:
    quiet, changed = mutes.acknowledge(pipeline, "U0AMY", RUN, T0 - timedelta(hours=1), "C0ALERTS")
    assert changed and quiet.acked_by == "U0AMY" and quiet.acked_at == T0 and not quiet.muted
    clock.now = T0 + timedelta(minutes=5)
    again, changed = mutes.acknowledge(pipeline, "U0BOB", RUN, T0, "C0ALERTS")
    assert not changed and again.acked_by == "U0AMY"
    assert mutes.for_notice(pipeline, FAILED, T0 + timedelta(days=1)).acked_by == "U0AMY"


def test_a_newer_success_ends_the_acknowledgement_an_older_one_does_not(
    mutes: FirestoreMutes, pipeline: str, clock: Clock
) -> None:
    mutes.acknowledge(pipeline, "U0AMY", RUN, T0 - timedelta(hours=1), "C0ALERTS")
    # A success of a run older than the acknowledged failure, reported late: the streak stands.
    assert mutes.for_notice(pipeline, SUCCEEDED, T0 - timedelta(days=1)).acknowledged
    assert mutes.for_notice(pipeline, SUCCEEDED, T0).acknowledged is False
    # The next failure is a new streak: it mentions again.
    assert not mutes.for_notice(pipeline, FAILED, T0 + timedelta(days=1)).acknowledged
    quiet, changed = mutes.acknowledge(pipeline, "U0BOB", RUN, T0 + timedelta(days=1), "C0ALERTS")
    assert changed and quiet.acked_by == "U0BOB"


def test_an_acknowledgement_lapses_with_the_streaks_horizon(
    mutes: FirestoreMutes, pipeline: str, clock: Clock
) -> None:
    mutes.acknowledge(pipeline, "U0AMY", RUN, T0, "C0ALERTS")
    clock.now = T0 + timedelta(days=14, seconds=1)
    assert not mutes.for_notice(pipeline, FAILED, clock.now).acknowledged


def test_a_mute_holds_for_its_hours_and_an_unmute_ends_it(
    mutes: FirestoreMutes, pipeline: str, clock: Clock
) -> None:
    quiet, changed = mutes.mute(pipeline, "U0AMY", 24)
    assert (
        changed
        and quiet.muted
        and quiet.muted_until == T0 + timedelta(hours=24)
        and quiet.muted_by == "U0AMY"
    )
    clock.now = T0 + timedelta(hours=23)
    assert mutes.for_notice(pipeline, FAILED, clock.now).muted
    clock.now = T0 + timedelta(hours=24, seconds=1)
    assert not mutes.quiet(pipeline).muted
    _, changed = mutes.unmute(pipeline, "U0BOB")
    assert not changed  # it ran out by itself
    mutes.mute(pipeline, "U0AMY", 24)
    quiet, changed = mutes.unmute(pipeline, "U0BOB")
    assert changed and not quiet.muted


def test_documents_carry_their_ttl_field(mutes: FirestoreMutes, client, pipeline: str) -> None:
    mutes.mute(pipeline, "U0AMY", 24)
    mutes.acknowledge(pipeline, "U0AMY", RUN, T0, "C0ALERTS")
    [document] = [
        d.to_dict() for d in client.collection("test-mutes").stream() if d.to_dict()["pipeline"] == pipeline
    ]
    assert document["expires_at"] == T0 + timedelta(days=15)  # the acknowledgement's end, and a day
    assert document["ack_channel"] == "C0ALERTS" and document["ack_run"] == RUN


def test_two_acknowledgements_at_once_make_one(mutes: FirestoreMutes, pipeline: str) -> None:
    users = [f"U0USER{n}" for n in range(6)]
    results = together([lambda u=u: mutes.acknowledge(pipeline, u, RUN, T0, "C0ALERTS") for u in users])
    assert not [r for r in results if isinstance(r, Exception)], results
    winners = [quiet.acked_by for quiet, changed in results if changed]
    assert len(winners) == 1
    assert {quiet.acked_by for quiet, _ in results} == set(winners)


def test_a_malformed_document_reads_as_nothing_said(mutes: FirestoreMutes, client, pipeline: str) -> None:
    mutes.mute(pipeline, "U0AMY", 24)
    [ref] = [
        d.reference for d in client.collection("test-mutes").stream() if d.to_dict()["pipeline"] == pipeline
    ]
    ref.update({"muted_by": "<!channel>", "ack_by": 7, "ack_at": T0, "ack_until": T0 + timedelta(days=1)})
    quiet = mutes.quiet(pipeline)
    assert not quiet.muted and not quiet.acknowledged


def test_firestore_unreachable_is_transient_and_fast(pipeline: str, unreachable_firestore) -> None:
    dead = FirestoreMutes(unreachable_firestore, "test-mutes")
    started = time.monotonic()
    with pytest.raises(MutesUnavailableError):
        dead.for_notice(pipeline, FAILED, T0)
    assert time.monotonic() - started < 15
