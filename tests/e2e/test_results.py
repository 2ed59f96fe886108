"""Model results in the message, end to end on the Pub/Sub and Firestore emulators.

The runs are the real-shaped jobs of tests/data/results (a TFX pipeline with Evaluator and
Pusher, a KFP pipeline logging metrics), registered anew with the Vertex stand-in for each
test (claims outlive a test); the exit-handler stub's ``on_failure_only`` is set in the
compiled spec, where the function reads it. The function runs with ``ON_FAILURE_ONLY`` and
Teams as a default destination, so every message goes to Slack and to a Teams channel.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.slack_standin import Posted
from sandbox.stack import DEFAULT_CHANNEL, TEAMS_CHANNELS, LocalStack
from sandbox.teams_standin import TeamsPost
from sandbox.vertex_standin import run_like
from tests.support.runs import PREFIX
from tests.test_results_data import RESULTS

pytestmark = pytest.mark.emulator

TEAMS = TEAMS_CHANNELS["ml-alerts"]
_runs = itertools.count(1)


@pytest.fixture(scope="module")
def stack(
    pubsub_emulator: PubSubEmulator, firestore: FirestoreEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    env = {
        **firestore.env,
        "DEDUP_COLLECTION": "results-claims",
        "ON_FAILURE_ONLY": "true",
        "TEAMS_CHANNELS": "ml-alerts",
    }
    with LocalStack.start(tmp_path_factory.mktemp("results"), emulator=pubsub_emulator, env=env) as stack:
        yield stack


@pytest.fixture
def route(fresh: LocalStack) -> Any:
    fresh.teams.reset()
    return fresh.add_route()


def results_run(stack: LocalStack, case: str, *, on_failure_only: bool) -> tuple[str, bytes]:
    """A new run of ``case``'s job, its stub told ``on_failure_only``; returns its id and status."""
    job = json.loads((RESULTS / f"{case}.job.json").read_text())
    status = json.loads((RESULTS / f"{case}.status.json").read_text())
    job_id = f"{job['pipelineSpec']['pipelineInfo']['name']}-2027{next(_runs):010d}"
    stack.vertex.add_job(run_like(job, PREFIX + job_id, on_failure_only=on_failure_only))
    if status.get("pipelineTaskName") == job["displayName"]:
        status["pipelineTaskName"] = job_id  # TFX's status names the run itself
    return job_id, json.dumps({**status, "pipelineJobResourceName": PREFIX + job_id}).encode()


def posted(stack: LocalStack, job_id: str) -> tuple[Posted, TeamsPost]:
    """The Slack message and the Teams card about ``job_id``, once both are there."""

    def found() -> tuple[Posted, TeamsPost] | None:
        slack = [m for m in stack.slack.messages() if job_id in json.dumps(m.body)]
        teams = [p for p in stack.teams.in_channel(TEAMS) if job_id in json.dumps(p.card)]
        return (slack[0], teams[0]) if slack and teams else None

    return wait_until(
        found,
        timeout=45,
        message=lambda: f"Slack and Teams about {job_id}; log:\n{stack.function.log_text()[-3000:]}",
    )


def texts(card: dict[str, Any]) -> str:
    """The text of a Teams card: its blocks' runs, a line a block."""
    return "\n".join(
        "".join(run["text"] for run in block["inlines"])
        for block in card["body"]
        if block["type"] == "RichTextBlock"
    )


def test_a_blessed_and_pushed_tfx_success(route: Any, fresh: LocalStack) -> None:
    job_id, status = results_run(fresh, "tfx-blessed-pushed", on_failure_only=False)
    fresh.publish(route, status)
    slack, teams = posted(fresh, job_id)
    line = "Model blessed and pushed (version 1796276472)"
    assert f":white_check_mark: {line}" in slack.body["text"]
    assert any(
        block.get("text", {}).get("text") == f":white_check_mark: {line}" for block in slack.body["blocks"]
    )
    assert "Pushed to `gs://acme-ml-models/churn/1796276472`" in json.dumps(slack.body)
    assert line in texts(teams.card) and slack.channel == DEFAULT_CHANNEL


def test_a_not_blessed_success_is_sent_under_on_failure_only(route: Any, fresh: LocalStack) -> None:
    blessed_id, blessed = results_run(fresh, "tfx-blessed-pushed", on_failure_only=True)
    fresh.publish(route, blessed)
    wait_until(
        lambda: f"job={blessed_id} state=SUCCEEDED] Skipped" in fresh.function.log_text(),
        timeout=45,
        message="the blessed success skipped under on_failure_only",
    )
    job_id, status = results_run(fresh, "tfx-not-blessed", on_failure_only=True)
    fresh.publish(route, status)
    slack, teams = posted(fresh, job_id)
    assert ":warning: *Model NOT blessed*: pushed nothing" in slack.body["text"]  # in the notification
    assert not slack.thread_ts  # a warning of its own, top-level
    assert "Model NOT blessed" in texts(teams.card)
    assert not [m for m in fresh.slack.messages() if blessed_id in json.dumps(m.body)]


@pytest.mark.parametrize("case", ["kfp-metrics-succeeded", "kfp-metrics-failed"])
def test_a_kfp_run_with_metrics(route: Any, fresh: LocalStack, case: str) -> None:
    job_id, status = results_run(fresh, case, on_failure_only=False)
    fresh.publish(route, status)
    slack, teams = posted(fresh, job_id)
    metrics = "Metrics of `evaluate`: `auc` 0.9312 · `accuracy` 0.8875 · `f1` 0.8421"
    assert metrics in json.dumps(slack.body, ensure_ascii=False)
    assert "(+1 more)" in json.dumps(slack.body)
    assert "Metrics of evaluate: auc 0.9312 · accuracy 0.8875" in texts(teams.card)
    if case.endswith("failed"):
        assert "deploy" in json.dumps(slack.body)  # why it failed comes first; the metrics after


def test_a_job_too_deep_for_the_client_is_still_sent_verified(route: Any, fresh: LocalStack) -> None:
    job_id, status = results_run(fresh, "hostile-metrics-too-deep", on_failure_only=False)
    fresh.publish(route, status)
    slack, teams = posted(fresh, job_id)
    assert "Unverified" not in slack.body["text"] and "`auc` 0.9312" in json.dumps(slack.body)
    assert "reading it without its deepest parts" in fresh.function.log_text()
    assert teams.card["version"] == "1.5"
