"""``replay redrive`` against the emulator: N dead-lettered in, N republished, none lost or doubled."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass

import pytest

from replay.errors import EXIT_OK, EXIT_RUNTIME
from replay.redrive import original_attributes
from sandbox.pubsub_emulator import PubSubEmulator, _request
from tests.support.topics import Topic

pytestmark = pytest.mark.emulator

_names = itertools.count(1)
MAX_ATTEMPTS = 5


@dataclass
class DeadLetters:
    """A topic whose subscription dead-letters every message, and the dead-letter subscription."""

    source: Topic
    dead_subscription: str


def _nack_until_dead(emulator: PubSubEmulator, subscription: str, count: int, dead: str) -> None:
    """Refuse every delivery until all ``count`` messages sit on the dead-letter subscription."""
    for _ in range(MAX_ATTEMPTS * count + 10):
        batch = emulator.pull(subscription, max_messages=count)
        if not batch:
            break
        _request(
            "POST",
            emulator.url(f"{subscription}:modifyAckDeadline"),
            {"ackIds": [m["ackId"] for m in batch], "ackDeadlineSeconds": 0},
        )
    # Peek without acknowledging: a nack makes them available to redrive at once.
    waiting = emulator.pull(dead, max_messages=count + 10)
    _request(
        "POST",
        emulator.url(f"{dead}:modifyAckDeadline"),
        {"ackIds": [m["ackId"] for m in waiting], "ackDeadlineSeconds": 0},
    )
    assert len(waiting) == count, f"expected {count} dead-lettered messages, found {len(waiting)}"


@pytest.fixture
def dead_letters(emulator_env: PubSubEmulator, topic: Topic) -> DeadLetters:
    """``count`` messages really dead-lettered by the emulator (with its added attributes)."""
    n = next(_names)
    em = emulator_env
    dead_topic = em.create_topic(f"redrive-{n}-dead")
    dead_sub = em.create_subscription(f"redrive-{n}-dead-sub", dead_topic)
    failing = em.create_subscription(
        f"redrive-{n}-failing", topic.topic, dead_letter_topic=dead_topic, max_delivery_attempts=MAX_ATTEMPTS
    )
    return DeadLetters(Topic(em, topic.topic, failing), dead_sub)


def _publish(emulator: PubSubEmulator, topic: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    sent = []
    for i in range(count):
        data = json.dumps({"state": "FAILED", "pipelineTaskName": f"run-{i}"}).encode()
        attributes = {"state": "FAILED", "gcp_region": "us-central1", "seq": str(i)}
        emulator.publish(topic, data, attributes)
        sent.append((data, attributes))
    return sent


def _key(data: bytes, attributes: dict[str, str]) -> tuple[bytes, str]:
    return data, json.dumps(attributes, sort_keys=True)


def test_dead_letter_attributes_are_dropped_and_nothing_else() -> None:
    attributes = {
        "state": "FAILED",
        "CloudPubSubDeadLetterSourceDeliveryCount": "5",
        "CloudPubSubDeadLetterSourceSubscription": "s",
        "CloudPubSubDeadLetterSourceSubscriptionProject": "p",
        "CloudPubSubDeadLetterSourceTopicPublishTime": "2026-11-27T06:00:00Z",
        "CloudPubSub": "kept",
    }
    assert original_attributes(attributes) == {"state": "FAILED", "CloudPubSub": "kept"}


def test_redrive_in_two_runs_republishes_each_message_exactly_once(
    replay, emulator_env: PubSubEmulator, topic: Topic, dead_letters: DeadLetters
) -> None:
    count = 12
    sent = _publish(emulator_env, topic.topic, count)
    _nack_until_dead(emulator_env, dead_letters.source.subscription, count, dead_letters.dead_subscription)
    # The healthy subscription got the originals; from here on it sees only what is redriven.
    assert len(topic.received()) == count

    first = replay(
        "redrive",
        "--subscription",
        dead_letters.dead_subscription,
        "--topic",
        topic.topic,
        "--max",
        "5",
        "--batch",
        "2",
    )
    assert first.code == EXIT_OK, first.err
    assert "pulled 5, republished 5, acknowledged 5, failed 0" in first.out
    after_first = topic.received()
    assert len(after_first) == 5

    second = replay("redrive", "--subscription", dead_letters.dead_subscription, "--topic", topic.topic)
    assert second.code == EXIT_OK, second.err
    assert "pulled 7, republished 7, acknowledged 7, failed 0" in second.out
    republished = after_first + topic.received()

    counts = Counter(_key(m["data"], m["attributes"]) for m in republished)
    assert counts == Counter(_key(d, a) for d, a in sent)  # every one, once, attributes as published
    assert emulator_env.pull(dead_letters.dead_subscription) == []

    third = replay("redrive", "--subscription", dead_letters.dead_subscription, "--topic", topic.topic)
    assert third.code == EXIT_OK
    assert "pulled 0, republished 0" in third.out


def test_a_failed_publish_leaves_the_messages_dead_lettered(
    replay, emulator_env: PubSubEmulator, topic: Topic, dead_letters: DeadLetters
) -> None:
    _publish(emulator_env, topic.topic, 3)
    _nack_until_dead(emulator_env, dead_letters.source.subscription, 3, dead_letters.dead_subscription)
    missing = topic.topic + "-gone"
    result = replay(
        "redrive", "--subscription", dead_letters.dead_subscription, "--topic", missing, "--timeout", "5"
    )
    assert result.code == EXIT_RUNTIME
    assert "acknowledged 0, failed 3" in result.out
    [line] = result.err.strip().splitlines()
    assert missing in line and "3 message(s) left on" in line
    # Handed back at once (ack deadline 0), so all three are still there for the next run.
    assert len(emulator_env.pull(dead_letters.dead_subscription)) == 3


def test_a_missing_subscription_is_one_line(replay, topic: Topic) -> None:
    gone = topic.subscription + "-gone"
    result = replay("redrive", "--subscription", gone, "--topic", topic.topic, "--timeout", "5")
    assert result.code == EXIT_RUNTIME
    [line] = result.err.strip().splitlines()
    assert gone in line and "pull failed" in line


def test_ctrl_c_mid_batch_then_a_rerun_loses_and_doubles_nothing(
    replay, emulator_env: PubSubEmulator, topic: Topic, dead_letters: DeadLetters, monkeypatch
) -> None:
    from replay.progress import Progress

    count = 8
    sent = _publish(emulator_env, topic.topic, count)
    _nack_until_dead(emulator_env, dead_letters.source.subscription, count, dead_letters.dead_subscription)
    assert len(topic.received()) == count

    advance = Progress.advance

    def interrupt_at_the_third(self: Progress, done: int = 0, failed: int = 0) -> None:
        advance(self, done, failed)
        if self.done == 3:
            raise KeyboardInterrupt  # as Ctrl-C would, between two publishes of one batch

    monkeypatch.setattr(Progress, "advance", interrupt_at_the_third)
    first = replay("redrive", "--subscription", dead_letters.dead_subscription, "--topic", topic.topic)
    monkeypatch.setattr(Progress, "advance", advance)
    assert first.code == 130
    assert "interrupted; run it again" in first.err

    second = replay("redrive", "--subscription", dead_letters.dead_subscription, "--topic", topic.topic)
    assert second.code == EXIT_OK, second.err
    counts = Counter(_key(m["data"], m["attributes"]) for m in topic.received())
    assert counts == Counter(_key(d, a) for d, a in sent)
