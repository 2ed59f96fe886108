"""Slack delivery through the real WebClient and its retry handlers, against the stand-in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from notifier.destinations.slack.deliver import MessageGoneError, SlackDelivery, make_client
from notifier.destinations.slack.render import SlackMessage
from notifier.errors import DeferredError, SlackRejectedError, SlackUnavailableError
from notifier.pacing import Pacer
from sandbox.procs import free_port
from sandbox.slack_standin import TOKEN, SlackStandin

MESSAGE = SlackMessage(channel="C0123ABCD", text="hello")


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as server:
        yield server


def delivery(slack: SlackStandin, token: str = TOKEN) -> SlackDelivery:
    return SlackDelivery(make_client(token, f"{slack.url}/api/", timeout=5))


def test_posts_and_returns_ts(slack: SlackStandin) -> None:
    ts = delivery(slack).post(MESSAGE)
    [posted] = slack.messages()
    assert posted.ts == ts
    assert posted.body["channel"] == "C0123ABCD"
    assert posted.body["text"] == "hello"


def test_rate_limit_is_retried_after_retry_after(slack: SlackStandin) -> None:
    slack.fail_next(429)
    delivery(slack).post(MESSAGE)
    assert len(slack.messages()) == 1
    assert slack.attempts == 2


def test_server_error_is_retried(slack: SlackStandin) -> None:
    slack.fail_next(500)
    delivery(slack).post(MESSAGE)
    assert len(slack.messages()) == 1


def test_persistent_500_is_transient(slack: SlackStandin) -> None:
    slack.fail_all = 500
    with pytest.raises(SlackUnavailableError, match="500"):
        delivery(slack).post(MESSAGE)
    assert slack.attempts == 3  # one try and the ServerErrorRetryHandler's two retries


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel", "invalid_blocks"])
def test_permanent_slack_errors(slack: SlackStandin, error: str) -> None:
    slack.fail_all = error
    with pytest.raises(SlackRejectedError, match=error):
        delivery(slack).post(MESSAGE)
    assert slack.attempts == 1


def test_wrong_token_is_rejected_and_never_echoed(slack: SlackStandin) -> None:
    bad = "xoxb-wrong-token-0000"
    with pytest.raises(SlackRejectedError) as info:
        delivery(slack, token=bad).post(MESSAGE)
    assert "invalid_auth" in str(info.value)
    assert bad not in str(info.value)


def test_unreachable_slack_is_transient() -> None:
    client = make_client(TOKEN, f"http://127.0.0.1:{free_port()}/api/", timeout=2)
    with pytest.raises(SlackUnavailableError, match="unreachable") as info:
        SlackDelivery(client).post(MESSAGE)
    assert TOKEN not in str(info.value)


def test_a_ticket_is_for_one_channel(slack: SlackStandin) -> None:
    pacer = Pacer(per_second=100)
    paced = SlackDelivery(make_client(TOKEN, f"{slack.url}/api/", timeout=5, pacer=pacer), pacer)
    with pytest.raises(ValueError, match="ticket for C9"):
        paced.post(MESSAGE, pacer.reserve("C9"))
    assert slack.attempts == 0


def test_paced_delivery_still_posts_everything(slack: SlackStandin) -> None:
    paced = SlackDelivery(make_client(TOKEN, f"{slack.url}/api/", timeout=5), Pacer(per_second=200))
    for _ in range(5):
        paced.post(MESSAGE)
    assert len(slack.messages()) == 5
    assert slack.rate_limited == 0


def test_a_429_defers_the_whole_channel_and_retries_through_the_pacer(slack: SlackStandin) -> None:
    pacer = Pacer(per_second=1000)
    paced = SlackDelivery(make_client(TOKEN, f"{slack.url}/api/", timeout=5, pacer=pacer), pacer)
    slack.fail_next(429)  # Retry-After: 1
    paced.post(MESSAGE)
    assert slack.attempts == 2
    assert len(slack.messages()) == 1
    # The channel's schedule moved past Retry-After for every thread, not just this one.
    tight = Pacer(per_second=1000, hold=0.5)
    tight.defer("C0123ABCD", 1.0)
    with pytest.raises(DeferredError, match="busy"):
        tight.reserve("C0123ABCD")


def test_paced_threads_all_post_under_a_strict_rate_limit() -> None:
    # The pacer at half the stand-in's limit: spacing (44 ms) twice the limit's (20 ms), so a
    # loaded machine's scheduling jitter does not turn into 429s beyond the client's retry.
    with SlackStandin(rate_per_second=50) as strict:
        pacer = Pacer(per_second=25)
        paced = SlackDelivery(make_client(TOKEN, f"{strict.url}/api/", timeout=5, pacer=pacer), pacer)
        posts = [threading.Thread(target=paced.post, args=(MESSAGE,)) for _ in range(20)]
        for thread in posts:
            thread.start()
        for thread in posts:
            thread.join(timeout=60)
        assert len(strict.messages()) == 20  # 429s, if jitter causes any, are retried through the pacer


def test_a_reply_and_an_update_carry_their_thread_and_metadata(slack: SlackStandin) -> None:
    out = delivery(slack)
    root = out.post(MESSAGE)
    meta = {"event_type": "vertex_pipeline_run", "event_payload": {"job": "j", "state": "FAILED"}}
    reply = out.post_payload(
        {
            "channel": "C0123ABCD",
            "text": "again",
            "thread_ts": root,
            "reply_broadcast": True,
            "metadata": meta,
        }
    )
    [posted] = slack.replies(root)
    assert posted.ts == reply and posted.broadcast and posted.metadata == meta
    out.update({"channel": "C0123ABCD", "ts": root, "text": "hello, updated", "metadata": meta})
    [update] = slack.updates_of(root)
    assert update.body["text"] == "hello, updated"
    current = slack.current("C0123ABCD", root)
    assert current is not None and current["text"] == "hello, updated" and current["metadata"] == meta


@pytest.mark.parametrize("error", ["message_not_found", "cant_update_message", "edit_window_closed"])
def test_an_update_of_a_message_that_cannot_be_rewritten_says_it_is_gone(
    slack: SlackStandin, error: str
) -> None:
    out = delivery(slack)
    ts = out.post(MESSAGE)
    if error == "message_not_found":
        slack.delete("C0123ABCD", ts)
    else:
        slack.fail_next_update(error)
    with pytest.raises(MessageGoneError, match=error):
        out.update({"channel": "C0123ABCD", "ts": ts, "text": "x"})
    assert slack.updates == []


def test_an_update_waits_for_the_channels_pacer_and_retries_like_a_post(slack: SlackStandin) -> None:
    pacer = Pacer(per_second=5)
    out = SlackDelivery(make_client(TOKEN, f"{slack.url}/api/", timeout=5, pacer=pacer), pacer)
    ts = out.post(MESSAGE)
    slack.fail_next_update(429, 500)
    started = time.monotonic()
    out.update({"channel": "C0123ABCD", "ts": ts, "text": "x"})
    # The 429's Retry-After (1 s) deferred the channel; the 500 was retried by the SDK.
    assert time.monotonic() - started >= 1.0
    assert slack.update_attempts == 3 and len(slack.updates) == 1
    slack.fail_next_update(503, 503, 503)
    with pytest.raises(SlackUnavailableError):
        out.update({"channel": "C0123ABCD", "ts": ts, "text": "y"})
