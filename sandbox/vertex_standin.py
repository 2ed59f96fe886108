"""A local stand-in for the Vertex AI REST API's PipelineJobs and Schedules: get, list, cancel, create.

- ``GET /v1/{name=projects/*/locations/*/pipelineJobs/*}`` serves PipelineJob JSON as the
  real API does (camelCase, RFC 3339 times, whatever enum and int64 encoding the file has);
  a project id in the name finds the job registered under its project number, and the
  job's own ``name`` keeps the number, as Vertex answers.
- ``GET /v1/{parent=projects/*/locations/*}/pipelineJobs?filter=&pageSize=&pageToken=``
  pages through the registered jobs of that location, evaluating the documented filter
  fields a notifier sends (``state``, ``create_time``, ``update_time``, ``end_time``,
  ``pipeline_name``, ``display_name``, ``labels.KEY``, and ``schedule_name``, which the
  aiplatform SDK's ``PipelineJobSchedule.list_jobs`` sends though the reference does not
  list it) in the grammar of ``sandbox.vertex_query``; anything else is a 400 as from the
  real API. ``orderBy`` sorts (``create_time``, ``update_time``, ``start_time``,
  ``end_time``; without it, jobs come in name order: the real default, ``create_time
  desc``, is not to be relied on). ``readMask`` (camelCase paths, comma-separated, as the
  REST transport sends a FieldMask) answers only those fields; without it ``jobDetail`` is
  left out as the real list view does. Every request is recorded.
- ``GET /v1/{parent=projects/*/locations/*}/schedules?filter=&pageSize=&pageToken=&orderBy=``
  and ``GET /v1/{name=projects/*/locations/*/schedules/*}`` serve Schedule JSON the same
  way (``state`` an integer, int64 counts as strings, as the REST transport asks with
  ``$alt=json;enum-encoding=int``): the filter fields ``ListSchedulesRequest`` documents
  (``display_name``, ``state``, ``create_pipeline_job_request:*``, ``create_time``,
  ``start_time``, ``end_time`` (with ``:*``), ``next_run_time``), ``orderBy`` over
  ``create_time``, ``start_time``, ``end_time``, ``next_run_time`` (default ``create_time
  desc``), ``pageSize`` default 100; list calls are recorded in ``schedule_list_requests``.

- ``POST /v1/{name=projects/*/locations/*/pipelineJobs/*}:cancel`` answers ``{}`` and moves a
  job that has not ended to ``PIPELINE_STATE_CANCELLING`` (400 ``FAILED_PRECONDITION`` for one
  that has ended, 404 for none); ``cancelled`` records the names.
- ``POST /v1/{parent=projects/*/locations/*}/pipelineJobs?pipelineJobId=`` creates a job from
  the PipelineJob JSON in the body (as the REST transport sends it), named from the parent
  (with the project's number) and the id, ``PIPELINE_STATE_PENDING``, created now; 409
  ``ALREADY_EXISTS`` for a name taken, 400 for no spec or a malformed id, and 403 when the
  job's service account (empty: the project's default compute account) is not one the
  caller may act as (``act_as``, when set: the caller's ``iam.serviceAccounts.actAs``
  grants). ``created`` records the jobs created.

It can answer 403, 404, 500 or stall on demand, so the real ``aiplatform_v1`` REST
transport is what the tests drive.

Every path may start with a region (``/us-central1/v1/…``): pointed at with the endpoint
template ``http://127.0.0.1:PORT/{region}``, the stand-in serves each region's endpoint as
the production template (``{region}-aiplatform.googleapis.com``) would, and its recorded
paths say which region's endpoint each request was sent to.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.http_standin import StandinServer, google_error
from sandbox.vertex_query import (
    COMPARISONS,
    EQUALITY,
    Field,
    QueryError,
    apply_mask,
    compile_filter,
    parse_mask,
    sort_resources,
)

# An optional leading region: the endpoint template http://127.0.0.1:PORT/{region}.
_ENDPOINT_REGION = r"(?:/[a-z][a-z0-9-]{0,62})?"
_JOB_PATH = re.compile(rf"^{_ENDPOINT_REGION}/v1/(projects/([^/]+)/(locations/[^/]+/pipelineJobs/[^/?]+))")
_LIST_PATH = re.compile(rf"^{_ENDPOINT_REGION}/v1/(projects/([^/]+)/(locations/[^/]+))/pipelineJobs$")
_CANCEL_PATH = re.compile(
    rf"^{_ENDPOINT_REGION}/v1/(projects/([^/]+)/(locations/[^/]+/pipelineJobs/[^/:?]+)):cancel$"
)
_NEW_JOB_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
_SCHEDULE_PATH = re.compile(rf"^{_ENDPOINT_REGION}/v1/(projects/([^/]+)/(locations/[^/]+/schedules/[^/:]+))$")
_SCHEDULE_LIST_PATH = re.compile(rf"^{_ENDPOINT_REGION}/v1/(projects/([^/]+)/(locations/[^/]+))/schedules$")
# PipelineState numbers, for files that encode the enum as the REST transport asks (ints).
_STATES = {0: "PIPELINE_STATE_UNSPECIFIED", 1: "PIPELINE_STATE_QUEUED", 2: "PIPELINE_STATE_PENDING",
           3: "PIPELINE_STATE_RUNNING", 4: "PIPELINE_STATE_SUCCEEDED", 5: "PIPELINE_STATE_FAILED",
           6: "PIPELINE_STATE_CANCELLING", 7: "PIPELINE_STATE_CANCELLED", 8: "PIPELINE_STATE_PAUSED"}  # fmt: skip
# Schedule.State numbers (google.cloud.aiplatform.v1.Schedule.State).
SCHEDULE_STATES = {0: "STATE_UNSPECIFIED", 1: "ACTIVE", 2: "PAUSED", 3: "COMPLETED"}
# ListPipelineJobsRequest.filter: the documented fields a notifier uses, and schedule_name.
JOB_FILTER_FIELDS = {
    "state": Field("state", "enum", EQUALITY, _STATES),
    "create_time": Field("createTime", "time", COMPARISONS),
    "update_time": Field("updateTime", "time", COMPARISONS),
    "end_time": Field("endTime", "time", COMPARISONS),
    "pipeline_name": Field("pipelineSpec.pipelineInfo.name", "text", EQUALITY),
    "display_name": Field("displayName", "text", EQUALITY | {":"}),
    "labels": Field("labels", "labels", EQUALITY | {":"}),
    "schedule_name": Field("scheduleName", "text", EQUALITY),
}
JOB_ORDER_FIELDS = {"create_time": "createTime", "update_time": "updateTime", "start_time": "startTime",
                    "end_time": "endTime"}  # fmt: skip
# The PipelineJob message's fields (JSON names): what a read mask may name.
JOB_FIELDS = ("name", "displayName", "createTime", "startTime", "endTime", "updateTime", "pipelineSpec",
              "state", "jobDetail", "error", "labels", "runtimeConfig", "encryptionSpec", "serviceAccount",
              "network", "reservedIpRanges", "pscInterfaceConfig", "templateUri", "templateMetadata",
              "scheduleName", "preflightValidations")  # fmt: skip
# ListSchedulesRequest.filter and order_by, as documented.
SCHEDULE_FILTER_FIELDS = {
    "display_name": Field("displayName", "text", EQUALITY | {":"}),
    "state": Field("state", "enum", EQUALITY, SCHEDULE_STATES),
    "create_pipeline_job_request": Field("createPipelineJobRequest", "presence", frozenset()),
    "create_notebook_execution_job_request": Field(
        "createNotebookExecutionJobRequest", "presence", frozenset()
    ),
    "create_time": Field("createTime", "time", COMPARISONS),
    "start_time": Field("startTime", "time", COMPARISONS),
    "end_time": Field("endTime", "time", COMPARISONS, presence=True),
    "next_run_time": Field("nextRunTime", "time", COMPARISONS),
}
SCHEDULE_ORDER_FIELDS = {"create_time": "createTime", "start_time": "startTime", "end_time": "endTime",
                         "next_run_time": "nextRunTime"}  # fmt: skip
SCHEDULE_PAGE_SIZE = 100
# PipelineJob states after which a job changes no more (as names; files may hold the numbers).
ENDED_STATES = frozenset({"PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"})


def state_name(job: dict[str, Any]) -> str:
    """A job's ``state`` as its enum name, whichever encoding the JSON has."""
    state = job.get("state", "")
    return _STATES.get(state, "PIPELINE_STATE_UNSPECIFIED") if isinstance(state, int) else str(state)


def run_like(
    template: dict[str, Any],
    resource: str,
    *,
    channel: str = "",
    pipeline: str = "",
    on_failure_only: bool | None = None,
) -> dict[str, Any]:
    """Another run of ``template``'s pipeline, as Vertex AI would return it, named ``resource``.

    ``channel`` and ``on_failure_only``: the constants the pipeline gives its exit-handler
    stub in the compiled spec (in the spec's own constant form: KFP's ``constant``, TFX's
    typed ``constantValue``). ``pipeline``: another pipeline name (``pipelineInfo.name``).
    """
    job = copy.deepcopy(template)
    job["name"] = resource
    job["displayName"] = resource.rsplit("/", 1)[-1]
    spec = job.setdefault("pipelineSpec", {})
    if pipeline:
        spec.setdefault("pipelineInfo", {})["name"] = pipeline
    for task in spec.get("root", {}).get("dag", {}).get("tasks", {}).values():
        inputs = task.get("inputs", {}).get("parameters", {})
        if not any("taskFinalStatus" in value for value in inputs.values()):
            continue  # not the exit handler
        typed = any("constantValue" in value.get("runtimeValue", {}) for value in inputs.values())
        if channel:
            constant = {"constantValue": {"stringValue": channel}} if typed else {"constant": channel}
            inputs["slack_channel_id"] = {"runtimeValue": constant}
        if on_failure_only is not None:
            flag: dict[str, Any] = (
                {"constantValue": {"intValue": str(int(on_failure_only))}}
                if typed
                else {"constant": on_failure_only}
            )
            inputs["on_failure_only"] = {"runtimeValue": flag}
    return job


@dataclass(frozen=True)
class ListRequest:
    """One ListPipelineJobs call as the stand-in received it."""

    parent: str
    filter: str
    page_size: int
    page_token: str
    order_by: str = ""
    read_mask: str = ""


@dataclass(frozen=True)
class ScheduleListRequest:
    """One ListSchedules call as the stand-in received it."""

    parent: str
    filter: str
    page_size: int
    page_token: str
    order_by: str


class VertexStandin(StandinServer):
    """Serves registered jobs and schedules; ``fail_next``/``fail_all`` script errors."""

    name = "vertex-standin"

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.list_requests: list[ListRequest] = []
        self.schedules: dict[str, dict[str, Any]] = {}
        self.schedule_list_requests: list[ScheduleListRequest] = []
        # Project id -> number: GETs by id find jobs registered (as Vertex names them) by number.
        self.project_numbers: dict[str, str] = {}
        self.fail_all: int | None = None
        self.delay_seconds = 0.0
        self._fail_next: list[int] = []
        self._lock = threading.Lock()
        self.cancelled: list[str] = []
        self.created: list[dict[str, Any]] = []
        # The service accounts the caller may act as (None: any), as iam.serviceAccounts.actAs grants.
        self.act_as: set[str] | None = None

    @property
    def region_template(self) -> str:
        """An endpoint template (``VERTEX_API_ENDPOINT``) with one endpoint per region, all here."""
        return f"{self.url}/{{region}}"

    def add_job(self, job: dict[str, Any]) -> None:
        """Register a PipelineJob (its ``name`` is the resource name)."""
        self.jobs[job["name"]] = job

    def load_jobs(self, folder: Path, pattern: str = "*.job.json") -> None:
        """Register every job JSON file in ``folder``."""
        for path in sorted(folder.glob(pattern)):
            self.add_job(json.loads(path.read_text()))

    def add_schedule(self, schedule: dict[str, Any]) -> None:
        """Register a Schedule (its ``name`` is the resource name, with the project number)."""
        self.schedules[schedule["name"]] = schedule

    def load_schedules(self, folder: Path, pattern: str = "*.schedule.json") -> None:
        """Register every Schedule JSON file in ``folder``."""
        for path in sorted(folder.glob(pattern)):
            self.add_schedule(json.loads(path.read_text()))

    def reset(self) -> None:
        """Forget the recorded requests and any scripted failure or stall (data stays)."""
        with self._lock:
            self.requests.clear()
            self.list_requests.clear()
            self.schedule_list_requests.clear()
            self._fail_next.clear()
            self.fail_all = None
            self.delay_seconds = 0.0
            self.cancelled.clear()
            self.created.clear()
            self.act_as = None

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these HTTP error codes, in order."""
        with self._lock:
            self._fail_next.extend(codes)

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer a GET for a pipeline job or a schedule, or a list of them."""
        with self._lock:
            self.requests.append(path)
            code = self._fail_next.pop(0) if self._fail_next else self.fail_all
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        url = urlsplit(path)
        if code:
            return google_error(code, f"stand-in answering {code} as asked")
        if method == "POST":
            return self._post(url.path, parse_qs(url.query), body)
        if method != "GET":
            return google_error(404, f"no route for {method} {path}")
        if match := _LIST_PATH.match(url.path):
            return self._list(match, parse_qs(url.query))
        if match := _SCHEDULE_LIST_PATH.match(url.path):
            return self._list_schedules(match, parse_qs(url.query))
        if match := _SCHEDULE_PATH.match(url.path):
            schedule = self.schedules.get(self._number_name(match))
            if schedule is None:
                return google_error(404, f"Schedule {match[1]} not found")
            return 200, {}, schedule
        match = _JOB_PATH.match(url.path)
        if not match:
            return google_error(404, f"no route for {method} {path}")
        job = self.jobs.get(self._number_name(match))
        if job is None:
            return google_error(404, f"PipelineJob {match[1]} not found")
        return 200, {}, job

    def _post(self, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, dict[str, str], Any]:
        if match := _CANCEL_PATH.match(path):
            return self._cancel(self._number_name(match))
        if match := _LIST_PATH.match(path):
            return self._create(self._number_name(match), query.get("pipelineJobId", [""])[0], body)
        return google_error(404, f"no route for POST {path}")

    def _cancel(self, name: str) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            job = self.jobs.get(name)
            if job is None:
                return google_error(404, f"PipelineJob {name} not found")
            state = state_name(job)
            if state in ENDED_STATES:
                message = f"Cannot cancel PipelineJob {name} in state {state}"
                return 400, {}, {"error": {"code": 400, "message": message, "status": "FAILED_PRECONDITION"}}
            job["state"] = "PIPELINE_STATE_CANCELLING"
            self.cancelled.append(name)
        return 200, {}, {}

    def _create(self, parent: str, job_id: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        try:
            job = json.loads(body or b"{}")
        except ValueError:
            return google_error(400, "Invalid JSON payload received")
        if not isinstance(job, dict) or not job.get("pipelineSpec"):
            return google_error(400, "PipelineJob.pipeline_spec is required")
        if job_id and not _NEW_JOB_ID.fullmatch(job_id):
            return google_error(400, f"Invalid pipeline job id {job_id!r}")
        number = parent.split("/")[1]
        account = job.get("serviceAccount") or f"{number}-compute@developer.gserviceaccount.com"
        if self.act_as is not None and account not in self.act_as:
            return google_error(
                403,
                f"Permission 'iam.serviceAccounts.actAs' denied on service account {account} (or it may not exist).",
            )
        name = f"{parent}/pipelineJobs/{job_id or f'job-{len(self.created) + 1}'}"
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        with self._lock:
            if name in self.jobs:
                return google_error(409, f"PipelineJob {name} already exists")
            created = {
                **job,
                "name": name,
                "state": "PIPELINE_STATE_PENDING",
                "createTime": now,
                "updateTime": now,
            }
            self.jobs[name] = created
            self.created.append(created)
        return 200, {}, created

    def _number_name(self, match: re.Match[str]) -> str:
        """The resource (or parent) name of a path match, with the project as its number."""
        return f"projects/{self.project_numbers.get(match[2], match[2])}/{match[3]}"

    def _list(self, match: re.Match[str], query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        request = ListRequest(
            parent=match[1],
            filter=query.get("filter", [""])[0],
            page_size=int(query.get("pageSize", ["0"])[0] or 0),
            page_token=query.get("pageToken", [""])[0],
            order_by=query.get("orderBy", [""])[0],
            read_mask=query.get("readMask", [""])[0],
        )
        with self._lock:
            self.list_requests.append(request)
        try:
            matches = compile_filter(request.filter, JOB_FILTER_FIELDS)
            mask = parse_mask(request.read_mask, JOB_FIELDS) if request.read_mask else None
            jobs = [
                job
                for name, job in sorted(self.jobs.items())
                if name.startswith(self._number_name(match) + "/pipelineJobs/") and matches(job)
            ]
            if request.order_by:
                jobs = sort_resources(jobs, request.order_by, JOB_ORDER_FIELDS, "")
        except QueryError as exc:
            return google_error(400, f"invalid argument: {exc}")
        start = int(request.page_token or 0)
        size = request.page_size or 20
        window = jobs[start : start + size]
        if mask is None:
            page = [{k: v for k, v in job.items() if k != "jobDetail"} for job in window]
        else:
            page = [apply_mask(job, mask) for job in window]
        answer: dict[str, Any] = {"pipelineJobs": page}
        if start + size < len(jobs):
            answer["nextPageToken"] = str(start + size)
        return 200, {}, answer

    def _list_schedules(
        self, match: re.Match[str], query: dict[str, list[str]]
    ) -> tuple[int, dict[str, str], Any]:
        size_text = query.get("pageSize", ["0"])[0] or "0"
        request = ScheduleListRequest(
            parent=match[1],
            filter=query.get("filter", [""])[0],
            page_size=int(size_text) if size_text.lstrip("-").isdigit() else -1,
            page_token=query.get("pageToken", [""])[0],
            order_by=query.get("orderBy", [""])[0],
        )
        with self._lock:
            self.schedule_list_requests.append(request)
        if request.page_size < 0:
            return google_error(400, f"Invalid value at 'page_size' ({size_text!r})")
        if request.page_token and not request.page_token.isdigit():
            return google_error(400, "Invalid page token")
        prefix = self._number_name(match) + "/schedules/"
        try:
            matches = compile_filter(request.filter, SCHEDULE_FILTER_FIELDS)
            found = [
                item for name, item in self.schedules.items() if name.startswith(prefix) and matches(item)
            ]
            found = sort_resources(found, request.order_by, SCHEDULE_ORDER_FIELDS, "create_time desc")
        except QueryError as exc:
            return google_error(400, f"invalid argument: {exc}")
        start = int(request.page_token or 0)
        size = request.page_size or SCHEDULE_PAGE_SIZE
        answer: dict[str, Any] = {}
        if found[start : start + size]:
            answer["schedules"] = found[start : start + size]
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return 200, {}, answer
