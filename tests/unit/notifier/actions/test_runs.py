"""Cancel and retry through the real ``aiplatform_v1`` REST client against the Vertex stand-in."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
from google.api_core import exceptions

from notifier.actions.runs import RetryRefusedError, Runs, retry_job_id, with_caching
from notifier.config import Config
from notifier.names import parse_job_name
from notifier.wiring import make_vertex
from sandbox.vertex_standin import VertexStandin
from tests.conftest import DATA

FAILED = json.loads((DATA / "failed-with-tasks.job.json").read_text())
NAME = parse_job_name(FAILED["name"])


@pytest.fixture
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as standin:
        job = copy.deepcopy(FAILED)
        job["state"] = "PIPELINE_STATE_FAILED"
        standin.add_job(job)
        yield standin


@pytest.fixture
def runs(vertex: VertexStandin) -> Runs:
    config = Config.from_env({
        "SLACK_BOT_TOKEN": "xoxb-1", "GOOGLE_CLOUD_PROJECT": "acme-ml-prod", "GCP_REGION": "us-central1",
        "ALLOWED_PROJECTS": "acme-ml-prod,271009669852", "VERTEX_API_ENDPOINT": vertex.url,
    })  # fmt: skip
    return Runs(make_vertex(config), timeout=5)


@pytest.mark.parametrize(("job", "retry"), [
    ("nightly-20261127", "nightly-20261127-retry-1"),
    ("nightly-20261127-retry-1", "nightly-20261127-retry-2"),
    ("nightly-retry-9-retry-41", "nightly-retry-9-retry-42"),
    ("retry-1", "retry-1-retry-1"),
])  # fmt: skip
def test_retry_ids_count_up(job: str, retry: str) -> None:
    assert retry_job_id(job) == retry


def test_a_job_id_too_long_for_its_retry_is_refused() -> None:
    with pytest.raises(RetryRefusedError):
        retry_job_id("a" * 125)


def test_the_retry_is_the_failed_run_again_with_caching_on(runs: Runs, vertex: VertexStandin) -> None:
    vertex.act_as = {FAILED["serviceAccount"]}
    retry = runs.retry(runs.get(NAME), NAME)
    assert retry.job == NAME.job + "-retry-1" and retry.parent == NAME.parent
    [created] = vertex.created
    assert created["name"] == retry.resource
    assert created["serviceAccount"] == FAILED["serviceAccount"]
    assert created["runtimeConfig"] == FAILED["runtimeConfig"]
    assert created["labels"] == {"team": "growth-ml", "env": "prod"}  # Vertex's billing label is Vertex's
    assert created["displayName"] == FAILED["displayName"]
    tasks = created["pipelineSpec"]["root"]["dag"]["tasks"]
    exit_tasks = [n for n, t in tasks.items() if "taskFinalStatus" in json.dumps(t)]
    assert exit_tasks and all(
        tasks[n] == FAILED["pipelineSpec"]["root"]["dag"]["tasks"][n] for n in exit_tasks
    )
    assert all(t["cachingOptions"]["enableCache"] is True for n, t in tasks.items() if n not in exit_tasks)
    # The same retry again is Vertex's ALREADY_EXISTS, not a second run.
    with pytest.raises(exceptions.Conflict):
        runs.retry(runs.get(NAME), NAME)
    assert len(vertex.created) == 1


def test_a_retry_as_an_account_the_worker_may_not_use_is_vertexs_403(
    runs: Runs, vertex: VertexStandin
) -> None:
    vertex.act_as = {"someone-else@acme-ml-prod.iam.gserviceaccount.com"}
    with pytest.raises(exceptions.Forbidden, match=r"iam\.serviceAccounts\.actAs"):
        runs.retry(runs.get(NAME), NAME)
    assert vertex.created == []


def test_cancel_a_run_still_going_and_not_one_that_ended(runs: Runs, vertex: VertexStandin) -> None:
    with pytest.raises(exceptions.BadRequest):
        runs.cancel(NAME)  # failed already
    vertex.jobs[FAILED["name"]]["state"] = "PIPELINE_STATE_RUNNING"
    runs.cancel(NAME)
    assert vertex.cancelled == [FAILED["name"]]
    assert runs.get(NAME).state.name == "PIPELINE_STATE_CANCELLING"


def test_caching_is_switched_on_in_nested_dags_but_not_for_the_exit_handler() -> None:
    spec = {
        "root": {"dag": {"tasks": {
            "train": {"cachingOptions": {}},
            "exit": {"inputs": {"parameters": {"status": {"taskFinalStatus": {"producerTask": "dag"}}}}},
        }}},
        "components": {"comp-inner": {"dag": {"tasks": {"step": {"cachingOptions": {"enableCache": False}}}}}, "comp-leaf": {}},
    }  # fmt: skip
    out = with_caching(spec)
    assert out["root"]["dag"]["tasks"]["train"]["cachingOptions"] == {"enableCache": True}
    assert "cachingOptions" not in out["root"]["dag"]["tasks"]["exit"]
    assert out["components"]["comp-inner"]["dag"]["tasks"]["step"]["cachingOptions"] == {"enableCache": True}
