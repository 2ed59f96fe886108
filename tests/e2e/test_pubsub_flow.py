"""End to end on real local components, no patching of our code.

Pub/Sub emulator (push subscription with dead-lettering) → functions-framework serving
``notify`` → Vertex REST stand-in and Slack Web API stand-in, all on loopback.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import DEFAULT_CHANNEL, LocalStack, push_body
from tests.support.paths import DATA
from tests.support.runs import new_run

pytestmark = pytest.mark.emulator

FAILED = (DATA / "failed-with-tasks.status.json").read_bytes()
SUCCEEDED = (DATA / "succeeded.status.json").read_bytes()
CANCELLED = (DATA / "cancelled.status.json").read_bytes()


@pytest.fixture(scope="module")
def stack(pubsub_emulator: PubSubEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack.start(tmp_path_factory.mktemp("e2e"), emulator=pubsub_emulator, jobs_dir=DATA) as stack:
        yield stack


def wait_for_posts(stack: LocalStack, count: int, timeout: float = 30.0) -> list:
    return wait_until(
        lambda: len(stack.slack.messages()) >= count and stack.slack.messages(),
        timeout=timeout,
        message=lambda: f"{count} Slack post(s); function log:\n{stack.function.log_text()[-3000:]}",
    )


def log_count(stack: LocalStack, text: str) -> int:
    return stack.function.log_text().count(text)


def test_failure_with_failed_tasks(fresh: LocalStack) -> None:
    route = fresh.add_route()
    fresh.publish(route, FAILED, {"gcp_region": "us-central1"})
    [posted] = wait_for_posts(fresh, 1)
    body = json.dumps(posted.body)
    assert posted.channel == DEFAULT_CHANNEL
    assert posted.body["text"].startswith(":scream: Pipeline job *churn-training-20261127061500* failed.")
    assert "Trainer" in body and "dtype float32" in body
    assert "Open in Vertex AI" in body


def test_success_and_cancelled(fresh: LocalStack) -> None:
    route = fresh.add_route()
    fresh.publish(route, SUCCEEDED)
    fresh.publish(route, CANCELLED)
    posts = wait_for_posts(fresh, 2)
    texts = sorted(p.body["text"] for p in posts)
    assert any("completed successfully" in t for t in texts)
    assert any("was cancelled" in t for t in texts)
    assert len(fresh.slack.messages()) == 2


def test_the_channel_is_the_pipelines_and_an_attribute_cannot_move_it(fresh: LocalStack) -> None:
    route = fresh.add_route()
    status = new_run(fresh.vertex, "churn-training-flow1", channel="C0PIPELINE")
    fresh.publish(route, status, {"slack_channel_id": "C0ATTACKER"})
    [posted] = wait_for_posts(fresh, 1)
    assert posted.channel == "C0PIPELINE"
    assert "Ignoring the slack_channel_id attribute 'C0ATTACKER'" in fresh.function.log_text()


def test_vertex_down_still_posts_a_degraded_message(fresh: LocalStack) -> None:
    status = new_run(fresh.vertex, "churn-training-flow-down1", channel="C0PIPELINE")
    fresh.vertex.fail_all = 500
    route = fresh.add_route()
    fresh.publish(route, status, {"slack_channel_id": "C0PIPELINE"})
    [posted] = wait_for_posts(fresh, 1)
    body = json.dumps(posted.body)
    assert "details unavailable" in body
    assert "Trainer" in body  # still named, from the DAG error message
    # Unconfirmed: the default channel, never one the message names.
    assert posted.channel == "C0DEFAULT1"
    assert "WARNING" in fresh.function.log_text()


def test_slack_429_then_ok_posts_once(fresh: LocalStack) -> None:
    fresh.slack.fail_next(429)
    route = fresh.add_route()
    fresh.publish(route, FAILED)
    wait_for_posts(fresh, 1)
    assert fresh.slack.attempts == 2
    assert len(fresh.slack.messages()) == 1


def test_slack_500_until_it_recovers_is_redelivered_and_posted_once(fresh: LocalStack) -> None:
    fresh.slack.fail_all = 500
    route = fresh.add_route(max_delivery_attempts=10)
    fresh.publish(route, FAILED)
    # Each delivery is 3 attempts (the SDK retries 500 twice); wait for a redelivery.
    wait_until(lambda: fresh.slack.attempts >= 4, timeout=30, message="a Pub/Sub redelivery")
    assert "Pub/Sub will redeliver" in fresh.function.log_text()
    fresh.slack.fail_all = None
    [posted] = wait_for_posts(fresh, 1)
    assert "failed" in posted.body["text"]
    assert fresh.emulator is not None
    assert fresh.emulator.pull(route.dead_letter_subscription) == []


def test_invalid_auth_is_acknowledged_not_retried(fresh: LocalStack) -> None:
    fresh.slack.fail_all = "invalid_auth"
    route = fresh.add_route()
    before = log_count(fresh, "invalid_auth")
    fresh.publish(route, FAILED)
    wait_until(
        lambda: log_count(fresh, "invalid_auth") > before, timeout=30, message="invalid_auth ERROR log"
    )
    assert "ERROR" in fresh.function.log_text()
    # A sentinel through the same subscription: by the time it is posted, a redelivery
    # of the rejected message would have shown up as a second Slack attempt.
    fresh.slack.fail_all = None
    fresh.publish(route, SUCCEEDED)
    wait_for_posts(fresh, 1)
    assert fresh.slack.attempts == 2
    assert len(fresh.slack.messages()) == 1


def test_ack_semantics_at_the_http_boundary(fresh: LocalStack) -> None:
    """2xx acknowledges (posted, or a permanent error); 5xx asks Pub/Sub to redeliver."""
    fn = fresh.function
    assert fn.push(push_body(FAILED, message_id="h1")) == 200
    assert fn.push(push_body(b"not json", message_id="h2")) == 200
    fresh.slack.fail_all = "channel_not_found"
    assert fn.push(push_body(FAILED, message_id="h3")) == 200
    fresh.slack.fail_all = 503
    assert fn.push(push_body(FAILED, message_id="h4")) == 500
    assert len(fresh.slack.messages()) == 1


def test_a_message_slack_never_accepts_ends_in_the_dead_letter_topic(fresh: LocalStack) -> None:
    fresh.slack.fail_all = 503
    route = fresh.add_route(max_delivery_attempts=5)
    fresh.publish(route, FAILED, {"gcp_region": "us-central1"})
    assert fresh.emulator is not None
    emulator = fresh.emulator
    [dead] = wait_until(
        lambda: emulator.pull(route.dead_letter_subscription), timeout=60, message="the dead-lettered message"
    )

    assert base64.b64decode(dead["message"]["data"]) == FAILED
    assert dead["message"]["attributes"]["gcp_region"] == "us-central1"
    assert fresh.slack.messages() == []


def test_garbage_is_logged_and_acknowledged(fresh: LocalStack) -> None:
    route = fresh.add_route()
    before = log_count(fresh, "message data is not JSON")
    fresh.publish(route, b"\x00definitely not a status")
    wait_until(lambda: log_count(fresh, "message data is not JSON") > before, timeout=30, message="ERROR log")
    assert fresh.slack.messages() == []


def test_token_never_in_function_logs(stack: LocalStack) -> None:
    from sandbox.slack_standin import TOKEN

    assert stack.function.log_text(), "the function logged nothing at all"
    assert TOKEN not in stack.function.log_text()


# Poison: every shape the parsers must refuse. Each is delivered once, acknowledged, and
# logged at ERROR with its message id; good messages published around them all arrive.
POISON = {
    "deep nesting": b"[" * 5000 + b"]" * 5000,
    "a 5,000-digit integer": b'{"state": "FAILED", "error": {"code": ' + b"9" * 5000 + b"}}",
    "a float out of range": b'{"state": "FAILED", "error": {"code": 1e999999}}',
    "NaN": b'{"state": "FAILED", "error": {"code": NaN}}',
    "NUL bytes": b"\x00" * 100,
    "a 1 MB string": json.dumps({"state": "FAILED", "error": {"message": "x" * 1_000_000}}).encode(),
    "UTF-16 with its BOM": '{"state": "FAILED"}'.encode("utf-16"),
    "an encoded surrogate (not UTF-8)": b'{"state": "FAILED", "error": {"message": "\xed\xa0\x80"}}',
}


def test_poison_is_acknowledged_once_and_good_messages_around_it_arrive(fresh: LocalStack) -> None:
    route = fresh.add_route(max_delivery_attempts=5)
    log_start = len(fresh.function.log_text())  # the module's stack has logged other tests already
    poison_ids: dict[str, str] = {}
    fresh.publish(route, FAILED)
    for name, data in POISON.items():
        poison_ids[name] = fresh.publish(route, data)
        fresh.publish(route, FAILED)
    wait_for_posts(fresh, len(POISON) + 1, timeout=60)

    def error_lines(message_id: str) -> list[str]:
        return [
            line
            for line in fresh.function.log_text()[log_start:].splitlines()
            if f"[msg={message_id} " in line and " ERROR " in line
        ]

    for name, message_id in poison_ids.items():
        [line] = wait_until(
            lambda mid=message_id: error_lines(mid),
            timeout=30,
            message=lambda n=name: f"the ERROR line for {n}",
        )
        assert "acknowledged without a notification" in line, (name, line)
    log = fresh.function.log_text()[log_start:]
    assert "Unexpected error" not in log
    assert "will redeliver" not in log
    assert fresh.emulator is not None
    assert fresh.emulator.pull(route.dead_letter_subscription) == []
    assert len(fresh.slack.messages()) == len(POISON) + 1
    assert {name: len(error_lines(mid)) for name, mid in poison_ids.items()} == dict.fromkeys(POISON, 1)


def test_the_function_logs_its_version_at_cold_start(stack: LocalStack) -> None:
    from notifier.version import __version__

    assert log_count(stack, f"notifier {__version__} starting") >= 1
