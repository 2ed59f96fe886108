"""Google Chat webhooks through ``requests`` against the Chat stand-in: threads, quota, classification."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifier.destinations.google_chat.deliver import (
    ChatRejectedError,
    ChatUnavailableError,
    ChatWebhook,
    space_of,
)
from notifier.errors import DeferredError
from notifier.pacing import Pacer
from sandbox.chat_standin import ChatStandin


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatStandin]:
    with ChatStandin() as standin:
        yield standin


@pytest.fixture
def webhook(chat: ChatStandin) -> ChatWebhook:
    chat.reset()
    chat.rate_per_minute = None
    return ChatWebhook(Pacer(0))


def test_one_thread_per_pipeline_key(chat: ChatStandin, webhook: ChatWebhook) -> None:
    url = chat.webhook("AAAAspace1")
    for key in ("churn-training", "feature-backfill", "churn-training"):
        webhook.post(url, {"text": key}, key)
    threads = [(m.thread_key, m.thread) for m in chat.in_space("AAAAspace1")]
    assert threads[0][1] == threads[2][1] != threads[1][1]
    assert {m.reply_option for m in chat.messages} == {"REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}


def test_a_429_moves_the_space_back_and_hands_the_message_back(chat: ChatStandin) -> None:
    # Chat's quota is the space's: a 429 defers every post to it by Retry-After and gives the
    # message back to Pub/Sub, as a busy Slack channel does, instead of sleeping in the request.
    chat.reset()
    pacer = Pacer(1000.0, hold=0.5)
    webhook = ChatWebhook(pacer)
    url = chat.webhook("AAAAspace2")
    chat.fail_next(429)
    with pytest.raises(DeferredError, match=r"HTTP 429 for space AAAAspace2.*handed back"):
        webhook.post(url, {"text": "x"}, "k")
    with pytest.raises(DeferredError, match="AAAAspace2 is busy"):
        pacer.reserve("AAAAspace2")  # Retry-After (1 s) is past the 0.5 s hold
    assert pacer.reserve("AAAAspace9") is not None  # other spaces are not held back
    chat.fail_next(503)
    with pytest.raises(ChatUnavailableError, match="HTTP 503 for space AAAAspace2"):
        webhook.post(url, {"text": "x"}, "k")
    assert chat.in_space("AAAAspace2") == []


@pytest.mark.parametrize(
    ("code", "kind"), [(400, ChatRejectedError), (404, ChatRejectedError), (500, ChatUnavailableError)]
)
def test_classification(chat: ChatStandin, webhook: ChatWebhook, code: int, kind: type) -> None:
    url = chat.webhook("AAAAspace3")
    chat.fail_next(code)
    with pytest.raises(kind):
        webhook.post(url, {"text": "x"}, "k")


def test_a_revoked_webhook_is_permanent_and_never_logged(chat: ChatStandin, webhook: ChatWebhook) -> None:
    url = chat.webhook("AAAAspace4", key="k1", token="secret-token-value")
    with pytest.raises(ChatRejectedError, match="HTTP 403") as info:
        webhook.post(url.replace("secret-token-value", "revoked"), {"text": "x"}, "k")
    assert "secret-token-value" not in str(info.value) and "revoked" not in str(info.value)
    assert space_of(url) == "AAAAspace4"


def test_paced_under_the_per_space_quota(chat: ChatStandin) -> None:
    chat.reset()
    chat.rate_per_minute = 120  # 2 a second, as a scaled-down 60 a minute
    url = chat.webhook("AAAAspace5")
    webhook = ChatWebhook(Pacer(2.0))
    for n in range(5):
        webhook.post(url, {"text": str(n)}, "k")
    assert len(chat.in_space("AAAAspace5")) == 5
    assert chat.rate_limited == 0
