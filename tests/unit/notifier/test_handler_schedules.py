"""The handler with schedule warnings: a sweep message through the production Notifier in this process
(real Slack, Vertex and Twilio clients against their stand-ins), at the moment tests/data/schedules
describes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from notifier.handler import Notifier
from notifier.model import Outcome
from notifier.routing import stuck_after_hours
from notifier.sources import Sources
from notifier.sources.job_event import JobEvents
from notifier.sources.sweep import Sweep
from notifier.wiring import make_schedule_check
from sandbox.stack import push_body
from sandbox.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, TwilioStandin
from tests.support.inprocess import Standins, make_notifier
from tests.support.scheduledata import FOLDER, NOW, NUMBER

TOPIC = "projects/acme-ml-prod/topics/notifier-sweep"
DATA_ENG = {"match": {"labels": {"team": "data-*"}}, "channel": "C0DATAENG"}


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioStandin]:
    with TwilioStandin() as standin:
        yield standin


@pytest.fixture
def vertex(standins: Standins, slack) -> Standins:
    """The shared stand-ins, the Vertex one serving the schedules too."""
    standins[1].load_schedules(FOLDER)
    standins[1].load_jobs(FOLDER)
    standins[1].project_numbers["acme-ml-prod"] = NUMBER
    return standins


def sweeping(standins: Standins, **env: str) -> Notifier:
    """The production Notifier whose sweep (with its schedule check) runs at NOW."""
    env = {"ROUTES": json.dumps([DATA_ENG]), **env}
    notifier = make_notifier(standins, SWEEP_TOPIC=TOPIC, SWEEP_AFTER_HOURS="720", **env)
    config, vertex = notifier.config, notifier.vertex
    notifier.sources = Sources(
        JobEvents(vertex.enrich, config.scope.scope),
        Sweep(
            config,
            vertex.list_jobs,
            lambda status, details: stuck_after_hours(config, status, details),
            lambda name: "",
            clock=lambda: NOW,
            schedules=make_schedule_check(config, vertex),
        ),
    )
    return notifier


def sweep(notifier: Notifier) -> Outcome:
    return notifier.handle(push_body(b"{}", {"action": "sweep"}), source=f"//pubsub.googleapis.com/{TOPIC}")


def texts(standins: Standins) -> list[tuple[str, str]]:
    return sorted((p.channel, p.body["text"]) for p in standins[0].messages())


def test_schedule_warnings_reach_the_chat_destinations_of_their_route_never_a_phone(
    vertex: Standins, twilio: TwilioStandin
) -> None:
    twilio.reset()
    sms = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_API_URL": twilio.url,
        "SMS_TO": "+15551234567",
        "SMS_ON_FAILURE_ONLY": "false",  # would text every state a route posts: still not these
        "ROUTES": json.dumps([{**DATA_ENG, "sms": ["+15550000001"]}]),
    }
    assert sweep(sweeping(vertex, **sms)) is Outcome.POSTED
    assert texts(vertex) == [
        (
            "C0DATAENG",  # its pipeline's labels (team: data-eng) match the rule
            ":alarm_clock: Scheduled run of *feature-backfill* did not start: due 10:00 UTC "
            "(cron `0 10 * * *`), 2h ago",
        ),
        (
            "C0DEFAULT1",
            ":checkered_flag: Schedule *holiday-forecast-daily* ended: its end time, 2026-11-25 00:00 UTC, passed",
        ),
        (
            "C0DEFAULT1",
            ":warning: Scheduled run of *fraud-retrain* could not be created: due 08:30 UTC "
            "(cron `30 */4 * * *`), 3h 30m ago",
        ),
    ]
    assert twilio.sent == []
    for posted in vertex[0].messages():
        assert "<!" not in json.dumps(posted.body)  # no mention: no run failed


def test_a_route_that_only_texts_skips_the_warning(vertex: Standins, twilio: TwilioStandin, caplog) -> None:
    rule = {"match": {"pipeline": "fraud-*"}, "sms": ["+15550000002"]}
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_API_URL": twilio.url,
        "ROUTES": json.dumps([rule, DATA_ENG]),
    }
    twilio.reset()
    notifier = sweeping(vertex, **env)
    with caplog.at_level(logging.INFO):
        sweep(notifier)
    assert "Skipped: a SCHEDULE_FAILED warning pages no one" in caplog.text
    assert sorted(p.channel for p in vertex[0].messages()) == ["C0DATAENG", "C0DEFAULT1"]
    assert twilio.sent == []


def test_a_warning_that_cannot_be_sent_never_stops_the_others(vertex: Standins, caplog) -> None:
    # No default channel: only the data-eng schedule has somewhere to go. The failed creation
    # (listed first) is refused, and the sweep goes on to the missed slot and the end.
    notifier = sweeping(vertex, SLACK_CHANNEL_ID="", ROUTES=json.dumps([DATA_ENG]))
    with caplog.at_level(logging.ERROR):
        assert sweep(notifier) is Outcome.POSTED
    assert [p.channel for p in vertex[0].messages()] == ["C0DATAENG"]
    refused = [r.getMessage() for r in caplog.records if "no destination for this run" in r.getMessage()]
    assert len(refused) == 2  # the failed creation and the end
