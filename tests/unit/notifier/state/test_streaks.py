"""The Firestore streak store: its documents, and on the Firestore emulator, transactions making decisions atomic.

Concurrent deliveries are real threads released together by a barrier against the real
emulator. (Two deliveries of the *same* run never get this far at once: the
de-duplication claim holds the run while it is posted.)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from notifier.model import CANCELLED, SUCCEEDED
from notifier.state.streak_rules import (
    Policy,
    Post,
    StreakKey,
    StreakPendingError,
    StreaksUnavailableError,
)
from notifier.state.streaks import FirestoreStreaks, from_document, to_document
from sandbox.firestore_emulator import FirestoreEmulator
from tests.support.concurrency import together
from tests.support.streakdata import NOW, play, run

_pipelines = itertools.count(1)


@pytest.fixture
def store(firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FirestoreStreaks]:
    from google.cloud import firestore as fs

    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    yield FirestoreStreaks(fs.Client(project=firestore.project), "test-streaks")


@pytest.fixture
def patient(store: FirestoreStreaks, firestore: FirestoreEmulator) -> FirestoreStreaks:
    """The same collection, retrying aborted transactions for minutes instead of the deployed
    20 s: with eight or ten transactions on one document the emulator can take longer than
    that on a loaded machine. The concurrency tests check that each delivery is counted once,
    not how fast (a store that gives up raises StreakPendingError: the message goes back to Pub/Sub)."""
    from google.cloud import firestore as fs

    return FirestoreStreaks(fs.Client(project=firestore.project), "test-streaks", contention_timeout=180)


@pytest.fixture
def key() -> StreakKey:
    """A pipeline no other test uses (documents outlive a test)."""
    return StreakKey(f"nightly-{next(_pipelines)}", "C0STREAKS")


@pytest.mark.emulator
def test_a_streak_is_stored_and_its_root_recorded(store: FirestoreStreaks, key: StreakKey) -> None:
    first = store.decide(key, run(1), Policy())
    assert first.post == Post.ROOT
    with pytest.raises(StreakPendingError):
        store.decide(key, run(2), Policy())  # the root has no ts yet
    assert store.record_root(key, run(1), "111.000100", '{"text": "x", "blocks": []}')
    assert not store.record_root(key, run(1), "222.000200", "{}")  # recorded once
    second = store.decide(key, run(2), Policy())
    assert second.post == Post.REPLY and second.root_ref == "111.000100" and second.update_root
    recovery = store.decide(key, run(3, SUCCEEDED), Policy(on_failure_only=True))
    assert recovery.post == Post.RECOVERY and recovery.root_ref == "111.000100"
    stored = store.load(key)
    assert stored is not None and not stored.open and stored.failures == 2
    assert stored.root_body == '{"text": "x", "blocks": []}'
    assert [m.run for m in stored.marks] == [run(1).id, run(2).id, run(3).id]


@pytest.mark.emulator
def test_concurrent_failures_of_one_pipeline_open_one_streak(
    store: FirestoreStreaks, patient: FirestoreStreaks, key: StreakKey
) -> None:
    runs = [run(n) for n in range(1, 9)]
    results = together([lambda r=r: patient.decide(key, r, Policy()) for r in runs])
    roots = [r for r in results if not isinstance(r, Exception) and r.post == Post.ROOT]
    waiting = [r for r in results if isinstance(r, StreakPendingError)]
    assert len(roots) == 1 and len(waiting) == len(runs) - 1, results
    stored = store.load(key)
    assert stored is not None and stored.failures == 1  # the waiting ones counted nothing yet
    assert store.record_root(key, next(r for r in runs if r.id == roots[0].streak.root_run), "1.1", "{}")
    # Redelivered, they all reply in the one thread and each counts once, exactly.
    again = together([lambda r=r: patient.decide(key, r, Policy()) for r in runs])
    assert sorted(d.post.value for d in again) == ["none"] + ["reply"] * (len(runs) - 1)
    stored = store.load(key)
    assert stored is not None and stored.failures == len(runs) and stored.open


@pytest.mark.emulator
def test_concurrent_failures_in_an_open_streak_are_each_counted_once(
    store: FirestoreStreaks, patient: FirestoreStreaks, key: StreakKey
) -> None:
    store.decide(key, run(0), Policy())
    store.record_root(key, run(0), "1.1", "{}")
    runs = [run(n) for n in range(1, 11)]
    results = together([lambda r=r: patient.decide(key, r, Policy()) for r in runs])
    assert all(not isinstance(r, Exception) and r.post == Post.REPLY for r in results), results
    stored = store.load(key)
    assert stored is not None and stored.failures == 11
    assert sorted(d.streak.failures for d in results) == list(range(2, 12))  # every step seen once


@pytest.mark.emulator
def test_firestore_unreachable_fails_fast_so_the_message_goes_out_without_threads(
    key: StreakKey, unreachable_firestore
) -> None:
    dead = FirestoreStreaks(unreachable_firestore, "test-streaks")
    started = time.monotonic()
    with pytest.raises(StreaksUnavailableError):
        dead.decide(key, run(1), Policy())
    assert time.monotonic() - started < 15


def test_the_document_round_trips_and_malformed_fields_read_as_absent() -> None:
    _, streak = play(run(1), run(2), run(3, CANCELLED))
    document = to_document(StreakKey("nightly", "C0123"), streak, NOW)
    assert document["pipeline"] == "nightly" and document["channel"] == "C0123"
    assert from_document(document) == streak
    broken = {
        **document,
        "failures": "many",
        "marks": [{"run": 1}, "x", {"run": "r", "time": NOW, "post": "?"}],
    }
    read = from_document(broken)
    assert read.failures == 0 and read.marks == ()
    assert StreakKey("a/b", "C1").document_id != StreakKey("a", "b/C1").document_id
    assert "/" not in StreakKey("a/b", "C1").document_id
