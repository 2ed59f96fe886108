"""One thread per failing streak, end to end on the Pub/Sub and Firestore emulators.

Pub/Sub emulator push → functions-framework → Vertex stand-in → Firestore emulator
(claims and streak state) → Slack stand-in, which records chat.postMessage (thread_ts,
reply_broadcast, metadata) and chat.update. Each test has its pipelines of its own
(``Nightly``): streak state outlives a test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.slack_standin import Posted, SlackStandin
from sandbox.stack import LocalStack, push_body
from tests.support.streakdata import Nightly

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    # Threads are on by default wherever de-duplication is configured: nothing else to set.
    env = {**firestore.env, "DEDUP_COLLECTION": "threads-claims", "DEDUP_LEASE_SECONDS": "10"}
    with LocalStack.start(tmp_path_factory.mktemp("threads"), emulator=pubsub_emulator, env=env) as stack:
        yield stack


@pytest.fixture
def route(fresh: LocalStack):
    return fresh.add_route()


def posts(slack: SlackStandin, count: int) -> list[Posted]:
    """Wait until Slack holds ``count`` messages (roots and replies); return them."""
    return wait_until(
        lambda: (found := slack.messages()) and len(found) >= count and found,
        timeout=60,
        message=lambda: f"{count} Slack messages, got {len(slack.messages())}",
    )


def publish_in_turn(stack: LocalStack, route, *statuses: bytes, attributes: dict | None = None) -> None:
    """One run a night: each status once the one before it has reached Slack."""
    for index, status in enumerate(statuses, start=len(stack.slack.messages()) + 1):
        stack.publish(route, status, attributes)
        posts(stack.slack, index)


def state_of(posted: Posted) -> tuple[str, str, str]:
    event = posted.metadata["event_payload"]
    return event["job"].rsplit("/", 1)[1], event["pipeline"], event["state"]


def check_story(slack: SlackStandin, nightly: Nightly) -> None:
    """Fail, fail, fail, succeed: one root, two replies, a broadcast recovery, the root rewritten thrice."""
    [root] = slack.top_level()
    replies = slack.replies(root.ts)
    assert [(r.broadcast, state_of(r)[0]) for r in replies] == [
        (False, nightly.job_id(2)),
        (False, nightly.job_id(3)),
        (True, nightly.job_id(4)),
    ]
    assert state_of(root) == (nightly.job_id(1), nightly.name, "FAILED")
    assert state_of(replies[2])[2] == "SUCCEEDED"
    updates = slack.updates_of(root.ts)
    lines = [u.body["blocks"][0]["text"]["text"] for u in updates]
    assert len(lines) == 3
    assert lines[0].startswith(":rotating_light: *Failing for 2 runs* since")
    assert lines[1].endswith(f"last: *{nightly.job_id(3)}*")
    assert lines[2].startswith(":white_check_mark: *Recovered after 3 failed runs*")
    # The root still says what failed first, below its streak line.
    current = slack.current(root.channel, root.ts)
    assert current is not None and current["blocks"][1:] == root.body["blocks"]


def test_fail_fail_fail_succeed_tells_one_story(fresh: LocalStack, route) -> None:
    nightly = Nightly(fresh.vertex)
    publish_in_turn(fresh, route, nightly.run(1), nightly.run(2), nightly.run(3), nightly.run(4, "SUCCEEDED"))
    check_story(fresh.slack, nightly)


def test_the_recovery_is_announced_under_on_failure_only(fresh: LocalStack, route) -> None:
    nightly = Nightly(fresh.vertex, on_failure_only=True)  # the pipeline's exit handler says so
    statuses = [nightly.run(1), nightly.run(2), nightly.run(3), nightly.run(4, "SUCCEEDED")]
    publish_in_turn(fresh, route, *statuses)
    check_story(fresh.slack, nightly)
    # A later success is skipped, as before threads.
    start = len(fresh.function.log_text())
    fresh.publish(route, nightly.run(5, "SUCCEEDED"))
    wait_until(
        lambda: "nothing to post for this run" in fresh.function.log_text()[start:],
        timeout=30,
        message="the later success to be skipped",
    )
    assert len(fresh.slack.messages()) == 4


def test_two_pipelines_interleaved_keep_two_streaks(fresh: LocalStack, route) -> None:
    a, b = Nightly(fresh.vertex), Nightly(fresh.vertex)
    publish_in_turn(fresh, route, a.run(1), b.run(1), a.run(2), b.run(2), a.run(3, "SUCCEEDED"), b.run(3))
    roots = fresh.slack.top_level()
    assert [state_of(r)[1] for r in roots] == [a.name, b.name]
    root_a, root_b = roots
    assert [state_of(r)[0] for r in fresh.slack.replies(root_a.ts)] == [a.job_id(2), a.job_id(3)]
    assert [state_of(r)[0] for r in fresh.slack.replies(root_b.ts)] == [b.job_id(2), b.job_id(3)]
    assert fresh.slack.replies(root_a.ts)[-1].broadcast
    assert "Recovered after 2" in json.dumps(fresh.slack.updates_of(root_a.ts)[-1].body)
    assert "Failing for 3 runs" in json.dumps(fresh.slack.updates_of(root_b.ts)[-1].body)


def test_two_concurrent_failures_of_one_pipeline_make_one_root(fresh: LocalStack, route) -> None:
    nightly = Nightly(fresh.vertex)
    fresh.slack.stall()  # hold the first root's post while the second failure is decided
    fresh.publish(route, nightly.run(1))
    fresh.publish(route, nightly.run(2))
    start = len(fresh.function.log_text())
    wait_until(
        lambda: (
            fresh.slack.stalled >= 1
            and "being posted by another delivery" in fresh.function.log_text()[start:]
        ),
        timeout=60,
        message=lambda: (
            f"one root in flight and the other failure turned back:\n{fresh.function.log_text()[-3000:]}"
        ),
    )
    fresh.slack.unstall()
    found = posts(fresh.slack, 2)
    [root] = [p for p in found if not p.thread_ts]
    [reply] = fresh.slack.replies(root.ts)
    assert {state_of(root)[0], state_of(reply)[0]} == {nightly.job_id(1), nightly.job_id(2)}
    assert "Failing for 2 runs" in json.dumps(fresh.slack.updates_of(root.ts)[-1].body)
    assert len(fresh.slack.top_level()) == 1


def test_a_redelivered_failure_or_recovery_posts_nothing_twice(fresh: LocalStack, route) -> None:
    nightly = Nightly(fresh.vertex)
    publish_in_turn(fresh, route, nightly.run(1), nightly.run(2))
    [root] = fresh.slack.top_level()
    body = push_body(nightly.run(2), message_id="threads-redelivered")
    start = len(fresh.function.log_text())
    assert fresh.function.push(body) == 200  # the same run again, as Pub/Sub redelivers it
    fresh.publish(route, nightly.run(2))  # and published twice by a retrying stub
    wait_until(
        lambda: fresh.function.log_text()[start:].count("Duplicate delivery") >= 2,
        timeout=30,
        message="both deliveries recognised as duplicates",
    )
    assert len(fresh.slack.replies(root.ts)) == 1
    assert len(fresh.slack.updates_of(root.ts)) == 1
    # The recovery, redelivered: still one broadcast reply.
    publish_in_turn(fresh, route, nightly.run(3, "SUCCEEDED"))
    start = len(fresh.function.log_text())
    assert fresh.function.push(push_body(nightly.run(3, "SUCCEEDED"), message_id="threads-recovered")) == 200
    wait_until(
        lambda: "Duplicate delivery" in fresh.function.log_text()[start:],
        timeout=30,
        message="the redelivered recovery recognised as a duplicate",
    )
    assert [r.broadcast for r in fresh.slack.replies(root.ts)] == [False, True]
    assert len(fresh.slack.updates_of(root.ts)) == 2


def test_a_deleted_root_gives_way_to_a_new_root(fresh: LocalStack, route) -> None:
    nightly = Nightly(fresh.vertex)
    publish_in_turn(fresh, route, nightly.run(1))
    [old] = fresh.slack.top_level()
    fresh.slack.delete(old.channel, old.ts)  # someone tidied the channel
    publish_in_turn(fresh, route, nightly.run(2), nightly.run(3))
    old_root, new_root = fresh.slack.top_level()
    assert old_root.ts == old.ts
    assert new_root.body["text"].startswith(":rotating_light: Failing for 2 runs since")
    assert state_of(new_root)[0] == nightly.job_id(2)
    [reply] = fresh.slack.replies(new_root.ts)
    assert state_of(reply)[0] == nightly.job_id(3)
    assert "gone (Slack cannot update the message: message_not_found); starting a new root" in (
        fresh.function.log_text()
    )
