"""The PagerDuty destination with its real store (FirestoreStreaks on the Firestore emulator) and the
real client against the PagerDuty stand-in: one incident per failing streak, per service."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from notifier.config import Config
from notifier.destinations import Delivery
from notifier.destinations.pagerduty.deliver import PagerDutyEvents
from notifier.destinations.pagerduty.destination import PagerDutyDestination
from notifier.model import (
    CANCELLED,
    FAILED,
    SUCCEEDED,
    Enrichment,
    FailedTask,
    FinalStatus,
    JobDetails,
    Route,
)
from notifier.pacing import Pacer
from notifier.state.incidents import incident_key
from notifier.state.streak_rules import Policy, Run, StreakKey
from notifier.state.streaks import FirestoreStreaks
from notifier.wiring import Stores, slack_thread_finder
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.pagerduty_standin import ROUTING_KEY, PagerDutyStandin

pytestmark = pytest.mark.emulator

OTHER_KEY = "R1standinpagerdutykey00000000002"
KEYS = {"ml-oncall": ROUTING_KEY, "data-oncall": OTHER_KEY}
PROJECT = "271009669852"
T0 = datetime(2026, 11, 20, 6, 15, tzinfo=timezone.utc)
_pipelines = itertools.count(1)


@pytest.fixture(scope="module")
def pd() -> Iterator[PagerDutyStandin]:
    with PagerDutyStandin(routing_keys=(ROUTING_KEY, OTHER_KEY)) as standin:
        yield standin


@pytest.fixture
def client(firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    from google.cloud import firestore as fs

    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    return fs.Client(project=firestore.project)


@pytest.fixture
def pipeline() -> str:
    """A pipeline no other test uses (streak documents outlive a test)."""
    return f"churn-training-{next(_pipelines)}"


def destination(pd: PagerDutyStandin, store: FirestoreStreaks | None, **options: Any) -> PagerDutyDestination:
    pd.reset()
    return PagerDutyDestination(PagerDutyEvents(pd.url, Pacer(0)), KEYS, streaks=store, **options)


def delivery(
    pipeline: str, n: int, state: str = FAILED, *, severity: str = "", unverified: str = ""
) -> Delivery:
    name = f"projects/{PROJECT}/locations/us-central1/pipelineJobs/{pipeline}-{n}"
    details = JobDetails(
        pipeline_name=pipeline,
        name=name,
        create_time=T0 + timedelta(days=n),
        failed_tasks=(FailedTask("Trainer", "KeyError: 'churned'"),) if state == FAILED else (),
    )
    status = FinalStatus(state, name)
    enrichment = Enrichment(
        details, "us-central1", "https://console.cloud.google.com/run", unverified=unverified
    )
    return Delivery(status, enrichment, Route(severity=severity), T0 + timedelta(days=n, hours=1))


def test_one_incident_per_streak_triggered_updated_resolved(
    pd: PagerDutyStandin, client: object, pipeline: str
) -> None:
    pages = destination(pd, FirestoreStreaks(client, "incident-streaks"))
    first = pages.send(delivery(pipeline, 1), "ml-oncall")
    key = incident_key(
        PROJECT, pipeline, f"projects/{PROJECT}/locations/us-central1/pipelineJobs/{pipeline}-1"
    )
    assert first is not None and first.ref == f"trigger {key}"
    pages.send(delivery(pipeline, 2), "ml-oncall")
    assert pages.send(delivery(pipeline, 3, CANCELLED), "ml-oncall") is None
    pages.send(delivery(pipeline, 4, SUCCEEDED), "ml-oncall")
    alert = pd.alert(key)
    assert alert is not None and (alert.status, alert.triggers) == ("resolved", 2)
    assert [(e.event_action, e.outcome) for e in pd.events] == [
        ("trigger", "opened"),
        ("trigger", "added"),
        ("resolve", "resolved"),
    ]
    assert "2 failed runs in a row" in pd.events[1].payload["summary"]
    # A success with nothing open says nothing; the next failure is a new incident.
    assert pages.send(delivery(pipeline, 5, SUCCEEDED), "ml-oncall") is None
    pages.send(delivery(pipeline, 6), "ml-oncall")
    assert len(pd.alerts()) == 2 and pd.events[-1].dedup_key != key


def test_each_service_has_its_incident_and_the_rule_chooses_the_severity(
    pd: PagerDutyStandin, client: object, pipeline: str
) -> None:
    pages = destination(pd, FirestoreStreaks(client, "incident-streaks"), severity="warning")
    pages.send(delivery(pipeline, 1, severity="critical"), "ml-oncall")
    pages.send(delivery(pipeline, 1), "data-oncall")
    [critical, warning] = pd.events
    assert (critical.routing_key, critical.payload["severity"]) == (ROUTING_KEY, "critical")
    assert (warning.routing_key, warning.payload["severity"]) == (OTHER_KEY, "warning")
    assert critical.dedup_key == warning.dedup_key  # the same streak, one incident in each service


def test_an_unverified_notice_never_pages(pd: PagerDutyStandin, client: object, pipeline: str) -> None:
    pages = destination(pd, FirestoreStreaks(client, "incident-streaks"))
    assert pages.pages is True
    assert pages.send(delivery(pipeline, 1, unverified="Vertex AI could not be reached"), "ml-oncall") is None
    assert pd.attempts == 0


def test_without_a_store_one_incident_per_pipeline(pd: PagerDutyStandin, pipeline: str) -> None:
    pages = destination(pd, None)
    pages.send(delivery(pipeline, 1), "ml-oncall")
    pages.send(delivery(pipeline, 2), "ml-oncall")
    pages.send(delivery(pipeline, 3, SUCCEEDED), "ml-oncall")
    assert len(pd.alerts()) == 1 and pd.alerts()[0].status == "resolved"
    assert pd.events[0].dedup_key == incident_key(PROJECT, pipeline)


def test_firestore_down_still_pages(pd: PagerDutyStandin, pipeline: str, unreachable_firestore) -> None:
    pages = destination(pd, FirestoreStreaks(unreachable_firestore, "incident-streaks"))
    assert pages.send(delivery(pipeline, 1), "ml-oncall") is not None
    assert pd.events[0].dedup_key == incident_key(PROJECT, pipeline)


def test_the_streaks_slack_thread_is_linked(pd: PagerDutyStandin, client: object, pipeline: str) -> None:
    slack = FirestoreStreaks(client, "slack-streaks")
    run = Run(f"projects/{PROJECT}/locations/us-central1/pipelineJobs/{pipeline}-1", FAILED, T0, "x")
    slack.decide(StreakKey(pipeline, "C0123ABCD"), run, Policy())
    slack.record_root(StreakKey(pipeline, "C0123ABCD"), run, "1796274008.123456", "")
    config = Config.from_env(
        {
            "ALLOWED_PROJECTS": PROJECT,
            "ALLOWED_REGIONS": "us-central1",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_WORKSPACE_URL": "https://acme.slack.com",
        }
    )
    finder = slack_thread_finder(config, Stores(streaks=slack))
    assert finder is not None
    pages = destination(pd, FirestoreStreaks(client, "incident-streaks"), slack_thread=finder)
    routed = delivery(pipeline, 1)
    routed = Delivery(
        routed.status, routed.enrichment, Route.to({"slack": ("C0123ABCD",)}), routed.reference_time
    )
    pages.send(routed, "ml-oncall")
    assert {
        "href": "https://acme.slack.com/archives/C0123ABCD/p1796274008123456",
        "text": "Slack thread",
    } in (pd.events[0].body["links"])
    # No thread for a channel without a streak; no finder without the workspace's address.
    assert finder(pipeline, ("C0OTHER",)) == ""
    assert (
        slack_thread_finder(
            Config.from_env(
                {
                    **{
                        "ALLOWED_PROJECTS": PROJECT,
                        "ALLOWED_REGIONS": "us-central1",
                        "SLACK_BOT_TOKEN": "xoxb-1",
                    }
                }
            ),
            Stores(streaks=slack),
        )
        is None
    )
