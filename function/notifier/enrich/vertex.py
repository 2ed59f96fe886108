"""Enrich a final status with the PipelineJob from the Vertex AI API.

Enrichment is best effort: a notification is never lost because of the Vertex API.
Every failure (403, 404, 5xx, timeout, no resource name) becomes a short note that the
renderer shows, and the caller logs a WARNING.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from notifier import bounded_json
from notifier.enrich.calls import ClientCache, describe_failure, local_credentials
from notifier.enrich.pipeline_spec import plain, stub_exit_task
from notifier.enrich.results import parse_results
from notifier.enrich.vertex_client import pipeline_service_client_class
from notifier.errors import describe
from notifier.model import (
    ENDED_TASK_STATES,
    EXIT_HANDLER,
    FINAL_STATES,
    Enrichment,
    FailedTask,
    FinalStatus,
    JobDetails,
    ModelResults,
    normalize_state,
)
from notifier.names import JobName, Region, parse_job_name

log = logging.getLogger(__name__)

# Vertex adds billing labels to every run; they are noise in a notification.
_SYSTEM_LABEL = "vertex-ai-pipelines-"
# What a sweep reads of each listed job (ListPipelineJobsRequest.read_mask), and how many
# pages of them at most per project and region.
LIST_READ_MASK = (
    "name",
    "display_name",
    "state",
    "create_time",
    "start_time",
    "end_time",
    "labels",
    "pipeline_spec",
    "service_account",
)
LIST_PAGES_MAX = 20
HAS_JOB_PAGES_MAX = 3
# A job the client cannot parse (protobuf's JSON parser stops at 100 levels of nesting, and
# every level of a Struct, as artifact metadata is, counts twice) is read again as plain
# JSON, within these limits, with everything nested deeper than PRUNE_DEPTH left out: a
# real job is about 13 levels deep.
JOB_DOCUMENT = bounded_json.Limits(max_bytes=64 * bounded_json.MIB, max_depth=512)
PRUNE_DEPTH = 32
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
CONSOLE_URL = (
    "https://console.cloud.google.com/vertex-ai/locations/{region}/pipelines/runs/{job_id}?project={project}"
)


def console_link(template: str, **parts: str) -> str:
    """A console link from ``template`` and its parts (each checked by ``names``)."""
    # Quoted all the same: a URL must never carry raw <, > or spaces.
    return template.format(**{key: quote(value, safe="") for key, value in parts.items()})


def console_url(name: JobName) -> str:
    """The Vertex AI console link for the run (every part checked by ``names``)."""
    return console_link(CONSOLE_URL, region=name.region, job_id=name.job, project=name.project)


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


def proto_time(value: Any) -> datetime | None:
    """A proto-plus timestamp as a datetime; None when unset (or at the epoch, as unset ones read)."""
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
        end = proto_time(task.end_time)
        failed.append(
            (
                end,
                FailedTask(
                    name=task.task_name,
                    message=message,
                    job=job,
                    start_time=proto_time(task.start_time) or proto_time(task.create_time),
                    end_time=end,
                ),
            )
        )
    failed.sort(key=lambda item: (item[0] is None, item[0] or datetime.min, item[1].name))
    return [task for _, task in failed]


# An exit task (the exit handler's) runs after the others whatever happened: its trigger policy.
_EXIT_TRIGGER = "ALL_UPSTREAM_TASKS_COMPLETED"


def _exit_tasks(spec: Any) -> frozenset[str]:
    """The names of the root DAG's exit tasks (an exit handler's task is never cached work)."""
    try:
        tasks = spec.get("root", {}).get("dag", {}).get("tasks", {}) if spec else {}
        return frozenset(
            str(name)
            for name, task in tasks.items()
            if hasattr(task, "get") and (task.get("triggerPolicy") or {}).get("strategy") == _EXIT_TRIGGER
        )
    except (AttributeError, TypeError):
        return frozenset()


def fully_cached(tasks: Sequence[Any], exit_tasks: frozenset[str] = frozenset()) -> bool:
    """Every task that does work was a cache hit: SKIPPED ("skipped due to cache hit") or its
    execution CACHED. DAG tasks, the exit handler's and tasks never triggered are left out;
    at least one cache hit is needed."""
    parents = {task.parent_task_id for task in tasks}
    hits = 0
    for task in tasks:
        if task.parent_task_id == 0 or task.task_id in parents or task.task_name in exit_tasks:
            continue
        state = task.state.name
        if state == "NOT_TRIGGERED":
            continue
        execution = task.execution.state.name if task.execution else ""
        if state != "SKIPPED" and execution != "CACHED":
            return False
        hits += 1
    return hits > 0


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

    runtime = job.runtime_config
    params: dict[str, str] = {}
    if runtime:
        for key, value in runtime.parameters.items():  # deprecated typed Value form
            params[key] = _as_text(_legacy_value(value))
        for key, value in runtime.parameter_values.items():
            params[key] = _as_text(value)

    stub = stub_exit_task(spec, params) if with_stub else None
    stub_state = reported_state = ""
    if stub is not None:
        # Present in the spec but absent from the run: the stub never ran (the run did not start).
        states = {task.task_name: task.state.name for task in tasks}
        stub_state = states.get(stub.name, "NOT_RUN")
        reported_state = states.get(stub.reports_on, "") if stub.reports_on else ""

    return JobDetails(
        display_name=job.display_name,
        pipeline_name=pipeline_name,
        create_time=proto_time(job.create_time),
        start_time=proto_time(job.start_time),
        end_time=proto_time(job.end_time),
        failed_tasks=tuple(_failed_leaves(tasks)),
        labels=tuple(sorted((k, v) for k, v in job.labels.items() if not k.startswith(_SYSTEM_LABEL))),
        parameters=tuple(sorted(params.items())),
        service_account=job.service_account,
        job_error=job.error.message if job.error else "",
        name=job.name,
        state=normalize_state(job.state.name),
        stub_task_state=stub_state,
        stub_settings=stub.settings if stub else (),
        reported_task_state=reported_state,
        fully_cached=fully_cached(tasks, _exit_tasks(spec)) if tasks else False,
        results=_results(tasks),
    )


def rest_client(client_class: type, endpoint: str, credentials: Any) -> Any:
    """An ``aiplatform_v1`` service client over REST for one endpoint (``names.vertex_endpoint``'s)."""
    from google.api_core.client_options import ClientOptions  # noqa: PLC0415 - lazy: paid only when a message needs Vertex

    return client_class(
        transport="rest",
        credentials=local_credentials(endpoint, credentials),
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def vertex_retry(timeout: float) -> Any:
    """Retries of Vertex AI calls on 429, 500, 503 and lost connections, all within ``timeout``."""
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
        timeout=timeout,
    )


def _listed_job(job: Any) -> JobDetails:
    """A listed job's details; NameRejectedError when its name is malformed."""
    details = job_details(job)
    parse_job_name(details.name, "listed job's name")
    return details


def _results(tasks: Sequence[Any]) -> ModelResults:
    """What the run produced (``enrich.results``); an artifact of a shape never seen costs the
    results, never the notification."""
    try:
        return parse_results(tasks)
    except Exception as exc:  # noqa: BLE001 - results are a nicety: the message goes out without them
        log.warning("Leaving the model results out: %s", describe(exc))
        return ModelResults()


def pruned(value: Any, depth: int = PRUNE_DEPTH) -> Any:
    """``value`` with every object or list nested deeper than ``depth`` replaced by null."""
    if isinstance(value, dict):
        return None if depth <= 0 else {key: pruned(item, depth - 1) for key, item in value.items()}
    if isinstance(value, list):
        return None if depth <= 0 else [pruned(item, depth - 1) for item in value]
    return value


def parse_job_document(raw: bytes) -> Any:
    """A ``PipelineJob`` from the REST API's JSON, parsed within ``JOB_DOCUMENT`` and pruned to
    ``PRUNE_DEPTH``: what the client could not parse, less what was nested too deep to matter."""
    from google.cloud.aiplatform_v1.types.pipeline_job import PipelineJob  # noqa: PLC0415 - with the client

    document = bounded_json.loads(raw, JOB_DOCUMENT)
    return PipelineJob.from_json(json.dumps(pruned(document)), ignore_unknown_fields=True)


def _has_ended(details: JobDetails) -> bool:
    """Whether what decides an exit handler's claim can no longer change: the job, or the task
    the stub reports on, has ended."""
    return details.state in FINAL_STATES or details.reported_task_state in ENDED_TASK_STATES


class EndedJobs:
    """A short-lived, bounded memory of jobs whose outcome is settled (``_has_ended``).

    A burst that hands messages back to Pub/Sub brings each one again within seconds: the
    retry is routed from here instead of a second GetPipelineJob. Only settled outcomes
    are kept, so a verdict never rests on a state that may still change.
    """

    def __init__(self, size: int = 1024, ttl: float = 120.0) -> None:
        self._size = size
        self._ttl = ttl
        self._items: OrderedDict[str, tuple[float, JobDetails]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> JobDetails | None:
        """The details kept for ``key``, unless older than the TTL."""
        with self._lock:
            item = self._items.get(key)
            if item is None or time.monotonic() - item[0] > self._ttl:
                return None
            return item[1]

    def put(self, key: str, details: JobDetails) -> None:
        """Keep ``details``; the oldest entry goes when full."""
        with self._lock:
            self._items[key] = (time.monotonic(), details)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class VertexService:
    """One client of a Vertex AI service per allowed region, over REST, made on first use.

    The import and client set-up cost only falls on the first message of a cold instance
    that needs them. Only checked names reach it (a ``Region``): endpoints come from
    ``endpoint_for(region)`` alone, and the clients are bounded by the allowed regions.
    List calls read at most ``max_pages`` pages of ``page_size``.
    """

    # Each service's client class (imported lazily, ``enrich.vertex_client``) and page cap.
    client_class: Callable[[], type]
    pages_max = LIST_PAGES_MAX

    def __init__(
        self,
        endpoint_for: Callable[[Region], str],
        timeout: float,
        credentials: Any = None,
        page_size: int = 100,
        max_pages: int | None = None,
        max_clients: int = 64,
    ) -> None:
        self._endpoint_for = endpoint_for
        self._timeout = timeout
        self._page_size = page_size
        self._max_pages = max_pages or self.pages_max
        self._credentials = credentials
        self._clients = ClientCache(self._make_client, max_size=max_clients)

    def _make_client(self, region: Region) -> Any:
        return rest_client(type(self).client_class(), self._endpoint_for(region), self._credentials)

    def _retry(self) -> Any:
        return vertex_retry(self._timeout)

    def _paged(
        self,
        pager: Any,
        items: Callable[[Any], Iterable[Any]],
        read: Callable[[Any], Any],
        what: str,
        where: str,
    ) -> Iterator[Any]:
        """Each item of each page, ``read``; an item that cannot be read is skipped with a WARNING,
        never the rest, and after ``max_pages`` pages a WARNING says more were left."""
        for number, page in enumerate(pager.pages, 1):
            for item in items(page):
                try:
                    value = read(item)
                except Exception as exc:  # noqa: BLE001 - one bad item never aborts the others
                    log.warning("Skipping a listed %s that cannot be read: %s", what, describe(exc))
                    continue
                yield value
            if number >= self._max_pages and page.next_page_token:
                log.warning(
                    "Listed %d pages of %ss in %s; the rest are left for the next sweep", number, what, where
                )
                return


class VertexEnricher(VertexService):
    """Fetches PipelineJobs with ``aiplatform_v1.PipelineServiceClient`` over REST (``VertexService``)."""

    client_class = staticmethod(pipeline_service_client_class)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ended = EndedJobs()

    def client(self, region: Region) -> Any:
        """The region's ``PipelineServiceClient`` (made on first use; shared with the actions worker)."""
        return self._clients.get(region)

    def retry_policy(self) -> Any:
        """The bounded retry of every call (transient errors only, within the timeout)."""
        return self._retry()

    def fetch(self, name: JobName, *, with_stub: bool = True) -> JobDetails:
        """Get the job (``with_stub``: see ``job_details``); raises google.api_core / transport
        exceptions on failure.

        A job the client cannot parse (artifact metadata nested past protobuf's limit) is
        read again as JSON without its deepest parts (``parse_job_document``): a pipeline
        that logs a deep struct still gets its verified message, its routes and its pages.
        """
        from google.protobuf import json_format  # noqa: PLC0415 - lazy, with the client

        try:
            job = self._clients.get(name.region).get_pipeline_job(
                name=name.resource, retry=self._retry(), timeout=min(self._timeout, 5.0)
            )
        except json_format.ParseError as exc:
            log.warning(
                "The client cannot read job %s (%s); reading it without its deepest parts", name.job, exc
            )
            job = self._read_pruned(name)
        return job_details(job, with_stub=with_stub)

    def _read_pruned(self, name: JobName) -> Any:
        """GET the job as the REST transport does (enums as integers), parsed by ``parse_job_document``."""
        import google.auth  # noqa: PLC0415 - only for a job the client could not read
        from google.api_core import exceptions  # noqa: PLC0415
        from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

        endpoint = self._endpoint_for(name.region)
        credentials = local_credentials(endpoint, self._credentials)
        if credentials is None:
            credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
        base = endpoint if "://" in endpoint else f"https://{endpoint}"
        response = AuthorizedSession(credentials).get(
            f"{base.rstrip('/')}/v1/{name.resource}",
            params={"$alt": "json;enum-encoding=int"},
            timeout=min(self._timeout, 5.0),
        )
        if response.status_code != 200:
            raise exceptions.from_http_response(response)
        return parse_job_document(response.content)

    def list_jobs(self, project: str, region: Region, filter_: str) -> Iterator[JobDetails]:
        """The jobs in ``projects/<project>/locations/<region>`` matching ``filter_``, page by page.

        Reads only the fields a sweep uses (``LIST_READ_MASK``) and at most ``max_pages``
        pages (a WARNING says when more were left); a job that cannot be read is skipped
        with a WARNING, never the rest.
        """
        from google.protobuf import field_mask_pb2  # noqa: PLC0415 - lazy, with the client

        pager = self._clients.get(region).list_pipeline_jobs(
            request={
                "parent": f"projects/{project}/locations/{region}",
                "filter": filter_,
                "page_size": self._page_size,
                "read_mask": field_mask_pb2.FieldMask(paths=list(LIST_READ_MASK)),
            },
            retry=self._retry(),
            timeout=min(self._timeout, 5.0),
        )
        yield from self._paged(
            pager, lambda page: page.pipeline_jobs, _listed_job, "run", f"{project}/{region}"
        )

    def has_job(self, project: str, region: Region, filter_: str) -> bool:
        """Whether any job in ``projects/<project>/locations/<region>`` matches ``filter_``.

        One small page of names (the schedule check's "did a run start since?"): at most
        ``HAS_JOB_PAGES_MAX`` pages are read, in case the server answers empty pages.
        """
        from google.protobuf import field_mask_pb2  # noqa: PLC0415 - lazy, with the client

        pager = self._clients.get(region).list_pipeline_jobs(
            request={
                "parent": f"projects/{project}/locations/{region}",
                "filter": filter_,
                "page_size": 1,
                "read_mask": field_mask_pb2.FieldMask(paths=["name"]),
            },
            retry=self._retry(),
            timeout=min(self._timeout, 5.0),
        )
        return any(page.pipeline_jobs for page in itertools.islice(pager.pages, HAS_JOB_PAGES_MAX))

    def enrich(self, status: FinalStatus, name: JobName) -> Enrichment:
        """What Vertex AI says about the run ``name`` (a checked name in scope); never raises.

        Vertex AI's 404 is kept apart (``not_found``): it refutes the run's claim, where
        any other failure only leaves it unconfirmed. An exit handler's status is looked up
        in the ``ended`` cache first (a message handed back by a busy channel comes again
        within seconds); a job event always asks afresh (it is decided by the job's own state).
        """
        link = console_url(name)
        cached = self._ended.get(name.resource) if status.source == EXIT_HANDLER else None
        if cached is not None:
            return Enrichment(cached, name.region, link)
        try:
            details = self.fetch(name)
            if _has_ended(details):
                self._ended.put(name.resource, details)
        except Exception as exc:  # noqa: BLE001 - any failure degrades, never drops
            return Enrichment(
                None,
                name.region,
                link,
                describe_failure(exc, "Vertex AI API"),
                not_found=getattr(exc, "code", None) == 404,
            )
        return Enrichment(details, name.region, link)
