"""Threads in process: the handler with real clients against the stand-ins and the Firestore emulator.

What the end-to-end tests (tests/e2e/test_threads.py) cannot script as finely: mentions,
a muted recovery, each way chat.update can refuse, and Firestore going away.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from notifier.destinations import Delivery
from notifier.model import SWEEP, Enrichment, FinalStatus, JobDetails, Outcome, Route
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import free_port
from sandbox.slack_standin import SlackStandin
from sandbox.stack import push_body
from sandbox.vertex_standin import VertexStandin
from tests.support.inprocess import make_notifier
from tests.support.streakdata import PREFIX, Nightly

pytestmark = pytest.mark.emulator

MENTION = "<!subteam^S0ONCALL>"


@pytest.fixture
def env(firestore: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in firestore.env.items():
        monkeypatch.setenv(name, value)
    return {
        "GOOGLE_CLOUD_PROJECT": firestore.project,
        "DEDUP_COLLECTION": "inprocess-claims",
        "STREAKS_COLLECTION": "inprocess-streaks",
        "SLACK_MENTION_ON_FAILURE": MENTION,
    }


@pytest.fixture
def nightly(standins: tuple[SlackStandin, VertexStandin]) -> Nightly:
    return Nightly(standins[1])


def deliver(notifier, data: bytes, message_id: str, attributes: dict[str, str] | None = None) -> Outcome:
    return notifier.handle(push_body(data, attributes, message_id))


def test_a_streak_mentions_once_and_recovers_in_its_thread(standins, slack, env, nightly) -> None:
    notifier = make_notifier(standins, **env)
    outcomes = [deliver(notifier, nightly.run(n), f"m{n}") for n in (1, 2, 3)]
    outcomes.append(deliver(notifier, nightly.run(4, "SUCCEEDED"), "m4"))
    assert outcomes == [Outcome.POSTED] * 4
    [root] = slack.top_level()
    replies = slack.replies(root.ts)
    assert [r.broadcast for r in replies] == [False, False, True]
    # The on-call group is pinged by the root only: replies in the thread ping nobody.
    assert MENTION in root.body["text"]
    assert not any(MENTION in json.dumps(r.body) for r in replies)
    assert replies[2].body["text"].startswith(":white_check_mark: Recovered after 3 failed runs")
    updates = slack.updates_of(root.ts)
    assert [u.body["blocks"][0]["text"]["text"].split("*")[1] for u in updates] == [
        "Failing for 2 runs",
        "Failing for 3 runs",
        "Recovered after 3 failed runs",
    ]
    assert f"last: *{nightly.job_id(3)}*" in updates[1].body["blocks"][0]["text"]["text"]
    # Every message names its job, pipeline and state in its metadata.
    for posted, night, state in zip(
        [root, *replies], (1, 2, 3, 4), ["FAILED"] * 3 + ["SUCCEEDED"], strict=True
    ):
        event = posted.metadata["event_payload"]
        assert posted.metadata["event_type"] == "vertex_pipeline_run"
        assert (event["job"].rsplit("/", 1)[1], event["pipeline"], event["state"]) == (
            nightly.job_id(night),
            nightly.name,
            state,
        )
    assert updates[-1].body["metadata"]["event_payload"]["streak_open"] is False


def test_without_recovery_notices_on_failure_only_the_root_still_says_recovered(
    standins, slack, env, nightly
) -> None:
    notifier = make_notifier(standins, **env, ON_FAILURE_ONLY="true", NOTIFY_ON_RECOVERY="false")
    deliver(notifier, nightly.run(1), "q1")
    assert deliver(notifier, nightly.run(2, "SUCCEEDED"), "q2") is Outcome.SKIPPED
    [root] = slack.messages()
    [update] = slack.updates_of(root.ts)
    assert "Recovered after 1 failed run*" in update.body["blocks"][0]["text"]["text"]
    # A success outside any streak is skipped as before.
    assert deliver(notifier, nightly.run(3, "SUCCEEDED"), "q3") is Outcome.SKIPPED
    assert len(slack.messages()) == 1 and len(slack.updates) == 1


@pytest.mark.parametrize("refusal", ["edit_window_closed", "cant_update_message", "message_not_found"])
def test_a_root_that_cannot_be_updated_gives_way_to_a_new_root(
    standins, slack, env, nightly, refusal
) -> None:
    notifier = make_notifier(standins, **env)
    deliver(notifier, nightly.run(1), "r1")
    slack.fail_next_update(refusal)
    assert deliver(notifier, nightly.run(2), "r2") is Outcome.POSTED
    first, second = slack.top_level()
    assert second.body["text"].startswith(":rotating_light: Failing for 2 runs since")
    assert MENTION in second.body["text"]  # a new root is a new alert
    assert slack.replies(first.ts) == [] and slack.updates_of(first.ts) == []
    # The streak goes on in the new root's thread.
    deliver(notifier, nightly.run(3), "r3")
    [reply] = slack.replies(second.ts)
    assert nightly.job_id(3) in reply.body["text"]
    assert "Failing for 3 runs" in json.dumps(slack.updates_of(second.ts)[-1].body)


def test_a_root_gone_at_recovery_gives_a_top_level_recovery(standins, slack, env, nightly) -> None:
    notifier = make_notifier(standins, **env)
    deliver(notifier, nightly.run(1), "g1")
    [root] = slack.top_level()
    slack.delete(root.channel, root.ts)
    deliver(notifier, nightly.run(2, "SUCCEEDED"), "g2")
    recovery = slack.top_level()[-1]
    assert recovery.ts != root.ts and not recovery.thread_ts
    assert recovery.body["text"].startswith(":white_check_mark: Recovered after 1 failed run")


def test_firestore_down_posts_top_level_as_before_and_says_so(
    standins, slack, env, nightly, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    notifier = make_notifier(standins, **env)
    with caplog.at_level(logging.WARNING):
        assert deliver(notifier, nightly.run(1), "d1") is Outcome.POSTED
        assert deliver(notifier, nightly.run(2), "d2") is Outcome.POSTED
    assert len(slack.top_level()) == 2 and slack.updates == []
    assert any("Threads unavailable" in r.getMessage() for r in caplog.records)
    assert all(p.metadata["event_payload"]["post"] == "top" for p in slack.messages())


def test_a_sweep_warning_stays_out_of_streaks(standins, slack, env, nightly) -> None:
    # A still-running run is news of its own: top-level, even while its pipeline's streak is open.
    notifier = make_notifier(standins, **env)
    deliver(notifier, nightly.run(1), "s1")
    [root] = slack.top_level()
    running = FinalStatus("RUNNING", PREFIX + nightly.job_id(2), source=SWEEP)
    details = JobDetails(pipeline_name=nightly.name, create_time=datetime(2026, 11, 22, tzinfo=timezone.utc))
    route = Route.to({"slack": (root.channel,)}, on_failure_only=True)
    [slack_destination] = notifier.destinations
    assert slack_destination.accepts(running, route)
    delivery = Delivery(running, Enrichment(details, "us-central1", ""), route, datetime.now(timezone.utc))
    receipt = slack_destination.send(delivery, root.channel)
    assert receipt is not None
    warning = slack.top_level()[-1]
    assert warning.ts == receipt.ref and not warning.thread_ts
    assert warning.metadata["event_payload"]["post"] == "top" and slack.updates == []
    # The streak is untouched: the next failure still replies in the root's thread.
    deliver(notifier, nightly.run(3), "s3")
    assert len(slack.replies(root.ts)) == 1


def test_the_streak_can_be_rebuilt_from_the_channel_alone(standins, slack, env, nightly) -> None:
    """If Firestore loses the streak, the messages' metadata hold all of it."""
    from google.cloud import firestore

    from notifier.destinations.slack.thread import rebuild
    from notifier.state.streak_rules import StreakKey
    from notifier.state.streaks import FirestoreStreaks

    notifier = make_notifier(standins, **env)
    store = FirestoreStreaks(firestore.Client(project=env["GOOGLE_CLOUD_PROJECT"]), env["STREAKS_COLLECTION"])

    def channel_history() -> list[dict]:
        # What conversations.history and .replies return with include_all_metadata.
        roots = [{"ts": p.ts, **(slack.current(p.channel, p.ts) or {})} for p in slack.top_level()]
        return roots + [{"ts": p.ts, **p.body} for p in slack.messages() if p.thread_ts]

    for step, data in enumerate(
        [nightly.run(1), nightly.run(2), nightly.run(3), nightly.run(4, "SUCCEEDED")]
    ):
        deliver(notifier, data, f"rebuild-{step}")
        stored = store.load(StreakKey(nightly.name, "C0DEFAULT1"))
        rebuilt = rebuild(channel_history())[nightly.name]
        assert stored is not None and stored.root_at is not None and rebuilt.root_at is not None
        assert abs((rebuilt.root_at - stored.root_at).total_seconds()) < 60
        assert replace(rebuilt, root_at=stored.root_at) == stored, step
