"""PagerDuty and Microsoft Teams end to end on the Pub/Sub and Firestore emulators.

Pub/Sub emulator push → the function → Vertex stand-in → Firestore emulator (claims, Slack's
streaks and the incidents' streaks) → Slack, PagerDuty (Events API v2) and Teams (Workflows
webhook) stand-ins, through the real clients. Production runs (label env=prod) page the
``ml-oncall`` service at ``critical`` by a ROUTES rule; each test has pipelines of its own
(``Nightly``): streaks and claims outlive a test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.pagerduty_standin import PdEvent
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import DEFAULT_CHANNEL, PAGERDUTY_SERVICES, TEAMS_CHANNELS, LocalStack
from tests.support.streakdata import Nightly

pytestmark = pytest.mark.emulator

WORKSPACE = "https://acme.slack.com"
RULES = [
    {"match": {"pipeline": "bad-key-*"}, "channel": DEFAULT_CHANNEL, "pagerduty": ["data-oncall"]},
    {
        "match": {"labels": {"env": "prod"}},
        "channel": DEFAULT_CHANNEL,
        "pagerduty": ["ml-oncall"],
        "teams": ["ml-alerts"],
        "severity": "critical",
    },
]


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": "paging-claims",
        "SLACK_WORKSPACE_URL": WORKSPACE,
        "ROUTES": json.dumps(RULES),
    }
    with LocalStack.start(tmp_path_factory.mktemp("paging"), emulator=pubsub_emulator, env=env) as stack:
        yield stack


@pytest.fixture
def clean(fresh: LocalStack) -> LocalStack:
    fresh.pagerduty.reset()
    fresh.pagerduty.routing_keys = set(PAGERDUTY_SERVICES.values())
    fresh.teams.reset()
    return fresh


def events(stack: LocalStack, count: int) -> list[PdEvent]:
    """Wait until PagerDuty has accepted ``count`` events; return them."""
    return wait_until(
        lambda: (found := list(stack.pagerduty.events)) and len(found) >= count and found,
        timeout=60,
        message=lambda: (
            f"{count} PagerDuty events, got {len(stack.pagerduty.events)}; log:\n"
            f"{stack.function.log_text()[-3000:]}"
        ),
    )


def slack_posts(stack: LocalStack, count: int) -> None:
    wait_until(
        lambda: len(stack.slack.messages()) >= count,
        timeout=60,
        message=lambda: f"{count} Slack messages, got {len(stack.slack.messages())}",
    )


def test_a_failing_streak_triggers_updates_and_resolves_one_incident(clean: LocalStack) -> None:
    route = clean.add_route()
    nightly = Nightly(clean.vertex)
    clean.publish(route, nightly.run(1))
    [opened] = events(clean, 1)
    clean.publish(route, nightly.run(2))
    added = events(clean, 2)[1]
    clean.publish(route, nightly.run(3, "SUCCEEDED"))
    resolved = events(clean, 3)[2]

    assert [(e.event_action, e.outcome) for e in (opened, added, resolved)] == [
        ("trigger", "opened"),
        ("trigger", "added"),
        ("resolve", "resolved"),
    ]
    key = opened.dedup_key
    assert added.dedup_key == resolved.dedup_key == key and key.startswith(f"vertex-pipeline/{nightly.name}/")
    alert = clean.pagerduty.alert(key)
    assert alert is not None and (alert.status, alert.triggers, alert.severity) == ("resolved", 2, "critical")
    assert opened.payload["summary"].startswith(f"{nightly.name} failed (run {nightly.job_id(1)}): ")
    assert "2 failed runs in a row" in added.payload["summary"]
    # The incident links the console and the streak's Slack thread (its root, posted first).
    slack_posts(clean, 3)
    [root] = clean.slack.top_level()
    thread = f"{WORKSPACE}/archives/{root.channel}/p{root.ts.replace('.', '')}"
    assert {"href": thread, "text": "Slack thread"} in opened.body["links"]
    assert opened.body["links"][0]["text"] == "Open in Vertex AI"
    assert [r.broadcast for r in clean.slack.replies(root.ts)] == [False, True]  # the reply, the recovery
    # The next failure is a new incident; nobody's routing key ever shows in the function's log.
    clean.publish(route, nightly.run(4))
    assert events(clean, 4)[3].dedup_key != key
    # Teams got the same four runs (the rule names it too), after PagerDuty.
    wait_until(lambda: len(clean.teams.posts) >= 4, timeout=30, message="four Teams cards")
    assert not any(k in clean.function.log_text() for k in PAGERDUTY_SERVICES.values())


def test_a_failure_vertex_cannot_confirm_never_pages(clean: LocalStack) -> None:
    route = clean.add_route()
    clean.vertex.fail_all = 503
    clean.publish(route, Nightly(clean.vertex).run(1))
    slack_posts(clean, 1)
    [unverified] = clean.slack.messages()
    assert unverified.body["text"].startswith(":warning: Unverified")
    assert clean.pagerduty.attempts == 0 and clean.teams.attempts == 0


def test_a_bad_routing_key_is_logged_and_not_retried(clean: LocalStack) -> None:
    route = clean.add_route()
    clean.pagerduty.routing_keys.discard(PAGERDUTY_SERVICES["data-oncall"])  # revoked in PagerDuty
    nightly = Nightly(clean.vertex, name="bad-key-nightly")
    clean.publish(route, nightly.run(1))
    slack_posts(clean, 1)
    wait_until(
        lambda: "Not sent to pagerduty data-oncall: PagerDuty answered HTTP 400" in clean.function.log_text(),
        timeout=45,
        message="the 400 logged",
    )
    assert "Invalid routing key" in clean.function.log_text()
    assert clean.pagerduty.refused == [(400, b"Invalid routing key")] and clean.pagerduty.events == []


def test_a_429_hands_the_page_back_and_it_comes_once(clean: LocalStack) -> None:
    route = clean.add_route()
    clean.pagerduty.fail_next(429)
    nightly = Nightly(clean.vertex)
    clean.publish(route, nightly.run(1))
    [event] = events(clean, 1)
    assert event.outcome == "opened" and [status for status, _ in clean.pagerduty.refused] == [429]
    slack_posts(clean, 1)
    card = wait_until(
        lambda: clean.teams.in_channel(TEAMS_CHANNELS["ml-alerts"]), timeout=30, message="a card"
    )
    assert len(clean.slack.messages()) == 1 and len(card) == 1  # the others were not sent again


def test_a_teams_card_with_the_slack_messages_content_and_a_429(clean: LocalStack) -> None:
    route = clean.add_route()
    clean.teams.fail_next(429, retry_after=1)
    nightly = Nightly(clean.vertex)
    clean.publish(route, nightly.run(1))
    [post] = wait_until(
        lambda: clean.teams.in_channel(TEAMS_CHANNELS["ml-alerts"]),
        timeout=60,
        message=lambda: f"a Teams card; log:\n{clean.function.log_text()[-3000:]}",
    )
    assert [status for status, _ in clean.teams.refused] == [429]
    body: list[dict[str, Any]] = post.card["body"]
    lead = "".join(run["text"] for run in body[0]["inlines"])
    assert lead.startswith(f"\U0001f631 {nightly.name} failed")
    text = json.dumps(post.card, ensure_ascii=False)
    assert "Trainer" in text and nightly.job_id(1) in text
    assert post.card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Open in Vertex AI",
        "url": "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/"
        f"{nightly.job_id(1)}?project=271009669852",
    }
    [run] = clean.teams.runs[-1:]
    assert run.status == "Succeeded" and run.size < 28 * 1024
