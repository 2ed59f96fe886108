"""Acting from Slack, end to end: the interactivity function over HTTP, then the worker.

Slack stand-in (a click on a posted message, signed as Slack signs) → ``slack_actions``
under functions-framework (signature, age, size, replay on the Firestore emulator) →
Pub/Sub emulator (``ACTIONS_TOPIC``) → push to ``notify`` → the worker: Firestore
(acknowledgements, mutes, claims), the Vertex stand-in (get, cancel, create) and the Slack
stand-in again (``chat.update``, a reply in the thread, ``usergroups.users.list``, an
ephemeral answer on the click's response_url). Statuses are pushed straight to ``notify``
(the push returns once every destination is done), clicks go the whole way.

Two stacks: one with ``ALLOW_ACTIONS`` unset (acknowledge and mute only), one with
``cancel,retry`` and the sweep. Each test has pipelines of its own: state outlives a test.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.slack_standin import Posted, slack_signature
from sandbox.stack import LocalStack, push_body
from tests.support.attacker import AttackerListener
from tests.support.streakdata import FAILED_JOB, PREFIX, Nightly

pytestmark = pytest.mark.emulator

SECRET = "5c1a8e0f3b2d4a6978c0e1f2a3b4c5d6"
ONCALL = "S0ONCALL1"
AMY, BOB, EVE, LEAD = "U0AMY0001", "U0BOB0001", "U0EVE0001", "U0LEAD001"
MENTION = f"<!subteam^{ONCALL}>"
SMS_TO = "+15551230001"
ALLOWED_SA = "pipelines@acme-ml-prod.iam.gserviceaccount.com"
BARRED_SA = "trainer@acme-ml-prod.iam.gserviceaccount.com"
_ids = itertools.count(1)


def start(
    workdir, emulator: PubSubEmulator, firestore: FirestoreEmulator, name: str, extra: dict[str, str]
) -> LocalStack:
    """A stack with actions on: ``notify`` with ACTIONS_TOPIC, its push route, and ``slack_actions``."""
    topic = emulator.create_topic(f"{name}-actions")
    claims = f"{name}-claims"
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": claims,
        "DEDUP_LEASE_SECONDS": "10",
        "ACTIONS_TOPIC": topic,
        "SLACK_SIGNING_SECRET": SECRET,
        "MUTES_COLLECTION": f"{name}-mutes",
        "ACTION_USER_GROUPS": f"ack:{ONCALL},mute:{ONCALL}",
        "ACTION_USERS": LEAD,
        "SLACK_MENTION_ON_FAILURE": MENTION,
        "SMS_TO": SMS_TO,
        **extra,
    }
    stack = LocalStack.start(workdir, emulator=emulator, env=env)
    try:
        stack.slack.user_groups[ONCALL] = [AMY, BOB]
        stack.add_route(topic=topic)
        stack.start_interactivity(
            {
                **firestore.env,
                "SLACK_SIGNING_SECRET": SECRET,
                "ACTIONS_TOPIC": topic,
                "DEDUP_COLLECTION": claims,
            }
        )
    except BaseException:
        stack.stop()
        raise
    stack.actions_topic = topic  # type: ignore[attr-defined]
    return stack


@pytest.fixture(scope="module")
def plain(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """Actions on, ALLOW_ACTIONS unset: acknowledge and mute only."""
    with start(tmp_path_factory.mktemp("actions-plain"), pubsub_emulator, firestore, "plain", {}) as stack:
        yield stack


@pytest.fixture(scope="module")
def optin(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    """ALLOW_ACTIONS=cancel,retry, and the sweep for runs still going."""
    extra = {
        "ALLOW_ACTIONS": "cancel,retry",
        "RETRY_SERVICE_ACCOUNTS": f"{ALLOWED_SA},{BARRED_SA}",
        "SWEEP_TOPIC": pubsub_emulator.create_topic("optin-sweep"),
        "SWEEP_PROJECTS": "acme-ml-prod",
        "SWEEP_REGIONS": "us-central1",
    }
    with start(tmp_path_factory.mktemp("actions-optin"), pubsub_emulator, firestore, "optin", extra) as stack:
        stack.vertex.project_numbers["acme-ml-prod"] = "271009669852"
        # The worker's identity may act as the pipelines' account, not the trainer's.
        stack.vertex.act_as = {ALLOWED_SA}
        yield stack


def reset(stack: LocalStack) -> LocalStack:
    stack.slack.reset()
    stack.slack.user_groups[ONCALL] = [AMY, BOB]
    stack.twilio.sent.clear()
    return stack


@pytest.fixture
def quiet_stack(plain: LocalStack) -> LocalStack:
    return reset(plain)


@pytest.fixture
def acting_stack(optin: LocalStack) -> LocalStack:
    reset(optin)
    optin.vertex.cancelled.clear()
    optin.vertex.created.clear()
    return optin


# --- helpers ---------------------------------------------------------------------------


def deliver(stack: LocalStack, status: bytes) -> Posted:
    """Push a status to ``notify`` (returns once every destination is done); the Slack message it made."""
    before = len(stack.slack.messages())
    assert stack.function.push(push_body(status, message_id=f"actions-{next(_ids)}")) == 200
    found = stack.slack.messages()
    assert len(found) == before + 1, stack.function.log_text()[-3000:]
    return found[-1]


def click(stack: LocalStack, posted: Posted, action_id: str, user: str, **kwargs: Any) -> int:
    """Click a button of a posted message as ``user``, as Slack would; the interactivity function's status."""
    body, headers = stack.slack.click(
        posted.channel, posted.ts, action_id, user=user, signing_secret=SECRET, **kwargs
    )
    assert stack.interactivity is not None
    status, _ = stack.interactivity.post(body, headers)
    return status


def updated(stack: LocalStack, posted: Posted, text: str) -> dict:
    """Wait until the message shows ``text`` (a ``chat.update``); what it shows."""

    def shown() -> dict | None:
        current = stack.slack.current(posted.channel, posted.ts)
        return current if current and text in json.dumps(current) else None

    return wait_until(shown, timeout=30, message=lambda: f"{text!r} on {posted.ts}:\n{log(stack)}")


def reply(stack: LocalStack, root: Posted, text: str) -> Posted:
    """Wait for a reply in ``root``'s thread that says ``text``."""
    return wait_until(
        lambda: next((r for r in stack.slack.replies(root.ts) if text in r.body.get("text", "")), None),
        timeout=30,
        message=lambda: f"a reply saying {text!r}:\n{log(stack)}",
    )


def told(stack: LocalStack, text: str) -> str:
    """Wait for an ephemeral answer on a response_url that says ``text``."""
    return wait_until(
        lambda: next((r.text for r in stack.slack.responses if r.ephemeral and text in r.text), None),
        timeout=30,
        message=lambda: (
            f"an ephemeral answer saying {text!r} (got {[r.text for r in stack.slack.responses]}):\n{log(stack)}"
        ),
    )


def audit(stack: LocalStack, text: str) -> str:
    return wait_until(
        lambda: next(
            (line for line in stack.function.log_text().splitlines() if "Audit:" in line and text in line), ""
        ),
        timeout=30,
        message=lambda: f"an audit record with {text!r}",
    )


def log(stack: LocalStack) -> str:
    parts = [stack.function.log_text()[-2500:]]
    if stack.interactivity is not None:
        parts.append(stack.interactivity.log_text()[-1500:])
    return "\n---\n".join(parts)


def button_ids(message: dict) -> list[str]:
    return [
        e.get("action_id")
        for b in message.get("blocks") or []
        if b.get("type") == "actions" and str(b.get("block_id", "")).startswith("notifier_")
        for e in b["elements"]
    ]


def tap(stack: LocalStack) -> str:
    """A pull subscription on the actions topic from now on: what the interactivity function publishes."""
    assert stack.emulator is not None
    return stack.emulator.create_subscription(f"tap-{next(_ids)}", stack.actions_topic)  # type: ignore[attr-defined]


def published(stack: LocalStack, subscription: str) -> int:
    assert stack.emulator is not None
    return len(stack.emulator.pull(subscription))


def job_of(stack: LocalStack, nightly: Nightly, night: int) -> dict:
    return stack.vertex.jobs[PREFIX + nightly.job_id(night)]


# --- the interactivity function: only signed, fresh, whole, new requests pass -----------


def test_refused_requests_change_nothing(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    nightly = Nightly(stack.vertex)
    root = deliver(stack, nightly.run(1))
    taps = tap(stack)
    fn = stack.interactivity
    assert fn is not None
    body, headers = stack.slack.click(root.channel, root.ts, "notifier_ack", user=AMY, signing_secret=SECRET)

    def post(body: bytes, **changes: str) -> int:
        return fn.post(body, {**headers, **changes})[0]

    # Unsigned, a signature of other bytes, another app's secret: 401.
    unsigned = {k: v for k, v in headers.items() if not k.startswith("X-Slack")}
    assert fn.post(body, unsigned)[0] == 401
    assert post(body, **{"X-Slack-Signature": "v0=" + "0" * 64}) == 401
    assert post(body + b"&x=1") == 401  # the body changed after signing
    other = slack_signature("another-apps-signing-secret", headers["X-Slack-Request-Timestamp"], body)
    assert post(body, **{"X-Slack-Signature": other}) == 401
    # Signed correctly, six minutes ago: 401.
    old = int(time.time()) - 6 * 60
    stale_body, stale = stack.slack.click(
        root.channel, root.ts, "notifier_ack", user=AMY, signing_secret=SECRET, timestamp=old
    )
    assert fn.post(stale_body, stale)[0] == 401
    # 1 MB, signed: 413 before it is read.
    big = b"payload=" + b"x" * (1024 * 1024)
    moment = str(int(time.time()))
    signed = {"X-Slack-Request-Timestamp": moment, "X-Slack-Signature": slack_signature(SECRET, moment, big)}
    assert fn.post(big, {**headers, **signed})[0] == 413
    # Malformed payload JSON, signed: 400.
    for bad in (b"payload=%7Bnot+json", b"payload=%5B%5D", b"nothing=here", b"\xff\xfe"):
        signed = {
            "X-Slack-Request-Timestamp": moment,
            "X-Slack-Signature": slack_signature(SECRET, moment, bad),
        }
        assert fn.post(bad, {**headers, **signed})[0] == 400, bad
    # A click whose button value is no job name: 400.
    forged = body.replace(b"pipelineJobs%2F", b"pipelineJobs%2F..%2F")
    signed = {
        "X-Slack-Request-Timestamp": moment,
        "X-Slack-Signature": slack_signature(SECRET, moment, forged),
    }
    assert fn.post(forged, {**headers, **signed})[0] == 400
    # Signed, but its response_url is a listener on loopback, not Slack's: 400, never called.
    with AttackerListener() as attacker:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
        path = urlsplit(payload["response_url"]).path
        for host in ("127.0.0.1", "[::1]"):
            payload["response_url"] = f"http://{host}:{attacker.port}{path}"
            steered = urlencode({"payload": json.dumps(payload)}).encode()
            signed = {
                "X-Slack-Request-Timestamp": moment,
                "X-Slack-Signature": slack_signature(SECRET, moment, steered),
            }
            assert fn.post(steered, {**headers, **signed})[0] == 400, host
        assert attacker.count() == 0, attacker.describe()
    # Nothing was published, nothing changed in Slack.
    assert published(stack, taps) == 0
    assert not stack.slack.updates_of(root.ts) and not stack.slack.replies(root.ts)
    log_text = fn.log_text()
    for reason in ("no Slack signature", "a wrong signature", "a stale request", "413", "does not read"):
        assert reason in log_text
    assert SECRET not in log_text and SECRET not in stack.function.log_text()


def test_the_same_signed_request_replayed_is_refused(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    root = deliver(stack, Nightly(stack.vertex).run(1))
    taps = tap(stack)
    body, headers = stack.slack.click(root.channel, root.ts, "notifier_mute", user=BOB, signing_secret=SECRET)
    assert stack.interactivity is not None
    assert stack.interactivity.post(body, headers)[0] == 200
    assert stack.interactivity.post(body, headers)[0] == 401
    updated(stack, root, ":mute: Muted until")
    assert published(stack, taps) == 1
    assert "a replay of a request already taken" in stack.interactivity.log_text()
    reply(stack, root, "muted")
    assert len([r for r in stack.slack.replies(root.ts) if "muted" in r.body["text"]]) == 1


def test_a_link_button_click_is_answered_and_ignored(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    root = deliver(stack, Nightly(stack.vertex).run(1))
    taps = tap(stack)
    assert click(stack, root, "open_vertex_console", AMY) == 200
    assert published(stack, taps) == 0


# --- acknowledge and mute, with ALLOW_ACTIONS unset ----------------------------------------


def test_acknowledge_stops_the_streaks_mentions_until_it_recovers(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    nightly = Nightly(stack.vertex)
    root = deliver(stack, nightly.run(1))
    assert root.body["text"].startswith(MENTION)
    assert button_ids(root.body) == ["notifier_ack", "notifier_mute"]  # no opt-in: no retry, no cancel

    # Two people click at once: the first acknowledgement stands, the second is told whose.
    fn = stack.interactivity
    assert fn is not None
    first = stack.slack.click(root.channel, root.ts, "notifier_ack", user=AMY, signing_secret=SECRET)
    second = stack.slack.click(root.channel, root.ts, "notifier_ack", user=BOB, signing_secret=SECRET)
    assert fn.post(*first)[0] == 200
    shown = updated(stack, root, f"Acknowledged by <@{AMY}>")
    assert button_ids(shown) == ["notifier_mute"]
    assert "no more mentions" in reply(stack, root, "acknowledged this failure").body["text"]
    assert "acknowledged" in audit(stack, f"ack of {PREFIX + nightly.job_id(1)} by {AMY}")
    assert fn.post(*second)[0] == 200
    assert f"<@{AMY}>" in told(stack, "Already acknowledged by")
    assert len([r for r in stack.slack.replies(root.ts) if "acknowledged" in r.body["text"]]) == 1

    # The streak goes on under a new root (the old one deleted): no mention on it.
    stack.slack.delete(root.channel, root.ts)
    second = deliver(stack, nightly.run(2))
    assert not second.thread_ts and MENTION not in second.body["text"]
    assert f"Acknowledged by <@{AMY}>" in json.dumps(second.body)
    # It recovers; its next failure is a new streak and mentions again.
    deliver(stack, nightly.run(3, "SUCCEEDED"))
    fresh = deliver(stack, nightly.run(4))
    assert not fresh.thread_ts and fresh.body["text"].startswith(MENTION)
    assert button_ids(fresh.body) == ["notifier_ack", "notifier_mute"]


def test_a_muted_pipeline_posts_in_its_thread_without_mentions_or_sms(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    nightly, other = Nightly(stack.vertex), Nightly(stack.vertex)
    root = deliver(stack, nightly.run(1))
    assert [sms.to for sms in stack.twilio.sent] == [SMS_TO]

    assert click(stack, root, "notifier_mute", BOB) == 200
    shown = updated(stack, root, ":mute: Muted until")
    assert button_ids(shown) == ["notifier_ack", "notifier_unmute"]
    reply(stack, root, "muted")

    second = deliver(stack, nightly.run(2))
    assert second.thread_ts == root.ts  # still posted, in its thread
    assert len(stack.twilio.sent) == 1  # but no SMS
    # The root, rewritten for the second failure, still says it is muted.
    current = stack.slack.current(root.channel, root.ts)
    assert (
        current is not None
        and "Muted until" in json.dumps(current)
        and "Failing for 2 runs" in json.dumps(current)
    )
    # Another pipeline is not muted: its failure texts.
    deliver(stack, other.run(1))
    assert len(stack.twilio.sent) == 2

    # Unmuted, the next failure texts again.
    assert click(stack, root, "notifier_unmute", AMY) == 200
    reply(stack, root, "unmuted")
    deliver(stack, nightly.run(3))
    assert len(stack.twilio.sent) == 3


def test_a_user_outside_the_allowlist_is_told_why_and_nothing_changes(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    nightly = Nightly(stack.vertex)
    root = deliver(stack, nightly.run(1))
    assert click(stack, root, "notifier_ack", EVE) == 200  # signed by Slack: the worker decides
    assert "not among those who may acknowledge" in told(stack, "Not done")
    assert "refused" in audit(stack, f"by {EVE}")
    assert not stack.slack.updates_of(root.ts) and not stack.slack.replies(root.ts)
    # Still unacknowledged: the next root (the old one gone) mentions.
    stack.slack.delete(root.channel, root.ts)
    assert MENTION in deliver(stack, nightly.run(2)).body["text"]


def test_cancel_and_retry_are_refused_without_the_opt_in(quiet_stack: LocalStack) -> None:
    stack = quiet_stack
    root = deliver(stack, Nightly(stack.vertex).run(1))
    # No button is drawn; a click on one is refused all the same (e.g. drawn before the opt-in was removed).
    live = stack.slack._live[(root.channel, root.ts)]
    live["blocks"][-1]["elements"].append(
        {"type": "button", "action_id": "notifier_retry", "value": live["blocks"][-1]["elements"][0]["value"],
         "text": {"type": "plain_text", "text": "Retry"}}
    )  # fmt: skip
    assert click(stack, root, "notifier_retry", LEAD) == 200
    assert "retry is not enabled here (ALLOW_ACTIONS)" in told(stack, "Not done")
    assert not stack.vertex.created


# --- cancel and retry, opted in --------------------------------------------------------


def failed_for_good(stack: LocalStack, nightly: Nightly, night: int, account: str = ALLOWED_SA) -> bytes:
    """Night ``night`` failed, and Vertex AI has since marked the job FAILED."""
    status = nightly.run(night)
    job = job_of(stack, nightly, night)
    job.update(state="PIPELINE_STATE_FAILED", serviceAccount=account)
    return status


def test_retry_makes_one_run_and_its_result_lands_in_the_streaks_thread(acting_stack: LocalStack) -> None:
    stack = acting_stack
    nightly = Nightly(stack.vertex)
    root = deliver(stack, failed_for_good(stack, nightly, 1))
    assert button_ids(root.body) == ["notifier_ack", "notifier_retry", "notifier_mute"]
    # Two clicks at once (two people, or one twice): one new run.
    assert click(stack, root, "notifier_retry", LEAD) == 200
    assert click(stack, root, "notifier_retry", LEAD) == 200
    retry_id = f"{nightly.job_id(1)}-retry-1"
    said = reply(stack, root, "retried this run as").body["text"]
    assert retry_id in said and "console.cloud.google.com" in said
    told(stack, "retried already")
    [created] = stack.vertex.created
    assert created["name"] == PREFIX + retry_id
    original = job_of(stack, nightly, 1)
    assert created["serviceAccount"] == ALLOWED_SA
    assert created["runtimeConfig"] == original["runtimeConfig"]
    assert created["labels"] == {
        k: v for k, v in original["labels"].items() if not k.startswith("vertex-ai-pipelines-")
    }
    tasks = created["pipelineSpec"]["root"]["dag"]["tasks"]
    assert all(
        t.get("cachingOptions", {}).get("enableCache")
        for t in tasks.values()
        if "taskFinalStatus" not in json.dumps(t)
    )
    shown = updated(stack, root, f"Retried by <@{LEAD}>")
    assert "notifier_retry" not in button_ids(shown)
    audit(stack, f"retried as {retry_id}")

    # The retried run fails too: its notice lands in the same streak's thread.
    job = copy.deepcopy(FAILED_JOB)
    job.update(
        created,
        state="PIPELINE_STATE_FAILED",
        jobDetail=FAILED_JOB.get("jobDetail"),
        error=FAILED_JOB.get("error"),
    )
    stack.vertex.add_job(job)
    status = json.loads(nightly.run(1))  # the stub's final status, for the retry's job
    status.update(pipelineJobResourceName=PREFIX + retry_id, pipelineTaskName=retry_id)
    posted = deliver(stack, json.dumps(status).encode())
    assert posted.thread_ts == root.ts
    assert "Failing for 2 runs" in json.dumps(stack.slack.current(root.channel, root.ts))


def test_a_retry_vertex_refuses_is_reported_and_can_be_tried_again(acting_stack: LocalStack) -> None:
    stack = acting_stack
    nightly = Nightly(stack.vertex)
    # The run's account is allowed here, but the worker's identity may not act as it: Vertex AI says 403.
    root = deliver(stack, failed_for_good(stack, nightly, 1, account=BARRED_SA))
    assert click(stack, root, "notifier_retry", LEAD) == 200
    said = told(stack, "Could not retry")
    assert "403" in said
    assert not stack.vertex.created
    audit(stack, "failed")
    # The claim was given back: once allowed, the same button works.
    stack.vertex.act_as = {ALLOWED_SA, BARRED_SA}
    try:
        assert click(stack, root, "notifier_retry", LEAD) == 200
        reply(stack, root, "retried this run as")
        assert len(stack.vertex.created) == 1
    finally:
        stack.vertex.act_as = {ALLOWED_SA}


def test_retry_refuses_an_account_outside_retry_service_accounts_before_any_call(
    acting_stack: LocalStack,
) -> None:
    stack = acting_stack
    nightly = Nightly(stack.vertex)
    root = deliver(
        stack, failed_for_good(stack, nightly, 1, account="intruder@acme-ml-prod.iam.gserviceaccount.com")
    )
    assert click(stack, root, "notifier_retry", LEAD) == 200
    assert "not in RETRY_SERVICE_ACCOUNTS" in told(stack, "Not done")
    assert not stack.vertex.created
    # And an on-call member may acknowledge, but not retry.
    assert click(stack, root, "notifier_retry", AMY) == 200
    assert "not among those who may retry runs" in told(stack, "retry runs")


def test_cancel_a_run_still_going_once(acting_stack: LocalStack, pubsub_emulator: PubSubEmulator) -> None:
    stack = acting_stack
    nightly = Nightly(stack.vertex)
    nightly.run(1)
    job = job_of(stack, nightly, 1)
    started = datetime.now(timezone.utc) - timedelta(hours=20)
    job.update(state="PIPELINE_STATE_RUNNING", createTime=started.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    job.pop("endTime", None)
    route_sweep(stack)
    assert stack.emulator is not None
    stack.emulator.publish(stack.function.env["SWEEP_TOPIC"], b"{}", {"action": "sweep"})
    warning = wait_until(
        lambda: next((p for p in stack.slack.messages() if nightly.job_id(1) in json.dumps(p.body)), None),
        timeout=60,
        message=lambda: f"the sweep's warning:\n{log(stack)}",
    )
    assert button_ids(warning.body) == ["notifier_cancel", "notifier_mute"]
    assert click(stack, warning, "notifier_cancel", LEAD) == 200
    assert click(stack, warning, "notifier_cancel", LEAD) == 200
    updated(stack, warning, f"Cancel requested by <@{LEAD}>")
    told(stack, "asked for already")
    assert stack.vertex.cancelled == [PREFIX + nightly.job_id(1)]
    assert job["state"] == "PIPELINE_STATE_CANCELLING"


def route_sweep(stack: LocalStack) -> None:
    """The sweep topic's push subscription to ``notify`` (once per stack)."""
    if not getattr(stack, "sweep_routed", False):
        stack.add_route(topic=stack.function.env["SWEEP_TOPIC"])
        stack.sweep_routed = True  # type: ignore[attr-defined]
