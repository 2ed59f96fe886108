"""Schedule warnings' claims: their keys (pure), and on the Firestore emulator what a claim records,
how long it is kept, and how the weekly digest reads them back (``state.schedule_warnings``)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from notifier.model import (
    MISSED,
    SCHEDULE,
    SCHEDULE_ENDED,
    SCHEDULE_FAILED,
    FinalStatus,
    Receipt,
    ScheduleEvent,
)
from notifier.names import parse_schedule_name
from notifier.sources.pubsub import PubSubMessage
from notifier.state.claims import SCHEDULE_CLAIM_DAYS, FirestoreClaims, idempotency_key
from notifier.state.schedule_warnings import SentWarning, sent_between
from sandbox.firestore_emulator import FirestoreEmulator

NAME = "projects/271009669852/locations/us-central1/schedules/6123470581093384192"
SLOT = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
_collections = itertools.count(1)


def warning(kind: str = MISSED, slot: datetime | None = SLOT, name: str = NAME) -> FinalStatus:
    event = ScheduleEvent(parse_schedule_name(name), "feature-backfill-daily", "feature-backfill", slot)
    return FinalStatus(state=kind, source=SCHEDULE, schedule=event)


def key(status: FinalStatus, message_id: str = "m1", target: str = "slack:C0DATAENG") -> str:
    return idempotency_key(status, PubSubMessage(message_id, b""), target)


def test_a_schedule_warning_keys_on_the_schedule_the_kind_and_the_slot() -> None:
    assert key(warning()) == f"schedule:{NAME}#MISSED#2026-11-27T10:00:00Z#slack:C0DATAENG"
    # Another sweep's message, the same slot: the same key. Another slot or kind: another key.
    assert key(warning(), message_id="m2") == key(warning())
    assert key(warning(slot=SLOT + timedelta(days=1))) != key(warning())
    assert key(warning(SCHEDULE_FAILED)) != key(warning())
    # The slot in UTC, whatever zone it came in.
    eastern = SLOT.astimezone(timezone(timedelta(hours=-5)))
    assert key(warning(slot=eastern)) == key(warning())


def test_an_end_is_keyed_once_per_schedule() -> None:
    assert key(warning(SCHEDULE_ENDED, None)) == f"schedule:{NAME}#SCHEDULE_ENDED#slack:C0DATAENG"


def test_schedule_keys_never_meet_a_runs_keys() -> None:
    run = FinalStatus(state="FAILED", pipeline_job_resource_name=NAME.replace("schedules", "pipelineJobs"))
    assert not key(run).startswith("schedule:")


# --- on the Firestore emulator ----------------------------------------------------------------


@pytest.fixture
def client(firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch):
    from google.cloud import firestore as fs

    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    return fs.Client(project=firestore.project)


@pytest.fixture
def collection() -> str:
    """A collection no other test uses (documents outlive a test)."""
    return f"schedule-claims-{next(_collections)}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def claims(client, collection: str, clock: Clock) -> FirestoreClaims:
    return FirestoreClaims(
        client, collection, lease=timedelta(seconds=60), ttl=timedelta(days=7), clock=clock
    )


def send(store: FirestoreClaims, status: FinalStatus, target: str, where: str) -> str:
    return store.post_once(
        status, PubSubMessage("m", b""), lambda: Receipt(target.split(":")[0], where, "1.2"), target
    ).value


@pytest.mark.emulator
def test_a_schedule_claim_records_the_warning_and_is_kept_five_weeks(client, collection) -> None:
    clock = Clock(T0)
    store = claims(client, collection, clock)
    assert send(store, warning(), "slack:C0DATAENG", "C0DATAENG") == "posted"
    assert send(store, warning(), "slack:C0DATAENG", "C0DATAENG") == "duplicate"
    [snapshot] = list(client.collection(collection).stream())
    claim = snapshot.to_dict()
    assert claim["status"] == "sent" and claim["channel"] == "C0DATAENG"
    assert claim["schedule"] == NAME and claim["schedule_kind"] == MISSED
    assert claim["slot"] == SLOT and claim["pipeline"] == "feature-backfill"
    assert claim["target"] == "slack:C0DATAENG"
    assert claim["expires_at"] == T0 + timedelta(days=SCHEDULE_CLAIM_DAYS)  # not DEDUP_TTL_DAYS' 7
    # A run's claim keeps the usual TTL and records nothing of schedules.
    run = FinalStatus(
        state="FAILED", pipeline_job_resource_name="projects/p/locations/us-central1/pipelineJobs/r1"
    )
    send(store, run, "slack:C0DATAENG", "C0DATAENG")
    documents = [s.to_dict() for s in client.collection(collection).stream()]
    [run_claim] = [d for d in documents if "schedule_kind" not in d]
    assert run_claim["expires_at"] == T0 + timedelta(days=7)


@pytest.mark.emulator
def test_the_digest_reads_the_warnings_sent_in_its_period(client, collection) -> None:
    clock = Clock(T0)
    store = claims(client, collection, clock)
    send(store, warning(), "slack:C0DATAENG", "C0DATAENG")
    send(store, warning(), "google_chat:data", "data")
    clock.now = T0 + timedelta(days=3)
    send(store, warning(SCHEDULE_FAILED, SLOT + timedelta(days=2)), "slack:C0RISK", "C0RISK")
    clock.now = T0 + timedelta(days=9)
    send(store, warning(SCHEDULE_ENDED, None), "slack:C0DATAENG", "C0DATAENG")
    # Released (nothing sent) and runs' claims are no warnings anyone saw.
    store.post_once(
        warning(slot=SLOT + timedelta(days=4)), PubSubMessage("m", b""), lambda: None, "slack:C0X"
    )
    run = FinalStatus(
        state="FAILED", pipeline_job_resource_name="projects/p/locations/us-central1/pipelineJobs/r2"
    )
    send(store, run, "slack:C0DATAENG", "C0DATAENG")

    week = sent_between(client, collection, T0, T0 + timedelta(days=7))
    assert week == [
        SentWarning(NAME, MISSED, SLOT, "feature-backfill", "google_chat:data", T0),
        SentWarning(NAME, MISSED, SLOT, "feature-backfill", "slack:C0DATAENG", T0),
        SentWarning(
            NAME,
            SCHEDULE_FAILED,
            SLOT + timedelta(days=2),
            "feature-backfill",
            "slack:C0RISK",
            T0 + timedelta(days=3),
        ),
    ]
    [ended] = sent_between(client, collection, T0 + timedelta(days=7), T0 + timedelta(days=14))
    assert (ended.kind, ended.slot) == (SCHEDULE_ENDED, None)
