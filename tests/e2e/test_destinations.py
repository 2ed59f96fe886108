"""Slack, Google Chat and SMS side by side, end to end on the emulators.

Pub/Sub emulator push → the function → Slack, Chat webhook and Twilio Messages API
stand-ins (the real slack_sdk, requests and twilio clients) with Firestore claims per
destination and address. Each test uses runs no other test uses: claims outlive a test.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import CHAT_SPACES, DEFAULT_CHANNEL, TWILIO_FROM, LocalStack
from tests.support.runs import new_run, template

pytestmark = pytest.mark.emulator

NUMBERS = ("+15551230001", "+15551230002")
SPACE = CHAT_SPACES["ml-alerts"]
_runs = itertools.count(1)


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": "destinations-claims",
        "SLACK_THREADS": "false",
        "GOOGLE_CHAT_SPACES": "ml-alerts",
        "SMS_TO": ",".join(NUMBERS),
    }
    with LocalStack.start(
        tmp_path_factory.mktemp("destinations"), emulator=pubsub_emulator, env=env
    ) as stack:
        yield stack


@pytest.fixture
def clean(fresh: LocalStack) -> LocalStack:
    fresh.chat.reset()
    fresh.twilio.reset()
    return fresh


def failed_run(stack: LocalStack, pipeline: str = "churn-training", message: str = "") -> tuple[str, bytes]:
    """A FAILED status of a new run of ``pipeline`` (its job id ends in a run timestamp), known to Vertex."""
    job_id = f"{pipeline}-202611270{next(_runs):05d}"
    error = {**template("failed-with-tasks")[0]["error"], **({"message": message} if message else {})}
    return job_id, new_run(stack.vertex, job_id, pipeline=pipeline, error=error)


def wait_for(stack: LocalStack, *, slack: int, chat: int, sms: int, timeout: float = 45) -> None:
    def counts() -> tuple[int, int, int]:
        return len(stack.slack.messages()), len(stack.chat.messages), len(stack.twilio.sent)

    wait_until(
        lambda: all(got >= want for got, want in zip(counts(), (slack, chat, sms), strict=True)),
        timeout=timeout,
        message=lambda: (
            f"{slack}/{chat}/{sms} deliveries, got {counts()}; log:\n{stack.function.log_text()[-3000:]}"
        ),
    )


def test_one_message_per_destination_and_address_and_a_redelivery_sends_none(clean: LocalStack) -> None:
    route = clean.add_route()
    job_id, status = failed_run(clean)
    clean.publish(route, status)
    wait_for(clean, slack=1, chat=1, sms=2)
    [posted] = clean.slack.messages()
    [card] = clean.chat.in_space(SPACE)
    assert posted.channel == DEFAULT_CHANNEL and job_id in posted.body["text"]
    assert card.body["text"].startswith("\U0001f631 Pipeline job *" + job_id)
    # Vertex AI confirmed the run: the card names the pipeline and its failed tasks.
    card_text = json.dumps(card.body, ensure_ascii=False)
    assert card.body["cardsV2"][0]["card"]["header"]["title"].startswith("\U0001f631 churn-training failed")
    assert "Trainer" in card_text and "unavailable" not in card_text
    assert sorted(sms.to for sms in clean.twilio.sent) == list(NUMBERS)
    assert {sms.from_ for sms in clean.twilio.sent} == {TWILIO_FROM}
    start = len(clean.function.log_text())
    clean.publish(route, status)  # a retried exit handler
    wait_until(
        lambda: clean.function.log_text()[start:].count("Duplicate delivery") >= 4,
        timeout=30,
        message="four duplicates recognised",
    )
    assert (len(clean.slack.messages()), len(clean.chat.messages), len(clean.twilio.sent)) == (1, 1, 2)
    # The numbers were texted, and the log tells them apart without showing them whole.
    log = clean.function.log_text()
    assert "Posted to sms +15•••••••01" in log and not any(number in log for number in NUMBERS)


def test_chat_threads_by_pipeline(clean: LocalStack) -> None:
    route = clean.add_route()
    for pipeline in ("churn-training", "feature-backfill", "churn-training"):
        clean.publish(route, failed_run(clean, pipeline)[1])
    wait_for(clean, slack=3, chat=3, sms=6)
    threads = {}
    for message in clean.chat.in_space(SPACE):
        threads.setdefault(message.body["thread"]["threadKey"], set()).add(message.thread)
    assert sorted(threads) == ["churn-training", "feature-backfill"]
    assert all(len(names) == 1 for names in threads.values())  # one thread per pipeline
    assert {m.reply_option for m in clean.chat.messages} == {"REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"}


def test_an_sms_stays_short_and_plain_with_hostile_text(clean: LocalStack) -> None:
    route = clean.add_route()
    hostile = "<!channel> 😱 " + "\u202e\x1b[31m" * 50 + "é" * 2000 + " https://evil.example/" + "x" * 500
    clean.publish(route, failed_run(clean, message=hostile)[1])
    wait_for(clean, slack=1, chat=1, sms=2)
    for sms in clean.twilio.sent:
        assert len(sms.body) <= 320 and sms.body.isascii() and sms.body.isprintable()
        assert sms.body.endswith("?project=271009669852")  # the console link, whole


def test_transient_failures_retry_only_the_missing_destinations(clean: LocalStack) -> None:
    route = clean.add_route(max_delivery_attempts=10)
    clean.chat.fail_next(429, 429)  # the webhook tries a 429 once more, then leaves it to Pub/Sub
    clean.twilio.fail_next(20500)  # the first SMS: Twilio's 500
    start = len(clean.function.log_text())
    clean.publish(route, failed_run(clean)[1])
    wait_for(clean, slack=1, chat=1, sms=2)
    log = clean.function.log_text()[start:]
    assert "Pub/Sub will redeliver" in log
    # Delivered again, only what was missing went out: one of each, nothing twice.
    assert (len(clean.slack.messages()), len(clean.chat.messages), len(clean.twilio.sent)) == (1, 1, 2)
    assert len({sms.to for sms in clean.twilio.sent}) == 2
    assert log.count("Duplicate delivery") >= 1  # Slack (and the SMS that went out) on the redelivery


def test_a_permanent_error_at_one_destination_blocks_no_other(clean: LocalStack) -> None:
    route = clean.add_route()
    clean.twilio.fail_next(21211)  # the first number is not a valid mobile number
    start = len(clean.function.log_text())
    clean.publish(route, failed_run(clean)[1])
    wait_for(clean, slack=1, chat=1, sms=1)
    wait_until(
        lambda: "Not sent to sms" in clean.function.log_text()[start:], timeout=30, message="the SMS ERROR"
    )
    log = clean.function.log_text()[start:]
    [line] = [line for line in log.splitlines() if "Not sent to sms" in line]
    assert " ERROR " in line and "error 21211" in line
    assert "will redeliver" not in log  # acknowledged: a retry cannot fix a bad number
    assert (len(clean.slack.messages()), len(clean.chat.messages), len(clean.twilio.sent)) == (1, 1, 1)


def test_success_goes_to_slack_and_chat_but_not_by_sms(clean: LocalStack) -> None:
    route = clean.add_route()
    clean.publish(route, new_run(clean.vertex, "churn-training-dest-ok1", case="succeeded"))
    wait_for(clean, slack=1, chat=1, sms=0)
    assert clean.twilio.sent == [] and clean.twilio.attempts == 0  # SMS_ON_FAILURE_ONLY (default)
