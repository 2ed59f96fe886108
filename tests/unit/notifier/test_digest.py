"""The weekly digest sent: one pass over the period's runs, one message per target that can take
one, claimed once; Slack's stand-in receives what the real client posts, claims on the emulator."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest

from notifier.config import Config
from notifier.destinations.slack.deliver import SlackDelivery, make_client
from notifier.digest import DigestReadError, DigestRun
from notifier.digest_rules import Period
from notifier.sources.digest import DigestRequest
from notifier.sources.pubsub import PubSubMessage
from notifier.state.claims import FirestoreClaims, digest_key
from notifier.wiring import Stores, make_slack
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.slack_standin import TOKEN, SlackStandin
from tests.support.digestdata import END, PERIOD, many, record, story

_collections = itertools.count(1)
MESSAGE = PubSubMessage("digest-1", b"{}", {"action": "digest"})


def config(slack: SlackStandin, **env: str) -> Config:
    return Config.from_env(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_CHANNEL_ID": "C0DEFAULT1",
            "SLACK_API_URL": f"{slack.url}/api/",
            "ALLOWED_PROJECTS": "acme-ml-prod",
            "ALLOWED_REGIONS": "us-central1",
            **env,
        }
    )


def runner(slack: SlackStandin, runs, claims=None, **env: str) -> DigestRun:
    cfg = config(slack, **env)
    poster = SlackDelivery(make_client(cfg.slack.token, cfg.slack.api_url, timeout=5))
    destination = make_slack(cfg, Stores(), poster=poster)
    destination.pacer = None
    return DigestRun(cfg, [destination], runs, None, claims)


def history(*targets: str):
    runs = [r for target in targets for r in story(target)]

    def read(period: Period):
        return [r for r in runs if r.end_time and period.start <= r.end_time < period.end]

    return read


def test_one_message_per_channel_and_none_where_no_digest_goes(
    slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    targets = (
        "slack:C0DEFAULT1",
        "slack:C0DATAENG",
        "sms:+1555•••0001",
        "google_chat:ml-alerts",
        "slack:<!here>",
    )
    caplog.set_level(logging.INFO, "notifier.digest")
    runner(slack, history(*targets)).run(DigestRequest(PERIOD, MESSAGE))
    posts = slack.messages()
    assert sorted(p.channel for p in posts) == ["C0DATAENG", "C0DEFAULT1"]
    assert all("11 runs of 2 pipeline(s)" in p.body["text"] for p in posts)
    assert "2 posted" in caplog.text and "3 target(s) take no digest" in caplog.text


def test_a_channel_with_nothing_to_say_gets_nothing(slack: SlackStandin) -> None:
    old = [record("old", "p", "SUCCEEDED", END - timedelta(days=40))]
    runner(slack, lambda period: old).run(DigestRequest(PERIOD, MESSAGE))
    assert slack.messages() == []


def test_a_large_digest_continues_in_its_thread(slack: SlackStandin) -> None:
    runner(slack, lambda period: many(200), DIGEST_MAX_PIPELINES="200").run(DigestRequest(PERIOD, MESSAGE))
    roots = slack.top_level()
    assert len(roots) == 1
    assert len(slack.replies(roots[0].ts)) >= 2


def test_an_unreadable_history_posts_nothing_and_is_retried(slack: SlackStandin) -> None:
    def broken(period: Period):
        yield from story()[:3]
        raise OSError("Firestore is down")

    with pytest.raises(DigestReadError, match="Firestore is down"):
        runner(slack, broken).run(DigestRequest(PERIOD, MESSAGE))
    assert slack.messages() == []


def test_delivered_twice_it_posts_once(
    slack: SlackStandin, firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud import firestore as fs

    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    claims = FirestoreClaims(
        fs.Client(project=firestore.project),
        f"digest-claims-{next(_collections)}",
        lease=timedelta(seconds=60),
        ttl=timedelta(days=7),
    )
    run = runner(slack, history("slack:C0DEFAULT1"), claims)
    run.run(DigestRequest(PERIOD, MESSAGE))
    run.run(DigestRequest(PERIOD, PubSubMessage("digest-2", b"{}", {"action": "digest"})))
    assert len(slack.messages()) == 1
    # Another period is another digest.
    run.run(DigestRequest(Period(PERIOD.start, PERIOD.end - timedelta(hours=1)), MESSAGE))
    assert len(slack.messages()) == 2


def test_the_claim_key() -> None:
    assert digest_key("slack:C0DEFAULT1", PERIOD.start, PERIOD.end) == (
        "digest#slack:C0DEFAULT1#2026-11-23T09:00:00Z#2026-11-30T09:00:00Z"
    )
