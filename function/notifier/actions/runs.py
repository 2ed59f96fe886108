"""Vertex AI's calls that change a run: cancel it, or create its retry.

Only checked names reach here (``names.JobName``, in scope), through the notifier's own
per-region ``PipelineServiceClient`` (``enrich.vertex.VertexEnricher.client``). A retry
is a new PipelineJob built from the failed one, as ``aiplatform.PipelineJob(...,
enable_caching=True)`` would submit it again: the same compiled spec (every task's cache
on, so steps that succeeded are reused; the exit handler's left as it is), runtime config,
labels (Vertex's own billing labels aside), service account, network and encryption. Its
id is ``{job}-retry-{n}``: deterministic, so a second create of the same retry is Vertex's
``ALREADY_EXISTS`` rather than a second run.
"""

from __future__ import annotations

import re
from typing import Any

from notifier.enrich.vertex import VertexEnricher
from notifier.errors import PermanentError
from notifier.names import JOB_ID, JobName

_RETRY_ID = re.compile(r"(?P<base>.+)-retry-(?P<n>[0-9]{1,4})")
_JOB_ID = re.compile(JOB_ID)
_SYSTEM_LABEL = "vertex-ai-pipelines-"
CALL_TIMEOUT = 10.0


class RetryRefusedError(PermanentError):
    """The run cannot be retried as it is (its id too long for a retry's, no spec …)."""


def retry_job_id(job_id: str) -> str:
    """The retry's id: ``nightly-1`` → ``nightly-1-retry-1``, ``nightly-1-retry-1`` → ``nightly-1-retry-2``."""
    match = _RETRY_ID.fullmatch(job_id)
    base, number = (match["base"], int(match["n"]) + 1) if match else (job_id, 1)
    retry = f"{base}-retry-{number}"
    if not _JOB_ID.fullmatch(retry):
        raise RetryRefusedError(f"the job id {job_id!r} is too long for a retry's id ({retry!r})")
    return retry


def _is_exit_task(task: Any) -> bool:
    parameters = task.get("inputs", {}).get("parameters", {}) if isinstance(task, dict) else {}
    return any(isinstance(value, dict) and "taskFinalStatus" in value for value in parameters.values())


def with_caching(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with every task's cache on (KFP's ``enable_caching=True``), but the exit handler's."""
    dags = [spec.get("root", {}).get("dag", {})]
    dags += [c.get("dag", {}) for c in spec.get("components", {}).values() if isinstance(c, dict)]
    for dag in dags:
        for task in (dag.get("tasks") or {}).values() if isinstance(dag, dict) else ():
            if isinstance(task, dict) and not _is_exit_task(task):
                task.setdefault("cachingOptions", {})["enableCache"] = True
    return spec


def retry_of(failed: Any) -> Any:
    """The PipelineJob (the same aiplatform_v1 type) that runs ``failed`` again."""
    from google.protobuf import json_format  # noqa: PLC0415 - with the client

    job_type = type(failed)
    spec = json_format.MessageToDict(job_type.pb(failed).pipeline_spec)
    if not spec:
        raise RetryRefusedError("the run has no pipeline spec to run again")
    return job_type(
        display_name=failed.display_name,
        pipeline_spec=with_caching(spec),
        runtime_config=failed.runtime_config,
        labels={k: v for k, v in failed.labels.items() if not k.startswith(_SYSTEM_LABEL)},
        service_account=failed.service_account,
        network=failed.network,
        reserved_ip_ranges=list(failed.reserved_ip_ranges),
        encryption_spec=failed.encryption_spec,
    )


class Runs:
    """Get, cancel and retry runs through the notifier's Vertex AI clients."""

    def __init__(self, vertex: VertexEnricher, timeout: float = CALL_TIMEOUT) -> None:
        self._vertex = vertex
        self._timeout = timeout

    def _options(self) -> dict[str, Any]:
        return {"retry": self._vertex.retry_policy(), "timeout": self._timeout}

    def get(self, name: JobName) -> Any:
        """The whole PipelineJob (spec and runtime config included)."""
        return self._vertex.client(name.region).get_pipeline_job(name=name.resource, **self._options())

    def cancel(self, name: JobName) -> None:
        """``pipelineJobs.cancel``: Vertex AI stops the run (asynchronously)."""
        self._vertex.client(name.region).cancel_pipeline_job(name=name.resource, **self._options())

    def retry(self, failed: Any, name: JobName) -> JobName:
        """Create the retry of ``failed`` (named ``name``) beside it; returns the retry's name.

        google.api_core's Conflict (409, ALREADY_EXISTS) when that retry was created before.
        """
        retry = JobName(name.project, name.region, retry_job_id(name.job))
        self._vertex.client(name.region).create_pipeline_job(
            parent=name.parent, pipeline_job=retry_of(failed), pipeline_job_id=retry.job, **self._options()
        )
        return retry
