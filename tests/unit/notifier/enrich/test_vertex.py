"""``job_details`` tells a fully cached run (every task that does work a cache hit) from one that worked."""

from __future__ import annotations

import json

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob

from notifier.enrich.vertex import job_details
from tests.conftest import DATA

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
    from tests.golden import load_job

    assert not job_details(load_job(DATA / "failed-with-tasks.job.json")).fully_cached
