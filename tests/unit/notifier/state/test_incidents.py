"""Incidents follow failing streaks: one id per streak, trigger on each failure, resolve on the recovery.

Driven through the pure ``streak_rules.decide`` with the incident policy, as the store runs it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from notifier.model import CANCELLED, FAILED, SUCCEEDED
from notifier.state.incidents import (
    INCIDENT_EXPIRY,
    RESOLVE,
    TRIGGER,
    incident_key,
    incident_policy,
    incident_streak,
    page_action,
    stateless_action,
)
from notifier.state.streak_rules import Decision, Post, Run, Streak, StreakPendingError, decide

T0 = datetime(2026, 11, 20, 6, 15, tzinfo=timezone.utc)
NOW = datetime(2026, 12, 20, tzinfo=timezone.utc)
POLICY = incident_policy(timedelta(minutes=2))
PROJECT, PIPELINE = "271009669852", "churn-training"


def run(n: int, state: str = FAILED) -> Run:
    return Run(
        f"projects/{PROJECT}/locations/us-central1/pipelineJobs/churn-{n}", state, T0 + timedelta(days=n)
    )


class Pages:
    """The streak state as the store keeps it, and what each run pages: trigger/resolve and the key."""

    def __init__(self) -> None:
        self.state: Streak | None = None

    def __call__(self, n: int, state: str = FAILED, *, now: datetime = NOW) -> tuple[str, str] | None:
        decision = decide(self.state, run(n, state), POLICY, now)
        self.state = decision.streak
        action = page_action(decision, state, PROJECT, PIPELINE)
        if action and action.action == TRIGGER and decision.post == Post.ROOT:
            self.record(decision, run(n, state), action.key)
        return (action.action, action.key) if action else None

    def record(self, decision: Decision, r: Run, key: str) -> None:
        # What FirestoreStreaks.record_root stores once the trigger is sent.
        assert self.state is not None and self.state.root_run == r.id
        self.state = replace(self.state, root_ref=key, root_pending_until=None)


def test_a_streak_is_one_incident_triggered_by_each_failure_and_resolved_by_the_recovery() -> None:
    pages = Pages()
    first = pages(1)
    assert first == (TRIGGER, incident_key(PROJECT, PIPELINE, run(1).id))
    assert pages(2) == first and pages(3) == first  # updates of the one incident: nobody paged twice
    assert pages.state is not None and pages.state.failures == 3
    assert pages(4, SUCCEEDED) == (RESOLVE, first[1])
    again = pages(5)  # the next streak: a new incident
    assert again is not None and again[0] == TRIGGER and again[1] != first[1]
    assert pages(6, SUCCEEDED) == (RESOLVE, again[1])


def test_successes_without_an_open_streak_and_cancellations_say_nothing() -> None:
    pages = Pages()
    assert pages(1, SUCCEEDED) is None
    assert pages(2, CANCELLED) is None
    key = pages(3)
    assert pages(4, CANCELLED) is None  # neutral: neither extends nor closes
    assert pages(5, SUCCEEDED) == (RESOLVE, key[1])


def test_runs_are_ordered_by_their_own_time_not_their_arrival() -> None:
    pages = Pages()
    key = pages(5)
    assert pages(3, SUCCEEDED) is None  # older than the failure: the pipeline is still failing
    assert pages(7, SUCCEEDED) == (RESOLVE, key[1])
    assert pages(6) is None  # a failure older than the recovery: over already, nobody paged


def test_a_redelivery_never_reopens_or_resolves_the_wrong_incident() -> None:
    pages = Pages()
    first = pages(1)
    assert pages(1) is None  # triggered and recorded: a redelivered failure sends nothing
    assert pages(2, SUCCEEDED) == (RESOLVE, first[1])
    assert pages(1) is None  # the old failure after its recovery: nothing reopened
    second = pages(3)
    assert pages(2, SUCCEEDED) is None  # the old recovery redelivered: the new incident stays open
    assert second is not None and pages.state is not None and pages.state.open


def test_a_failure_whose_trigger_was_never_recorded_triggers_again_under_its_own_key() -> None:
    pages = Pages()
    decision = decide(None, run(1), POLICY, NOW)
    pages.state = decision.streak  # the trigger failed: no record_root
    # Another failure within the lease waits for it; after the lease it opens its own incident.
    with pytest.raises(StreakPendingError):
        pages(2, now=NOW + timedelta(seconds=30))
    late = pages(2, now=NOW + timedelta(minutes=5))
    assert late == (TRIGGER, incident_key(PROJECT, PIPELINE, run(2).id))


def test_an_incident_never_expires_while_its_pipeline_fails() -> None:
    pages = Pages()
    first = pages(1, now=NOW)
    later = NOW + INCIDENT_EXPIRY - timedelta(days=1)
    assert pages(2, now=later) == first


def test_keys_are_stable_readable_bounded_and_apart() -> None:
    key = incident_key(PROJECT, PIPELINE, run(1).id)
    assert key == incident_key(PROJECT, PIPELINE, run(1).id) and key.startswith(
        "vertex-pipeline/churn-training/"
    )
    assert len(incident_key(PROJECT, "ü/<x>" * 500, "r")) <= 150
    assert incident_key(PROJECT, "ü/<x>", "r").split("/")[1] == "x"
    assert incident_key("other", PIPELINE, run(1).id) != key != incident_key(PROJECT, "other", run(1).id)
    assert incident_key(PROJECT, "", "r").startswith("vertex-pipeline/pipeline/")
    assert incident_streak(PIPELINE, PROJECT, "ml-oncall").channel == "pagerduty/ml-oncall/271009669852"


def test_without_a_store_one_incident_per_pipeline() -> None:
    trigger = stateless_action(FAILED, PROJECT, PIPELINE)
    resolve = stateless_action(SUCCEEDED, PROJECT, PIPELINE)
    assert trigger is not None and resolve is not None
    assert (trigger.action, resolve.action) == (TRIGGER, RESOLVE) and trigger.key == resolve.key
    assert stateless_action(CANCELLED, PROJECT, PIPELINE) is None
