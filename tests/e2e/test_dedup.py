"""Exactly one Slack message per pipeline run and state, with the Firestore emulator.

Real components only: Pub/Sub emulator push → functions-framework → Firestore emulator
claims → Slack stand-in. Crashes are real SIGKILLs of the function's process group.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import free_port, wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import LocalStack, push_body
from tests.support.paths import DATA
from tests.support.runs import new_run

pytestmark = pytest.mark.emulator

FAILED = (DATA / "failed-with-tasks.status.json").read_bytes()
_runs = itertools.count(1)


def unique_status(stack: LocalStack) -> bytes:
    """A FAILED status of a run no other test uses (claims outlive a test), known to Vertex."""
    return new_run(stack.vertex, f"churn-training-dedup{next(_runs)}")


def dedup_env(firestore: FirestoreEmulator, **extra: str) -> dict[str, str]:
    return {**firestore.env, "DEDUP_COLLECTION": "notifier-claims", "DEDUP_LEASE_SECONDS": "4", **extra}


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    workdir = tmp_path_factory.mktemp("dedup")
    with LocalStack.start(
        workdir, emulator=pubsub_emulator, jobs_dir=DATA, env=dedup_env(firestore)
    ) as stack:
        yield stack


def test_same_status_published_twice_posts_once(fresh: LocalStack) -> None:
    route = fresh.add_route()
    status = unique_status(fresh)
    fresh.publish(route, status)
    fresh.publish(route, status)
    wait_until(
        lambda: "Duplicate delivery" in fresh.function.log_text(),
        timeout=30,
        message="the duplicate to be seen",
    )
    assert len(fresh.slack.messages()) == 1


def test_same_message_delivered_twice_posts_once(fresh: LocalStack) -> None:
    body = push_body(unique_status(fresh), message_id="dup-1")
    vertex_calls = len(fresh.vertex.requests)
    assert fresh.function.push(body) == 200
    assert fresh.function.push(body) == 200  # a redelivery of the same message
    assert len(fresh.slack.messages()) == 1
    # The duplicate cost no second Vertex AI call: the first one's settled answer is kept.
    assert len(fresh.vertex.requests) == vertex_calls + 1


def test_redelivery_after_a_transient_failure_posts_once(fresh: LocalStack) -> None:
    fresh.slack.fail_next(503, 503, 503)  # the whole first delivery fails, SDK retries included
    route = fresh.add_route()
    fresh.publish(route, unique_status(fresh))
    wait_until(lambda: fresh.slack.messages(), timeout=30, message="the redelivered post")
    assert fresh.slack.attempts == 4
    assert len(fresh.slack.messages()) == 1


def test_concurrent_deliveries_post_once(fresh: LocalStack) -> None:
    body = push_body(unique_status(fresh), message_id="conc-1")
    fresh.slack.stall()  # hold the first post in flight while the second delivery arrives
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(fresh.function.push(body))) for _ in range(2)]
    for thread in threads:
        thread.start()
    # One delivery holds the claim and is stuck in Slack; the other finds the pending lease.
    wait_until(
        lambda: codes == [500] and fresh.slack.stalled == 1,
        timeout=30,
        message="one delivery held in Slack and the other turned back",
    )
    fresh.slack.unstall()  # the held attempt fails; the SDK's retry of it then posts
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [200, 500]
    assert len(fresh.slack.messages()) == 1
    # Pub/Sub redelivers the turned-back delivery: now a duplicate, acknowledged.
    assert fresh.function.push(body) == 200
    assert len(fresh.slack.messages()) == 1


def test_crash_between_claim_and_post_posts_once_after_the_lease(fresh: LocalStack) -> None:
    route = fresh.add_route(max_delivery_attempts=20)
    fresh.slack.stall()
    fresh.publish(route, unique_status(fresh))
    wait_until(lambda: fresh.slack.stalled >= 1, timeout=30, message="the post to be in flight")
    fresh.function.kill()  # the instance dies holding a pending claim
    fresh.slack.reset()  # Slack answers again; the dead instance's request was never recorded
    fresh.function = fresh.function.restart(fresh.workdir)
    wait_until(lambda: fresh.slack.messages(), timeout=60, message="the post after the lease expired")
    assert len(fresh.slack.messages()) == 1
    log = fresh.function.log_text()
    assert "Took over an expired claim" in log


def test_firestore_down_still_posts_once_with_a_warning(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    dead = dedup_env(firestore, FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{free_port()}")
    workdir = tmp_path_factory.mktemp("nofs")
    with LocalStack.start(workdir, emulator=pubsub_emulator, jobs_dir=DATA, env=dead) as stack:
        route = stack.add_route()
        stack.publish(route, unique_status(stack))
        wait_until(lambda: stack.slack.messages(), timeout=60, message="the unguarded post")
        assert len(stack.slack.messages()) == 1
        log = stack.function.log_text()
        assert "WARNING" in log and "De-duplication unavailable" in log
