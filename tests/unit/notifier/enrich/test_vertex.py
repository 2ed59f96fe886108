"""Enrichment through the real aiplatform_v1 REST transport against the Vertex stand-in."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob

from notifier.enrich.vertex import VertexEnricher, job_details
from notifier.names import JobName, Region, parse_job_name
from notifier.sources.final_status import parse_status
from sandbox.vertex_standin import VertexStandin
from tests.support.paths import DATA

FAILED = parse_status((DATA / "failed-with-tasks.status.json").read_bytes())


@pytest.fixture
def vertex() -> Iterator[VertexStandin]:
    with VertexStandin() as server:
        server.load_jobs(DATA)
        yield server


def enricher(vertex: VertexStandin, timeout: float = 3.0) -> VertexEnricher:
    return VertexEnricher(lambda region: vertex.url, timeout)


def name_of(status) -> JobName:
    return parse_job_name(status.pipeline_job_resource_name)


def test_details_from_a_real_rest_call(vertex: VertexStandin) -> None:
    result = enricher(vertex).enrich(FAILED, name_of(FAILED))
    assert result.note == ""
    details = result.details
    assert details is not None
    assert details.display_name == "churn-training-20261127061500"
    assert details.pipeline_name == "churn-training"
    assert [t.name for t in details.failed_tasks] == ["Trainer", "Evaluator"]
    assert details.failed_tasks[0].message.startswith("ValueError: Tensor 'label'")
    assert ("team", "growth-ml") in details.labels
    assert all(not key.startswith("vertex-ai-pipelines-") for key, _ in details.labels)
    assert ("train_steps", "5000") in details.parameters
    assert details.service_account == "pipelines@acme-ml-prod.iam.gserviceaccount.com"
    assert details.start_time is not None and details.end_time is None
    assert result.console_url == (
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/"
        "churn-training-20261127061500?project=271009669852"
    )
    assert [path.split("?")[0] for path in vertex.requests] == ["/v1/" + FAILED.pipeline_job_resource_name]


@pytest.mark.parametrize(("code", "words"), [(403, "403"), (404, "404")])
def test_client_errors_degrade_without_retry(vertex: VertexStandin, code: int, words: str) -> None:
    vertex.fail_all = code
    result = enricher(vertex).enrich(FAILED, name_of(FAILED))
    assert result.details is None
    assert words in result.note
    assert result.console_url  # the link is still built from the checked name
    assert result.not_found == (code == 404)
    assert len(vertex.requests) == 1


def test_server_errors_are_retried_then_succeed(vertex: VertexStandin) -> None:
    vertex.fail_next(500, 503)
    result = enricher(vertex).enrich(FAILED, name_of(FAILED))
    assert result.details is not None
    assert len(vertex.requests) == 3


def test_persistent_500_gives_up_within_the_budget(vertex: VertexStandin) -> None:
    vertex.fail_all = 500
    started = time.monotonic()
    result = enricher(vertex, timeout=1.5).enrich(FAILED, name_of(FAILED))
    elapsed = time.monotonic() - started
    assert result.details is None
    assert "500" in result.note and "after retries" in result.note
    assert elapsed < 1.5 + 5.0  # budget plus one in-flight attempt at most


def test_a_stalled_api_times_out(vertex: VertexStandin) -> None:
    vertex.delay_seconds = 3.0
    result = enricher(vertex, timeout=0.5).enrich(FAILED, name_of(FAILED))
    assert result.details is None
    assert "Vertex AI API" in result.note


def test_unreachable_endpoint_degrades() -> None:
    from sandbox.procs import free_port

    dead = VertexEnricher(lambda region: f"http://127.0.0.1:{free_port()}", 1.0)
    result = dead.enrich(FAILED, name_of(FAILED))
    assert result.details is None and result.note


def test_a_404_is_told_apart_from_other_failures(vertex: VertexStandin) -> None:
    vertex.fail_next(404)
    assert enricher(vertex).enrich(FAILED, name_of(FAILED)).not_found
    vertex.fail_next(403)
    assert not enricher(vertex).enrich(FAILED, name_of(FAILED)).not_found


def test_endpoints_are_built_from_checked_regions_only(vertex: VertexStandin) -> None:
    asked: list[str] = []

    def endpoint_for(region: Region) -> str:
        asked.append(region)
        return vertex.url

    VertexEnricher(endpoint_for, 3.0).enrich(FAILED, name_of(FAILED))
    assert asked == ["us-central1"] and isinstance(asked[0], Region)


def _status(case: str):
    return parse_status((DATA / f"{case}.status.json").read_bytes())


def test_nested_dags_give_the_failed_leaf_and_its_job(vertex: VertexStandin) -> None:
    details = (
        enricher(vertex).enrich(_status("failed-traceback"), name_of(_status("failed-traceback"))).details
    )
    assert details is not None
    # root → exit-handler-1 → condition-2 → train-model: only the leaf says why.
    [task] = details.failed_tasks
    assert task.name == "train-model"
    assert task.job == "projects/271009669852/locations/us-central1/customJobs/4569671626135699456"
    assert task.start_time is not None and task.start_time.isoformat() == "2026-11-27T06:24:35+00:00"
    assert task.end_time is not None and task.end_time.isoformat() == "2026-11-27T06:40:12+00:00"
    assert task.message.startswith("The replica workerpool0-0 exited with a non-zero status of 1.")


def test_a_custom_job_executor_names_its_job(vertex: VertexStandin) -> None:
    details = (
        enricher(vertex).enrich(_status("failed-non-python"), name_of(_status("failed-non-python"))).details
    )
    assert details is not None
    assert [t.job for t in details.failed_tasks] == [
        "projects/271009669852/locations/us-central1/customJobs/7781234567890123456"
    ]


def test_failed_tasks_come_in_the_order_they_failed(vertex: VertexStandin) -> None:
    details = (
        enricher(vertex).enrich(_status("failed-many-tasks"), name_of(_status("failed-many-tasks"))).details
    )
    assert details is not None
    assert [t.name for t in details.failed_tasks] == [
        "train-xgboost", "train-lgbm", "train-catboost", "train-linear", "train-dnn",
    ]  # fmt: skip


def test_the_last_failed_attempt_when_there_is_no_main_job() -> None:
    from google.cloud.aiplatform_v1.types import PipelineJob

    from notifier.enrich.vertex import job_details

    job = PipelineJob.from_json(
        json.dumps(
            {
                "jobDetail": {
                    "taskDetails": [
                        {"taskId": "1", "taskName": "root", "state": 7},
                        {
                            "taskId": "2",
                            "parentTaskId": "1",
                            "taskName": "train",
                            "state": 7,
                            "executorDetail": {
                                "containerDetail": {
                                    "failedMainJobs": [
                                        "projects/p/locations/l/customJobs/1",
                                        "projects/p/locations/l/customJobs/2",
                                    ]
                                }
                            },
                        },
                    ]
                }
            }
        )
    )
    [task] = job_details(job).failed_tasks
    assert task.job == "projects/p/locations/l/customJobs/2"


def test_list_and_struct_parameters_are_compact_json(vertex: VertexStandin) -> None:
    details = (
        enricher(vertex)
        .enrich(_status("succeeded-struct-params"), name_of(_status("succeeded-struct-params")))
        .details
    )
    assert details is not None
    params = dict(details.parameters)
    assert params["customer_ids"] == "[123, 456]"
    assert params["thresholds"] == "[0.25, 0.5, 1]"
    assert params["feature_columns"] == '["age", "tenure", "plan"]'
    assert params["model_config"] == (
        '{"dropout": 0.2, "early_stopping": true, "layers": [128, 64], "name": "wide-and-deep", "notes": null}'
    )
    assert params["train_steps"] == "5000" and params["run_eval"] == "true"


# --- from run history ---------------------------------------------------------------

CASES = ["results/tfx-blessed-pushed", "results/kfp-metrics-succeeded"]


def _job(case: str, cached: set[str] | None, state: str = "SKIPPED") -> PipelineJob:
    """The real job document, with the named work tasks (all when None) turned into cache hits."""
    document = json.loads((DATA / f"{case}.job.json").read_text())
    tasks = document["jobDetail"]["taskDetails"]
    parents = {t.get("parentTaskId") for t in tasks}
    for task in tasks:
        leaf = task.get("parentTaskId") and task["taskId"] not in parents
        if leaf and "exit" not in task["taskName"].lower() and (cached is None or task["taskName"] in cached):
            task["state"] = state
            task["execution"]["state"] = "CACHED"
    return PipelineJob.from_json(json.dumps(document), ignore_unknown_fields=True)


@pytest.mark.parametrize("case", CASES)
def test_a_run_whose_work_was_all_cached_is_fully_cached(case: str) -> None:
    # The exit handler's own task is still running when it reports: it is not work.
    assert job_details(_job(case, None)).fully_cached
    # A cache hit that Vertex shows only on the execution counts too.
    assert job_details(_job(case, None, state="SUCCEEDED")).fully_cached


@pytest.mark.parametrize("case", CASES)
def test_a_run_with_one_task_that_ran_is_not(case: str) -> None:
    assert not job_details(_job(case, set())).fully_cached
    assert not job_details(_job(case, {"Trainer", "train"})).fully_cached


def test_a_failed_run_is_not() -> None:
    from tests.support.golden import load_job

    assert not job_details(load_job(DATA / "failed-with-tasks.job.json")).fully_cached
