"""PagerDuty's Events API v2 through ``requests`` against the PagerDuty stand-in: 202, 400, 429, 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifier.destinations.pagerduty.deliver import (
    PagerDutyEvents,
    PagerDutyRejectedError,
    PagerDutyUnavailableError,
)
from notifier.destinations.pagerduty.render import resolve
from notifier.errors import DeferredError
from notifier.pacing import Pacer
from sandbox.pagerduty_standin import ROUTING_KEY, PagerDutyStandin

UNKNOWN_KEY = "Z" * 32


def event(key: str = "vertex-pipeline/churn/1", summary: str = "churn-training failed") -> dict:
    return {
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "source": "Vertex AI Pipelines", "severity": "critical"},
    }


@pytest.fixture(scope="module")
def pd() -> Iterator[PagerDutyStandin]:
    with PagerDutyStandin() as standin:
        yield standin


@pytest.fixture
def events(pd: PagerDutyStandin) -> PagerDutyEvents:
    pd.reset()
    return PagerDutyEvents(pd.url, Pacer(0))


def test_trigger_update_and_resolve_one_alert(pd: PagerDutyStandin, events: PagerDutyEvents) -> None:
    assert events.send(ROUTING_KEY, event(), "ml-oncall") == "vertex-pipeline/churn/1"
    events.send(ROUTING_KEY, event(), "ml-oncall")
    events.send(ROUTING_KEY, resolve("vertex-pipeline/churn/1"), "ml-oncall")
    alert = pd.alert("vertex-pipeline/churn/1")
    assert alert is not None and (alert.status, alert.triggers) == ("resolved", 2)
    assert [e.outcome for e in pd.events] == ["opened", "added", "resolved"]


def test_an_unknown_routing_key_is_permanent_and_never_echoed(
    pd: PagerDutyStandin, events: PagerDutyEvents
) -> None:
    with pytest.raises(
        PagerDutyRejectedError, match="HTTP 400 for service ml-oncall: Invalid routing key"
    ) as info:
        events.send(UNKNOWN_KEY, event(), "ml-oncall")
    assert UNKNOWN_KEY not in str(info.value) and pd.events == []


def test_an_invalid_event_is_permanent_with_pagerdutys_reason(events: PagerDutyEvents) -> None:
    with pytest.raises(
        PagerDutyRejectedError, match=r"Event object is invalid; 'payload.summary' is too long"
    ):
        events.send(ROUTING_KEY, event(summary="x" * 1025), "ml-oncall")
    with pytest.raises(PagerDutyRejectedError, match=r"Length of 'routing_key' is incorrect") as info:
        events.send("short-key", event(), "ml-oncall")
    assert "short-key" not in str(info.value)


def test_a_429_moves_the_service_back_and_hands_the_message_back(pd: PagerDutyStandin) -> None:
    pd.reset()
    pacer = Pacer(1000.0, hold=5.0)
    events = PagerDutyEvents(pd.url, pacer)
    pd.fail_next(429)
    with pytest.raises(DeferredError, match=r"HTTP 429 for service ml-oncall.*handed back"):
        events.send(ROUTING_KEY, event(), "ml-oncall")
    # No Retry-After from PagerDuty: the service waits the default 10 s, past the 5 s hold.
    with pytest.raises(DeferredError, match="ml-oncall is busy"):
        pacer.reserve("ml-oncall")
    assert pacer.reserve("data-oncall") is not None and pd.events == []


def test_past_pagerdutys_rate_the_429_hands_the_message_back() -> None:
    clock = [0.0]
    with PagerDutyStandin(rate_per_minute=3, clock=lambda: clock[0]) as pd:
        events = PagerDutyEvents(pd.url, Pacer(1000.0))
        for n in range(3):
            events.send(ROUTING_KEY, event(f"k{n}"), "ml-oncall")
        with pytest.raises(DeferredError):
            events.send(ROUTING_KEY, event("k3"), "ml-oncall")
        assert [status for status, _ in pd.refused] == [429]


@pytest.mark.parametrize("code", [500, 502, 503])
def test_5xx_is_transient(pd: PagerDutyStandin, events: PagerDutyEvents, code: int) -> None:
    pd.fail_next(code)
    with pytest.raises(PagerDutyUnavailableError, match=f"HTTP {code} for service ml-oncall"):
        events.send(ROUTING_KEY, event(), "ml-oncall")


def test_unreachable_is_transient() -> None:
    with PagerDutyStandin() as pd:
        url = pd.url
    with pytest.raises(PagerDutyUnavailableError, match="PagerDuty unreachable for service ml-oncall"):
        PagerDutyEvents(url, Pacer(0)).send(ROUTING_KEY, event(), "ml-oncall")
