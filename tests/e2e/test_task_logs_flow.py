"""End to end: a failure's message carries its task's traceback tail and a link to its logs.

Pub/Sub emulator → functions-framework serving ``notify`` → Vertex AI, Cloud Logging and
Slack stand-ins on loopback. The function reads logs with the real
``google.cloud.logging_v2`` client over HTTP, as configured by ``LOGGING_API_ENDPOINT``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.stack import LocalStack, push_body
from tests.support.logdata import PROJECT_ID, PROJECT_NUMBER
from tests.support.paths import DATA

pytestmark = pytest.mark.emulator

TRACEBACK = (DATA / "failed-traceback.status.json").read_bytes()
MANY = (DATA / "failed-many-tasks.status.json").read_bytes()
SUCCEEDED = (DATA / "succeeded.status.json").read_bytes()
LOGGING_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def stack(pubsub_emulator: PubSubEmulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack.start(
        tmp_path_factory.mktemp("e2e-logs"),
        emulator=pubsub_emulator,
        jobs_dir=DATA,
        logs=sorted(DATA.glob("*.logs.json")),
        project_ids={PROJECT_NUMBER: PROJECT_ID},
        env={"LOGGING_TIMEOUT_SECONDS": str(LOGGING_TIMEOUT)},
    ) as stack:
        yield stack


def post(stack: LocalStack, data: bytes, message_id: str) -> dict:
    assert stack.function.push(push_body(data, message_id=message_id)) == 200
    [posted] = wait_until(stack.slack.messages, timeout=30, message="the Slack post")
    return posted.body


def test_a_traceback_tail_and_a_logs_link_through_pubsub(fresh: LocalStack) -> None:
    route = fresh.add_route()
    fresh.publish(route, TRACEBACK, {"gcp_region": "us-central1"})
    [posted] = wait_until(
        fresh.slack.messages,
        timeout=30,
        message=lambda: f"the post; log:\n{fresh.function.log_text()[-3000:]}",
    )
    body = json.dumps(posted.body)
    assert posted.body["text"].startswith(":scream: Pipeline job *churn-training-20261127061509* failed.")
    assert "Traceback (most recent call last):" in body and "KeyError: 'churned'" in body
    buttons = [e for b in posted.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["Open in Vertex AI"]
    # The task's log link sits beside its name, labelled by us.
    cause = posted.body["blocks"][1]["text"]["text"]
    assert cause.startswith("*train-model*: ") and cause.endswith("|View logs>")
    assert "job_id%3D%224569671626135699456%22;timeRange=" in cause
    # Every read named the job and a time range (the client would otherwise add "last 24 h").
    filters = fresh.logging.filters()
    assert filters and all('resource.labels.job_id="4569671626135699456"' in f for f in filters)
    assert all(
        'timestamp>="2026-11-27T06:23:35Z"' in f and 'timestamp<="2026-11-27T06:41:12Z"' in f for f in filters
    )


def test_several_failed_tasks_are_read_in_parallel_and_capped(fresh: LocalStack) -> None:
    fresh.logging.delay_seconds = 0.3
    body = post(fresh, MANY, "many-1")
    text = json.dumps(body, ensure_ascii=False)
    assert text.count("FileNotFoundError: gs://acme-ml-data/zoo/train.parquet") == 3
    assert "…and 2 more failed tasks: *train-linear*, *train-dnn*" in text
    requests = list(fresh.logging.requests)
    assert len({r.filter for r in requests}) == 3
    overlaps = sum(
        1
        for i, a in enumerate(requests)
        for b in requests[i + 1 :]
        if a.started < b.finished and b.started < a.finished
    )
    assert overlaps == 3, "the three tasks' logs must be read at the same time"


@pytest.mark.parametrize(
    ("script", "note"),
    [
        ({"fail_all": 403}, "Cloud Logging answered 403 (Forbidden)"),
        ({"delay_seconds": 3 * LOGGING_TIMEOUT}, "did not answer"),
        ({"empty": True}, "no log lines for this task in Cloud Logging"),
    ],
)
def test_logging_trouble_still_posts_with_a_note(fresh: LocalStack, script: dict, note: str) -> None:
    saved = list(fresh.logging.entries)
    if script.get("empty"):
        fresh.logging.entries.clear()
    fresh.logging.fail_all = script.get("fail_all")
    fresh.logging.delay_seconds = script.get("delay_seconds", 0.0)
    try:
        body = post(fresh, TRACEBACK, f"trouble-{sorted(script)[0]}")
    finally:
        fresh.logging.entries[:] = saved
    text = json.dumps(body)
    assert note in text
    assert "*train-model*: The replica workerpool0-0 exited" in text  # the rest is intact
    assert "|View logs>" in text
    assert "Could not read the logs" in fresh.function.log_text() or script.get("empty")


def test_a_success_reads_no_logs(fresh: LocalStack) -> None:
    post(fresh, SUCCEEDED, "ok-1")
    assert fresh.logging.requests == []
