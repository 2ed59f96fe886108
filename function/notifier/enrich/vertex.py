"""Enrich a final status with the PipelineJob from the Vertex AI API.

Enrichment is best effort: a notification is never lost because of the Vertex API.
Every failure (403, 404, 5xx, timeout, no resource name) becomes a short note that the
renderer shows, and the caller logs a WARNING.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from notifier.enrich.calls import ClientCache, describe_failure, local_credentials
from notifier.enrich.pipeline_spec import plain, stub_exit_task
from notifier.enrich.vertex_client import pipeline_service_client_class
from notifier.model import JOB_EVENT, Enrichment, FailedTask, FinalStatus, JobDetails, normalize_state

log = logging.getLogger(__name__)

# Vertex adds billing labels to every run; they are noise in a notification.
_SYSTEM_LABEL = "vertex-ai-pipelines-"
CONSOLE_URL = (
    "https://console.cloud.google.com/vertex-ai/locations/{region}/pipelines/runs/{job_id}?project={project}"
)


def console_url(status: FinalStatus, region: str) -> str:
    """The Vertex AI console link for the run, or '' when the status cannot name it."""
    if not status.has_valid_resource_name or not region:
        return ""
    # Quoted: the parts come from the message, and a URL must not carry raw <, > or spaces.
    return CONSOLE_URL.format(
        region=quote(region, safe=""),
        job_id=quote(status.job_id, safe=""),
        project=quote(status.project, safe=""),
    )


def _as_text(value: Any) -> str:
    """A parameter value as a reader writes it: text as is, anything else as compact JSON."""
    value = plain(value)
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _legacy_value(value: Any) -> Any:
    # The deprecated ``parameters`` map holds typed Values (a oneof); 0 and "" are real values.
    for kind in ("string_value", "int_value", "double_value"):
        if kind in value:
            return getattr(value, kind)
    return ""


def _time(value: Any) -> datetime | None:
    # proto-plus gives DatetimeWithNanoseconds for set fields and None for unset ones.
    if isinstance(value, datetime) and value.year > 1970:
        return value
    return None


def _task_job(task: Any) -> str:
    """The CustomJob that ran a task: its latest attempt, or the last failed one."""
    detail = task.executor_detail
    if not detail:
        return ""
    container = detail.container_detail
    if container:
        return container.main_job or (container.failed_main_jobs[-1] if container.failed_main_jobs else "")
    custom = detail.custom_job_detail
    if custom:
        return custom.job or (custom.failed_jobs[-1] if custom.failed_jobs else "")
    return ""


def _failed_leaves(tasks: Sequence[Any]) -> list[FailedTask]:
    """Failed tasks that ran something, in the order they failed.

    DAG tasks (the root, and nested DAGs: anything that is some task's parent) only
    repeat "some tasks failed"; the tasks below them say why.
    """
    parents = {task.parent_task_id for task in tasks}
    failed: list[tuple[datetime | None, FailedTask]] = []
    for task in tasks:
        if task.state.name != "FAILED" or task.parent_task_id == 0 or task.task_id in parents:
            continue
        job = _task_job(task)
        message = task.error.message if task.error else ""
        if not job and FinalStatus(state="FAILED", error_message=message).failed_task_names:
            continue  # a DAG whose children are not listed: it names them, it did not fail itself
        end = _time(task.end_time)
        failed.append(
            (
                end,
                FailedTask(
                    name=task.task_name,
                    message=message,
                    job=job,
                    start_time=_time(task.start_time) or _time(task.create_time),
                    end_time=end,
                ),
            )
        )
    failed.sort(key=lambda item: (item[0] is None, item[0] or datetime.min, item[1].name))
    return [task for _, task in failed]


def job_details(job: Any, *, with_stub: bool = False) -> JobDetails:
    """Reduce an ``aiplatform_v1.PipelineJob`` to ``JobDetails``.

    ``with_stub``: also find the exit-handler stub's task in the compiled spec (most of the
    reduction's cost on a TFX spec), which only a job event's "covered?" question needs.
    """
    tasks = list(job.job_detail.task_details) if job.job_detail else []

    pipeline_name = ""
    spec = job.pipeline_spec
    if spec:
        info = spec.get("pipelineInfo") or {}
        pipeline_name = _as_text(info.get("name", "")) if isinstance(info, Mapping) else ""

    stub = stub_exit_task(spec) if with_stub else None
    stub_state = ""
    if stub is not None:
        # Present in the spec but absent from the run: the stub never ran (the run did not start).
        stub_state = "NOT_RUN"
        for task in tasks:
            if task.task_name == stub[0]:
                stub_state = task.state.name

    runtime = job.runtime_config
    params: dict[str, str] = {}
    if runtime:
        for key, value in runtime.parameters.items():  # deprecated typed Value form
            params[key] = _as_text(_legacy_value(value))
        for key, value in runtime.parameter_values.items():
            params[key] = _as_text(value)

    return JobDetails(
        display_name=job.display_name,
        pipeline_name=pipeline_name,
        create_time=_time(job.create_time),
        start_time=_time(job.start_time),
        end_time=_time(job.end_time),
        failed_tasks=tuple(_failed_leaves(tasks)),
        labels=tuple(sorted((k, v) for k, v in job.labels.items() if not k.startswith(_SYSTEM_LABEL))),
        parameters=tuple(sorted(params.items())),
        service_account=job.service_account,
        job_error=job.error.message if job.error else "",
        name=job.name,
        state=normalize_state(job.state.name),
        stub_task_state=stub_state,
        stub_settings=stub[1] if stub else (),
    )


class VertexEnricher:
    """Fetches PipelineJobs with ``aiplatform_v1.PipelineServiceClient`` over REST.

    One client per region, created on first use: the import and client set-up cost
    only falls on the first message of a cold instance, and only if it needs them.
    """

    def __init__(
        self,
        endpoint_for: Callable[[str], str],
        timeout: float,
        credentials: Any = None,
        page_size: int = 100,
    ) -> None:
        self._endpoint_for = endpoint_for
        self._timeout = timeout
        self._page_size = page_size
        self._credentials = credentials
        self._clients = ClientCache(self._make_client)

    def _make_client(self, region: str) -> Any:
        from google.api_core.client_options import ClientOptions  # noqa: PLC0415 - lazy: paid only when a message needs Vertex

        endpoint = self._endpoint_for(region)
        return pipeline_service_client_class()(
            transport="rest",
            credentials=local_credentials(endpoint, self._credentials),
            client_options=ClientOptions(api_endpoint=endpoint),
        )

    def fetch(self, resource_name: str, region: str, *, with_stub: bool = False) -> JobDetails:
        """Get the job (``with_stub``: see ``job_details``); raises google.api_core / transport
        exceptions on failure."""
        job = self._clients.get(region).get_pipeline_job(
            name=resource_name, retry=self._retry(), timeout=min(self._timeout, 5.0)
        )
        return job_details(job, with_stub=with_stub)

    def _retry(self) -> Any:
        from google.api_core import exceptions, retry  # noqa: PLC0415 - lazy: paid only when a message needs Vertex

        # Bounded: the whole enrichment, retries included, fits in the configured budget,
        # leaving the rest of the function timeout for Slack.
        return retry.Retry(
            predicate=retry.if_exception_type(
                exceptions.ServiceUnavailable,
                exceptions.InternalServerError,
                exceptions.TooManyRequests,
                ConnectionError,
            ),
            initial=0.2,
            maximum=2.0,
            multiplier=2.0,
            timeout=self._timeout,
        )

    def list_jobs(self, project: str, region: str, filter_: str) -> Iterator[JobDetails]:
        """Every job in ``projects/<project>/locations/<region>`` matching ``filter_``, page by page."""
        pager = self._clients.get(region).list_pipeline_jobs(
            request={
                "parent": f"projects/{project}/locations/{region}",
                "filter": filter_,
                "page_size": self._page_size,
            },
            retry=self._retry(),
            timeout=min(self._timeout, 5.0),
        )
        for job in pager:
            yield job_details(job)

    def enrich(self, status: FinalStatus, region: str) -> Enrichment:
        """Enrichment for ``status``; never raises."""
        link = console_url(status, region)
        if not status.has_valid_resource_name:
            return Enrichment(None, region, link, "no pipeline job resource name in the status")
        if not region:
            return Enrichment(None, region, link, "no region (set GCP_REGION)")
        try:
            details = self.fetch(
                status.pipeline_job_resource_name, region, with_stub=status.source == JOB_EVENT
            )
        except Exception as exc:  # noqa: BLE001 - any failure degrades, never drops
            return Enrichment(None, region, link, describe_failure(exc, "Vertex AI API"))
        return Enrichment(details, region, link)
