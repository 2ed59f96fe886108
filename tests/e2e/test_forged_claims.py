"""A final status is a claim and Vertex AI is the truth: forgeries post nothing, genuine notices post.

The real function process on the Pub/Sub and Firestore emulators (de-duplication and
threads on, Google Chat and SMS routed to by default, a mention on failures), Vertex AI,
Cloud Logging, Slack, Chat and Twilio stand-ins. The Vertex stand-in serves one endpoint
per region (``VERTEX_API_ENDPOINT=http://127.0.0.1:PORT/{region}``), so each request it
records says which region's endpoint it was sent to. A push ledger in front of the
function records every delivery and its answer, so each test waits for a message to be
acknowledged (processing is over) and then asserts what the stand-ins received.

The runs are the documents of ``tests/data/trust`` (see its README): a genuine notice
arrives while the job is still RUNNING, the stub's task RUNNING and the task it reports on
(``exit-handler-1`` in KFP, ``tfx-dag`` in TFX) already ended. Each test has runs and
pipelines of its own (``tests.support.trustdata.Run``): claims and streaks outlive a test.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import CHAT_SPACES, DEFAULT_CHANNEL, LocalStack, Route
from tests.support.attacker import PushLedger
from tests.support.trustdata import (
    DAG_FAILED,
    NUMBER,
    PROJECT_ID,
    REGION,
    SECRET_PARAMETERS,
    SECRETS,
    SPEC_CHANNEL,
    STATUS_AWS_KEY,
    TRUST,
    Run,
    load,
    new_pipeline,
    run_of,
    still_running,
)

pytestmark = pytest.mark.emulator

MENTION = "<!subteam^S0ONCALL>"
SPACE = CHAT_SPACES["ml-alerts"]
SMS_TO = "+15551230021"
ATTACKER_CHANNEL = "C0ATTACKER"
STUB_ATTRIBUTES = {"slack_channel_id": SPEC_CHANNEL, "gcp_region": REGION}
SWEEP_REGIONS = ("us-central1", "europe-west4")
# The sweep's project: in scope, with no runs in the stand-in (a sweep here lists, and posts nothing).
SWEEP_PROJECT = "acme-ml-sweep"
KFP_FAILED = "churn-scoring-exit-failed.job.json"
KFP_SUCCEEDED = "churn-scoring-exit-succeeded.job.json"
TFX_FAILED = "tfx-churn-training-exit-failed.job.json"


@dataclass
class Trust:
    """The stack, the ledger in front of the function, and the sweep's own topic."""

    stack: LocalStack
    ledger: PushLedger
    sweep_topic: str


@pytest.fixture(scope="module")
def trust(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trust]:
    sweep_topic = pubsub_emulator.create_topic(f"trust-sweep-{uuid.uuid4().hex[:8]}")
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": "trust-claims",
        "STREAKS_COLLECTION": "trust-streaks",
        "GOOGLE_CHAT_SPACES": "ml-alerts",
        "SMS_TO": SMS_TO,
        "SLACK_MENTION_ON_FAILURE": MENTION,
        "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
        "ALLOWED_PROJECTS": f"{PROJECT_ID},{NUMBER},{SWEEP_PROJECT}",
        "ALLOWED_REGIONS": ",".join(SWEEP_REGIONS),
        "SWEEP_TOPIC": sweep_topic,
        "SWEEP_MIN_INTERVAL_MINUTES": "60",
        "SWEEP_PROJECTS": SWEEP_PROJECT,
        "SWEEP_REGIONS": ",".join(SWEEP_REGIONS),
        "VERTEX_TIMEOUT_SECONDS": "3",
    }
    with contextlib.ExitStack() as stop:
        stack = LocalStack.start(
            tmp_path_factory.mktemp("trust"),
            emulator=pubsub_emulator,
            env=env,
            vertex_per_region=True,
            logs=[TRUST / "churn-scoring-secrets.logs.json"],
            project_ids={NUMBER: PROJECT_ID},
        )
        ledger = PushLedger(stack.function.url)
        stop.callback(ledger.stop)
        stop.enter_context(stack)
        ledger.start()
        stack.vertex.project_numbers[PROJECT_ID] = NUMBER
        yield Trust(stack, ledger, sweep_topic)


@pytest.fixture
def stack(trust: Trust) -> LocalStack:
    """The module's stack, for the shared ``fresh`` fixture."""
    return trust.stack


@pytest.fixture
def clean(fresh: LocalStack) -> LocalStack:
    """Every stand-in healthy and empty."""
    fresh.chat.reset()
    fresh.twilio.reset()
    return fresh


@pytest.fixture
def route(clean: LocalStack, trust: Trust) -> Route:
    """A status topic of its own, pushed through the ledger."""
    return clean.add_route(push_to=trust.ledger.url)


def deliver(trust: Trust, route: Route, data: bytes, attributes: dict[str, str] | None = None) -> str:
    """Publish one message and wait until the function has acknowledged it; returns its id."""
    message_id = trust.stack.publish(route, data, attributes)
    wait_until(
        lambda: trust.ledger.acked(message_id),
        timeout=60,
        message=lambda: (
            f"message {message_id} acknowledged (deliveries: {trust.ledger.deliveries(message_id)}); "
            f"log:\n{trust.stack.function.log_text()[-3000:]}"
        ),
    )
    return message_id


def lines_for(stack: LocalStack, message_id: str, *levels: str) -> list[str]:
    """The function's log lines for one message, at the given levels (all when none given)."""
    return [
        line
        for line in stack.function.log_text().splitlines()
        if f"[msg={message_id} " in line and (not levels or any(f" {level} " in line for level in levels))
    ]


def everything(stack: LocalStack) -> dict[str, list[str]]:
    """What every destination received: Slack posts and updates, Chat messages, SMS."""
    return {
        "slack": [json.dumps(p.body, ensure_ascii=False) for p in stack.slack.messages()],
        "slack updates": [json.dumps(u.body, ensure_ascii=False) for u in stack.slack.updates],
        "chat": [json.dumps(m.body, ensure_ascii=False) for m in stack.chat.messages],
        "sms": [sms.body for sms in stack.twilio.sent],
    }


def nothing_sent(stack: LocalStack) -> None:
    received = {where: texts for where, texts in everything(stack).items() if texts}
    assert received == {}, f"a forgery was delivered: {json.dumps(received, ensure_ascii=False)[:1500]}"


def text_of(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


def vertex_paths(stack: LocalStack, run: Run, since: int) -> list[str]:
    return [path for path in stack.vertex.requests[since:] if run.job_id in path]


# --- the channel ----------------------------------------------------------------------------------


@pytest.mark.parametrize("template", [KFP_FAILED, TFX_FAILED], ids=["kfp", "tfx"])
def test_a_forged_channel_is_not_obeyed_the_spec_decides(trust: Trust, clean, route, template: str) -> None:
    stack = trust.stack
    run = run_of(load(template), new_pipeline()).register(stack.vertex)
    message_id = deliver(
        trust, route, run.status(), {"slack_channel_id": ATTACKER_CHANNEL, "gcp_region": REGION}
    )

    assert stack.slack.messages(ATTACKER_CHANNEL) == [], "the attribute's channel received the run"
    [posted] = stack.slack.messages()
    assert posted.channel == SPEC_CHANNEL  # the stub's constant in the compiled spec Vertex returned
    assert run.job_id in posted.body["text"] and MENTION in text_of(posted.body)  # verified: a real alert
    assert any("channel" in line.lower() for line in lines_for(stack, message_id)), (
        "no log line about the channel mismatch"
    )


# --- forged FAILED and SUCCEEDED ----------------------------------------------------------------------


@pytest.mark.parametrize("vertex_says", ["404", "still-running"])
def test_a_forged_failure_posts_nothing_and_the_genuine_one_still_posts(
    trust: Trust, clean, route, vertex_says: str
) -> None:
    stack = trust.stack
    run = run_of(load(KFP_FAILED), new_pipeline())
    if vertex_says == "still-running":
        Run(still_running(run.job), run.pipeline).register(stack.vertex)
    since = len(stack.vertex.requests)

    forged = deliver(trust, route, run.status(), STUB_ATTRIBUTES)

    nothing_sent(stack)
    assert vertex_paths(stack, run, since), "the claim was never checked with Vertex AI"
    assert lines_for(stack, forged, "WARNING", "ERROR"), "the refused claim was not logged"
    # The genuine notice of the same run, once it has ended: posted as a real alert, not a duplicate.
    run.register(stack.vertex)
    deliver(trust, route, run.status(), STUB_ATTRIBUTES)
    [posted] = stack.slack.messages()
    assert (posted.channel, posted.thread_ts) == (SPEC_CHANNEL, "")
    assert MENTION in text_of(posted.body) and "nverified" not in text_of(posted.body)
    assert len(stack.chat.in_space(SPACE)) == 1
    assert [sms.to for sms in stack.twilio.sent] == [SMS_TO]


@pytest.mark.parametrize(
    "template",
    ["events/churn-scoring-20261127070000.job.json", KFP_FAILED],
    ids=["job-failed", "task-failed"],
)
def test_a_forged_success_of_a_failed_run_leaves_the_streak_open(
    trust: Trust, clean, route, template: str
) -> None:
    stack = trust.stack
    pipeline = new_pipeline()
    first = run_of(load(KFP_FAILED), pipeline, night=1).register(stack.vertex)
    deliver(trust, route, first.status(), STUB_ATTRIBUTES)
    [root] = stack.slack.top_level(SPEC_CHANNEL)
    before = everything(stack)
    # Night 2: Vertex says the run (or the task the stub reports on) FAILED; the claim says SUCCEEDED.
    second = run_of(load(template), pipeline, night=2).register(stack.vertex)

    deliver(trust, route, second.status("SUCCEEDED"), STUB_ATTRIBUTES)

    after = everything(stack)
    assert after == before, (
        f"the forged success was delivered: {json.dumps(after, ensure_ascii=False)[:1500]}"
    )
    assert "Recovered" not in json.dumps(after)
    # The streak is still open: night 2's genuine failure replies in its thread and extends it.
    deliver(trust, route, second.status("FAILED"), STUB_ATTRIBUTES)
    [reply] = stack.slack.replies(root.ts)
    assert second.job_id in reply.body["text"]
    assert "Failing for 2 runs" in text_of(stack.slack.updates_of(root.ts)[-1].body)


# --- scope and region ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [
        {"project": "555555555555"},
        {"project": "other-team-prod"},
        {"region": "asia-east1"},
    ],
    ids=["other-project-number", "other-project-id", "other-region"],
)
def test_a_run_outside_the_scope_is_refused_without_a_vertex_call(
    trust: Trust, clean, route, where: dict
) -> None:
    stack = trust.stack
    pipeline = new_pipeline()
    project, region = where.get("project", NUMBER), where.get("region", REGION)
    job_id = f"{pipeline}-20261121070002"
    name = f"projects/{project}/locations/{region}/pipelineJobs/{job_id}"
    # Vertex AI would answer for it (another team's project the function's account can read).
    run = run_of(load(KFP_FAILED), pipeline, name=name).register(stack.vertex)
    since = len(stack.vertex.requests)

    message_id = deliver(
        trust, route, run.status(), {"slack_channel_id": "C0OTHERTEAM", "gcp_region": region}
    )

    assert vertex_paths(stack, run, since) == [], "Vertex AI was asked about a run outside the scope"
    nothing_sent(stack)
    errors = lines_for(stack, message_id, "ERROR")
    assert any(re.search("reject", line, re.IGNORECASE) for line in errors), (
        f"no ERROR 'rejected' line: {errors}"
    )


def test_the_gcp_region_attribute_never_picks_the_endpoint(trust: Trust, clean, route) -> None:
    stack = trust.stack
    run = run_of(load(KFP_FAILED), new_pipeline()).register(stack.vertex)
    since = len(stack.vertex.requests)

    message_id = deliver(trust, route, run.status(), {**STUB_ATTRIBUTES, "gcp_region": "europe-west4"})

    paths = vertex_paths(stack, run, since)
    assert paths, "Vertex AI was never asked"
    assert all(path.startswith(f"/{REGION}/v1/") for path in paths), (
        f"sent to another region's endpoint than the resource name's ({REGION}): {paths}"
    )
    [posted] = stack.slack.messages()
    assert posted.channel == SPEC_CHANNEL
    assert any("gcp_region" in line for line in lines_for(stack, message_id)), (
        "the ignored attribute was not logged"
    )


# --- Vertex AI unreachable ------------------------------------------------------------------------


def test_vertex_unreachable_posts_an_unverified_message_to_the_defaults_only(
    trust: Trust, clean, route
) -> None:
    stack = trust.stack
    pipeline = new_pipeline()
    first = run_of(load(KFP_FAILED), pipeline, night=1).register(stack.vertex)
    second = run_of(load(KFP_FAILED), pipeline, night=2).register(stack.vertex)
    stack.vertex.fail_all = 500  # every request, retries included

    deliver(trust, route, first.status(), STUB_ATTRIBUTES)
    deliver(trust, route, second.status(), STUB_ATTRIBUTES)

    posts = stack.slack.messages()
    assert [p.channel for p in posts] == [DEFAULT_CHANNEL, DEFAULT_CHANNEL], "not only to SLACK_CHANNEL_ID"
    for posted in posts:
        assert "nverified" in posted.body["text"] + text_of(posted.body.get("blocks", [])), (
            "not marked unverified"
        )
        assert MENTION not in text_of(posted.body), "an unverified claim carried the mention"
    # No streak: two failures of one pipeline, each top-level, the first never rewritten.
    assert [p.thread_ts for p in posts] == ["", ""] and stack.slack.updates == []
    assert len(stack.chat.in_space(SPACE)) == 2
    assert stack.twilio.sent == [], "an unverified claim sent an SMS"
    # Vertex AI answers again: the genuine notice (a retried stub) is verified and posted in full.
    stack.vertex.fail_all = None
    deliver(trust, route, first.status(), STUB_ATTRIBUTES)
    [genuine] = stack.slack.messages(SPEC_CHANNEL)
    assert genuine.thread_ts == "" and MENTION in text_of(genuine.body)
    assert "nverified" not in text_of(genuine.body)
    assert [sms.to for sms in stack.twilio.sent] == [SMS_TO]


# --- the sweep ------------------------------------------------------------------------------------


def test_a_sweep_asked_for_on_the_status_topic_lists_nothing(trust: Trust, clean, route) -> None:
    stack = trust.stack
    since = len(stack.vertex.list_requests)

    message_id = deliver(trust, route, b"{}", {"action": "sweep"})

    assert stack.vertex.list_requests[since:] == [], "ListPipelineJobs was called for the status topic"
    assert lines_for(stack, message_id, "WARNING", "ERROR"), "the refused sweep was not logged"
    nothing_sent(stack)


def test_the_sweep_topic_sweeps_at_most_once_per_interval(trust: Trust, clean) -> None:
    stack = trust.stack
    sweeps = stack.add_route(topic=trust.sweep_topic, push_to=trust.ledger.url)
    since, since_paths = len(stack.vertex.list_requests), len(stack.vertex.requests)

    deliver(trust, sweeps, b"{}", {"action": "sweep"})
    listed = stack.vertex.list_requests[since:]
    assert sorted(request.parent for request in listed) == sorted(
        f"projects/{SWEEP_PROJECT}/locations/{region}" for region in SWEEP_REGIONS
    )
    # Each region listed (its runs, then its schedules) at its own endpoint, and no other.
    paths = stack.vertex.requests[since_paths:]
    assert {path.split("/v1/")[0] for path in paths} == {f"/{region}" for region in SWEEP_REGIONS}
    for path in paths:
        endpoint, resource = path.split("/v1/", 1)
        assert resource.startswith(f"projects/{SWEEP_PROJECT}/locations{endpoint}/"), path

    nothing_sent(stack)
    deliver(trust, sweeps, b"{}", {"action": "sweep"})  # the scheduler, again, within the interval
    assert stack.vertex.list_requests[since + len(listed) :] == [], (
        "a second sweep within the interval listed"
    )


# --- secrets --------------------------------------------------------------------------------------


def test_secrets_reach_no_destination(trust: Trust, clean, route) -> None:
    stack = trust.stack
    run = run_of(load("churn-scoring-secrets.job.json"), new_pipeline(), night=None).register(stack.vertex)

    deliver(
        trust, route, run.status(error=f"{DAG_FAILED.format('train')} ({STATUS_AWS_KEY})"), STUB_ATTRIBUTES
    )

    [posted] = stack.slack.messages(SPEC_CHANNEL)
    [card] = stack.chat.in_space(SPACE)
    [sms] = stack.twilio.sent
    received = {"Slack": text_of(posted.body), "Google Chat": text_of(card.body), "SMS": sms.body}
    leaks = sorted(
        f"{label} -> {where}"
        for where, text in received.items()
        for label, secret in SECRETS.items()
        if secret in text
    )
    assert leaks == [], f"secrets delivered: {leaks}"
    # The message still says what it should: parameters (secret ones masked), the task's traceback.
    assert "••••" in received["Slack"] and "••••" in received["Google Chat"]
    assert all(name in received["Slack"] for name in SECRET_PARAMETERS)
    assert "rows" in received["Slack"] and "1000" in received["Slack"]
    assert "RuntimeError" in received["Slack"], "the log excerpt is gone altogether"
