"""Claims that something happens once (``state.once``): on the Firestore emulator, and in process."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from notifier.state.once import FirestoreOnce, LocalOnce, OnceUnavailableError
from sandbox.firestore_emulator import FirestoreEmulator
from tests.support.concurrency import together

T0 = datetime(2026, 12, 1, 10, 42, tzinfo=timezone.utc)
_keys = itertools.count(1)


@pytest.fixture
def key() -> str:
    return f"slack-request#1796000000#v0={next(_keys):064x}"


@pytest.mark.emulator
def test_firestore_claims_once_and_keeps_the_first_record(
    firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    from google.cloud import firestore as fs

    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    now = [T0]
    once = FirestoreOnce(
        fs.Client(project=firestore.project), "test-once", timedelta(minutes=11), lambda: now[0]
    )
    results = together([lambda n=n: once.claim(key, {"by": f"U0USER{n}"}) for n in range(6)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results.count(None) == 1  # one taker; the others see a claim
    assert once.claim(key) is not None
    # Past its TTL (the policy not there yet), a claim is taken over; released, it is free.
    now[0] = T0 + timedelta(minutes=12)
    assert once.claim(key, {"by": "U0LATE"}) is None
    assert once.claim(key)["by"] == "U0LATE"
    once.release(key)
    assert once.claim(key) is None


def test_local_claims_expire_and_refuse_when_full(key: str) -> None:
    now = [0.0]
    once = LocalOnce(ttl=600, size=2, clock=lambda: now[0])
    assert once.claim(key, {"by": "U0AMY"}) is None
    assert once.claim(key) == {"by": "U0AMY", "key": key}
    assert once.claim("other") is None
    with pytest.raises(OnceUnavailableError):
        once.claim("third")  # full of live claims: never forget one early
    now[0] = 601
    assert once.claim(key) is None  # expired, taken afresh
    once.release(key)
    assert once.claim(key) is None
