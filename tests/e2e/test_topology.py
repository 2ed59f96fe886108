"""The function as deployed: one gunicorn process serving the configured concurrency, and
pacing that keeps busy channels from starving quiet ones (pushed straight over HTTP).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from sandbox import topology
from sandbox.procs import group_pids, wait_until
from sandbox.stack import LocalStack, push_body
from tests.support.runs import new_run

DEPLOYED = topology.load()


def status(stack: LocalStack, n: int, channel: str) -> bytes:
    """A distinct FAILED status (its own run, whose exit handler posts to ``channel``) for message ``n``."""
    return new_run(stack.vertex, f"topology-{n:05d}", channel=channel)


def body(stack: LocalStack, n: int, channel: str, **extra: object) -> dict:
    return {
        **push_body(status(stack, n, channel), {"slack_channel_id": channel}, message_id=f"t-{n}"),
        **extra,
    }


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with LocalStack.start(tmp_path) as stack:
        yield stack


def push_all(stack: LocalStack, pool: ThreadPoolExecutor, bodies: list[dict]) -> list[Future[int]]:
    return [pool.submit(stack.function.push, b, timeout=90) for b in bodies]


def test_one_process_serves_the_deployed_concurrency(stack: LocalStack) -> None:
    # functions-framework's gunicorn: a master and WORKERS=1 worker, THREADS=concurrency,
    # started with what Terraform and Cloud Run give the deployed instance.
    pid = stack.function.process.pid
    assert len(group_pids(pid)) == 1 + DEPLOYED.workers
    environ = dict(
        item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item
    )
    expected = {**DEPLOYED.runtime_env(), **DEPLOYED.function_env()}
    assert {k: environ.get(k) for k in expected} == expected
    stack.slack.stall()  # every request stops at Slack, so they pile up in the instance
    n = DEPLOYED.concurrency
    with ThreadPoolExecutor(n) as pool:
        futures = push_all(stack, pool, [body(stack, i, f"C0QUIET{i:04d}") for i in range(n)])
        wait_until(
            lambda: stack.slack.stalled >= n,
            timeout=60,
            message=lambda: f"{n} requests at Slack at once, saw {stack.slack.stalled}",
        )
        stack.slack.unstall()
        assert [f.result() for f in futures] == [200] * n  # slack_sdk retried the 503s
    assert len({p.channel for p in stack.slack.messages()}) == n


def test_a_busy_channel_does_not_starve_a_quiet_one(stack: LocalStack) -> None:
    # Four channels get 30 statuses each at once: at one post a second, each can hold a
    # queue of SLACK_HOLD_SECONDS and the instance lets at most 3/4 of its threads wait;
    # everything else is handed back (429) for Pub/Sub to bring later.
    busy = [body(stack, c * 100 + i, f"C0BUSY{c}") for c in range(4) for i in range(30)]
    with ThreadPoolExecutor(len(busy)) as pool:
        futures = push_all(stack, pool, busy)
        wait_until(
            lambda: sum(f.done() for f in futures) >= len(busy) - DEPLOYED.concurrency * 3 // 4,
            timeout=60,
            message="the busy channels' overflow to be handed back",
        )
        handed_back = [f.result() for f in futures if f.done()].count(429)
        assert handed_back >= len(busy) - DEPLOYED.concurrency  # the rest are posting or waiting

        started = time.monotonic()
        assert stack.function.push(body(stack, 9999, "C0QUIET1"), timeout=30) == 200
        quiet_latency = time.monotonic() - started
        assert quiet_latency < 5, f"a quiet channel waited {quiet_latency:.1f}s behind busy ones"
        assert any(p.channel == "C0QUIET1" for p in stack.slack.messages())
        stack.function.stop()  # the waiting requests end here; they are not what is tested
        for future in futures:
            future.exception(timeout=60)
    assert "handed back to Pub/Sub" in stack.function.log_text()


def test_the_last_delivery_attempt_waits_instead_of_being_handed_back(tmp_path: Path) -> None:
    # Slots 4.4 s apart and a 5 s hold: one post may wait, a second could not.
    slow = {
        "SLACK_MAX_PER_SECOND": "0.25",
        "SLACK_HOLD_SECONDS": "5",
        "MAX_DELIVERY_ATTEMPTS": "5",
        "LOG_LEVEL": "DEBUG",  # the pacer says when a post is queued
    }
    with LocalStack.start(tmp_path, env=slow) as stack, ThreadPoolExecutor(2) as pool:
        assert stack.function.push(body(stack, 1, "C0LAST")) == 200  # posts at once
        waiting = pool.submit(stack.function.push, body(stack, 2, "C0LAST"))  # waits 4.4 s
        wait_until(
            lambda: stack.function.log_text().count("Queued for channel C0LAST") >= 2,
            message="the second delivery to be queued",
        )
        # The queue is now 8.8 s long: past the hold, so a normal delivery is handed back…
        assert stack.function.push(body(stack, 3, "C0LAST", deliveryAttempt=4)) == 429
        # …but on the last attempt (Pub/Sub would dead-letter it next) it waits its turn.
        assert stack.function.push(body(stack, 3, "C0LAST", deliveryAttempt=5)) == 200
        assert waiting.result(timeout=30) == 200
        assert len(stack.slack.messages()) == 3


@pytest.mark.emulator
def test_the_deployed_route_pushes_as_pubsub_does(pubsub_emulator, tmp_path: Path) -> None:
    with LocalStack.start(tmp_path, emulator=pubsub_emulator) as stack:
        route = stack.add_deployed_route()
        assert route.relay is not None and route.relay.window == DEPLOYED.concurrency
        stack.slack.fail_next(503, 503, 503)  # the first delivery fails after slack_sdk's two retries
        message_id = stack.publish(route, status(stack, 1, "C0ROUTE1"), {"slack_channel_id": "C0ROUTE1"})
        wait_until(
            lambda: stack.slack.messages(),
            timeout=DEPLOYED.max_retry_backoff_seconds + 30,
            message="the post after one redelivery",
        )
        wait_until(lambda: route.relay.acknowledged({message_id}), message="the acknowledgement")
        stats = route.relay.stats
        # Nacked, brought back by the subscription's retry policy, pushed with its deliveryAttempt.
        assert (stats.nacked, stats.acked, stats.highest_attempt) == (1, 1, 2)
        assert stats.by_status == {"500": 1, "200": 1}
