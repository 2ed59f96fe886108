"""bench.history_data's runs as Vertex AI's REST API returns them (PipelineJob JSON), for the stand-in."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

# PipelineState and PipelineTaskDetail.State / Execution.State, as the REST transport's integers.
JOB_STATES = {"SUCCEEDED": 4, "FAILED": 5, "CANCELLED": 7, "RUNNING": 3}
TASK_SUCCEEDED, TASK_FAILED, TASK_SKIPPED = 3, 7, 8
EXECUTION_COMPLETE, EXECUTION_FAILED, EXECUTION_CACHED = 3, 4, 5


def stamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as the REST API writes times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def job_document(
    run: dict[str, Any], tasks: tuple[str, ...] = ("ingest", "train", "evaluate")
) -> dict[str, Any]:
    """One run of ``bench.history_data.runs()`` as a PipelineJob: its times, labels, pipeline
    name, and task details that show its cache hits (SKIPPED, execution CACHED) and failures."""
    number, region, job_id = run["project_number"], run["region"], run["job_id"]
    root_id = zlib.crc32(job_id.encode()) * 1000
    details = [{"taskId": str(root_id), "taskName": job_id, "state": TASK_SUCCEEDED}]
    for offset, task in enumerate((*tasks, *(t for t in run["failed_tasks"] if t not in tasks)), 1):
        failed = task in run["failed_tasks"]
        state = TASK_FAILED if failed else TASK_SKIPPED if run["cached"] else TASK_SUCCEEDED
        execution = EXECUTION_FAILED if failed else EXECUTION_CACHED if run["cached"] else EXECUTION_COMPLETE
        detail: dict[str, Any] = {
            "taskId": str(root_id + offset),
            "parentTaskId": str(root_id),
            "taskName": task,
            "state": state,
            "execution": {"state": execution},
        }
        if failed:
            detail["error"] = {"code": 9, "message": run["error"]}
        details.append(detail)
    document: dict[str, Any] = {
        "name": f"projects/{number}/locations/{region}/pipelineJobs/{job_id}",
        "displayName": job_id,
        "state": JOB_STATES[run["state"]],
        "createTime": stamp(run["create_time"]),
        "startTime": stamp(run["start_time"]),
        "endTime": stamp(run["end_time"]),
        "labels": dict(run["labels"]),
        "pipelineSpec": {"pipelineInfo": {"name": run["pipeline"]}},
        "jobDetail": {"taskDetails": details},
    }
    return document
