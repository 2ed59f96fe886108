"""The PagerDuty Events API v2 stand-in, driven over real HTTP: the contract a destination meets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.pagerduty_standin import ROUTING_KEY, SUMMARY_MAX, PagerDutyStandin
from tests.support.http_client import post


@pytest.fixture
def pd() -> Iterator[PagerDutyStandin]:
    with PagerDutyStandin() as standin:
        yield standin


def trigger(dedup_key: str | None = "streak-1", **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "payload": {
            "summary": "churn-training failed: Trainer",
            "source": "vertex-ai-pipelines/us-central1/churn-training",
            "severity": "critical",
            **payload,
        },
        "links": [{"href": "https://console.cloud.google.com/vertex-ai/pipelines", "text": "Console"}],
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


def follow_up(action: str, dedup_key: str = "streak-1") -> dict[str, Any]:
    return {"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": dedup_key}


def test_a_trigger_is_accepted_with_202_and_its_dedup_key(pd: PagerDutyStandin) -> None:
    answer = post(pd.enqueue_url, trigger(component="Trainer", group="churn", custom_details={"run": "x"}))
    assert answer.status == 202
    assert answer.json() == {"status": "success", "message": "Event processed", "dedup_key": "streak-1"}
    [event] = pd.events
    assert (event.event_action, event.dedup_key, event.outcome) == ("trigger", "streak-1", "opened")
    assert event.payload["component"] == "Trainer"


def test_a_trigger_without_dedup_key_gets_a_new_one_each_time(pd: PagerDutyStandin) -> None:
    first = post(pd.enqueue_url, trigger(dedup_key=None)).json()["dedup_key"]
    second = post(pd.enqueue_url, trigger(dedup_key=None)).json()["dedup_key"]
    assert first and second and first != second
    assert len(pd.alerts()) == 2


def test_a_streak_triggers_updates_and_resolves_one_alert(pd: PagerDutyStandin) -> None:
    for _ in range(3):
        assert post(pd.enqueue_url, trigger()).status == 202
    alert = pd.alert("streak-1")
    assert alert is not None and (alert.status, alert.triggers, alert.number) == ("triggered", 3, 1)
    assert post(pd.enqueue_url, follow_up("acknowledge")).status == 202
    assert pd.alert("streak-1").status == "acknowledged"
    assert post(pd.enqueue_url, follow_up("resolve")).status == 202
    resolved = pd.alert("streak-1")
    assert resolved.status == "resolved" and len(resolved.events) == 5
    assert [e.outcome for e in pd.events] == ["opened", "added", "added", "acknowledged", "resolved"]


def test_after_a_resolve_a_trigger_opens_a_new_alert_and_a_resolve_of_nothing_is_dropped(
    pd: PagerDutyStandin,
) -> None:
    post(pd.enqueue_url, trigger())
    post(pd.enqueue_url, follow_up("resolve"))
    # Nothing open now: PagerDuty still answers 202 and drops it.
    answer = post(pd.enqueue_url, follow_up("resolve"))
    assert answer.status == 202 and pd.events[-1].outcome == "dropped"
    post(pd.enqueue_url, trigger())
    alerts = pd.alerts("streak-1")
    assert [(a.number, a.status, a.triggers) for a in alerts] == [(1, "resolved", 1), (2, "triggered", 1)]


def test_alerts_are_kept_per_routing_key() -> None:
    other = "R0standinpagerdutykey00000000002"
    with PagerDutyStandin(routing_keys=(ROUTING_KEY, other)) as pd:
        post(pd.enqueue_url, trigger())
        post(pd.enqueue_url, {**follow_up("resolve"), "routing_key": other})
        assert pd.alert("streak-1").status == "triggered"
        assert pd.events[-1].outcome == "dropped"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"routing_key": "short"}, "Length of 'routing_key' is incorrect (should be 32 characters)"),
        (
            {"routing_key": "R0standin-pagerduty-key-00000001"},
            "'routing_key' cannot contain non-alphanumeric",
        ),
        ({"event_action": "escalate"}, "'event_action' is missing or invalid"),
        ({"dedup_key": "k" * 256}, "'dedup_key' is too long (maximum 255 characters)"),
        ({"payload": None}, "'payload' is missing or is not an object"),
        ({"links": [{"text": "no href"}]}, "'links[0].href' is missing or blank"),
        ({"images": "https://example.com/a.png"}, "'images' must be an array"),
    ],
)
def test_an_invalid_event_is_refused_with_400_and_the_reason(
    pd: PagerDutyStandin, change: dict[str, Any], error: str
) -> None:
    answer = post(pd.enqueue_url, {**trigger(), **change})
    assert answer.status == 400
    body = answer.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert any(e.startswith(error) for e in body["errors"]), body["errors"]
    assert pd.events == [] and pd.alert("streak-1") is None


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"summary": "x" * (SUMMARY_MAX + 1)}, "'payload.summary' is too long (maximum 1024 characters)"),
        ({"summary": "   "}, "'payload.summary' is missing or blank"),
        ({"source": ""}, "'payload.source' is missing or blank"),
        ({"severity": "fatal"}, "'payload.severity' is missing or invalid"),
        ({"timestamp": "yesterday"}, "'payload.timestamp' is not a valid ISO 8601 timestamp"),
        ({"class": 3}, "'payload.class' must be a string"),
    ],
)
def test_payload_rules(pd: PagerDutyStandin, payload: dict[str, Any], error: str) -> None:
    answer = post(pd.enqueue_url, trigger(**payload))
    assert answer.status == 400
    assert any(e.startswith(error) for e in answer.json()["errors"]), answer.json()


def test_the_summary_limit_is_inclusive_and_pagerdutys_timestamp_forms_pass(pd: PagerDutyStandin) -> None:
    assert post(pd.enqueue_url, trigger(summary="x" * SUMMARY_MAX)).status == 202
    for stamp in ("2015-07-17T08:42:58.315+0000", "2026-12-03T05:41:12Z"):
        assert post(pd.enqueue_url, trigger(timestamp=stamp)).status == 202


def test_both_routing_key_errors_come_together(pd: PagerDutyStandin) -> None:
    errors = post(pd.enqueue_url, {**trigger(), "routing_key": "e+23rschqsESqk9Q6_-g"}).json()["errors"]
    assert errors[:2] == [
        "Length of 'routing_key' is incorrect (should be 32 characters)",
        "'routing_key' cannot contain non-alphanumeric characters.",
    ]


def test_acknowledge_and_resolve_need_a_dedup_key(pd: PagerDutyStandin) -> None:
    for action in ("acknowledge", "resolve"):
        answer = post(pd.enqueue_url, {"routing_key": ROUTING_KEY, "event_action": action})
        assert answer.status == 400
        assert f"'dedup_key' is required for {action} events" in answer.json()["errors"]


def test_a_body_that_is_not_a_json_object_is_unrecognized(pd: PagerDutyStandin) -> None:
    for raw in (b"{not json", b"[1, 2]", b""):
        answer = post(pd.enqueue_url, None, raw=raw)
        assert answer.status == 400
        assert answer.json() == {
            "status": "Unrecognized object",
            "message": "Event object format is unrecognized",
            "errors": ["JSON parse error"],
        }


def test_a_well_formed_key_pagerduty_does_not_know_is_refused_in_plain_text(pd: PagerDutyStandin) -> None:
    answer = post(pd.enqueue_url, {**trigger(), "routing_key": "R0standinpagerdutykey00000000009"})
    assert (answer.status, answer.body) == (400, b"Invalid routing key")
    assert answer.headers["Content-Type"].startswith("text/plain")


def test_an_oversized_event_and_a_wrong_path_are_refused(pd: PagerDutyStandin) -> None:
    big = trigger(custom_details={"blob": "x" * (512 * 1024)})
    assert post(pd.enqueue_url, big).status == 413
    assert post(pd.url + "/v2/enqueue/extra", trigger()).status == 404
    assert post(pd.enqueue_url, None, method="GET").status == 404
    assert pd.events == []


def test_scripted_429_and_5xx_then_normal_service(pd: PagerDutyStandin) -> None:
    pd.fail_next(429, 500, 503)
    answers = [post(pd.enqueue_url, trigger()) for _ in range(4)]
    assert [a.status for a in answers] == [429, 500, 503, 202]
    assert answers[0].body == b""
    assert answers[1].json()["status"] == "Internal Server Error"
    assert pd.attempts == 4 and len(pd.events) == 1 and pd.alert("streak-1").triggers == 1


def test_the_rate_limit_answers_429_per_routing_key() -> None:
    other = "R0standinpagerdutykey00000000002"
    now = [1000.0]
    with PagerDutyStandin(routing_keys=(ROUTING_KEY, other), rate_per_minute=3, clock=lambda: now[0]) as pd:
        statuses = [post(pd.enqueue_url, trigger()).status for _ in range(4)]
        assert statuses == [202, 202, 202, 429]
        assert post(pd.enqueue_url, {**trigger(), "routing_key": other}).status == 202
        now[0] += 59.0  # a sliding 60-second window: still full
        assert post(pd.enqueue_url, trigger()).status == 429
        now[0] += 1.0
        assert post(pd.enqueue_url, trigger()).status == 202
        assert pd.alert("streak-1").triggers == 4


def test_reset_forgets_everything(pd: PagerDutyStandin) -> None:
    post(pd.enqueue_url, trigger())
    pd.fail_next(500)
    pd.reset()
    assert (pd.events, pd.alerts(), pd.attempts) == ([], [], 0)
    assert post(pd.enqueue_url, trigger()).status == 202
