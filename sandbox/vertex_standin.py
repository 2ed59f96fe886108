"""A local stand-in for the Vertex AI REST API's PipelineJobs: get and list.

- ``GET /v1/{name=projects/*/locations/*/pipelineJobs/*}`` serves PipelineJob JSON as the
  real API does (camelCase, RFC 3339 times, whatever enum and int64 encoding the file has);
  a project id in the name finds the job registered under its project number, and the
  job's own ``name`` keeps the number, as Vertex answers.
- ``GET /v1/{parent=projects/*/locations/*}/pipelineJobs?filter=&pageSize=&pageToken=``
  pages through the registered jobs of that location, evaluating the subset of the
  documented filter grammar the notifier sends (``state="…"``, ``create_time<"…"``,
  ``AND``, ``OR``, parentheses; anything else is a 400 as from the real API), leaves
  out ``jobDetail`` as the real list view does, and records every request.

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
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.http_standin import StandinServer, google_error

# An optional leading region: the endpoint template http://127.0.0.1:PORT/{region}.
_ENDPOINT_REGION = r"(?:/[a-z][a-z0-9-]{0,62})?"
_JOB_PATH = re.compile(rf"^{_ENDPOINT_REGION}/v1/(projects/([^/]+)/(locations/[^/]+/pipelineJobs/[^/?]+))")
_LIST_PATH = re.compile(rf"^{_ENDPOINT_REGION}/v1/(projects/([^/]+)/(locations/[^/]+))/pipelineJobs$")
# PipelineState numbers, for files that encode the enum as the REST transport asks (ints).
_STATES = {1: "PIPELINE_STATE_QUEUED", 2: "PIPELINE_STATE_PENDING", 3: "PIPELINE_STATE_RUNNING",
           4: "PIPELINE_STATE_SUCCEEDED", 5: "PIPELINE_STATE_FAILED", 6: "PIPELINE_STATE_CANCELLING",
           7: "PIPELINE_STATE_CANCELLED", 8: "PIPELINE_STATE_PAUSED"}  # fmt: skip
_TOKEN = re.compile(r'\s*(\(|\)|AND\b|OR\b|(state|create_time)\s*(=|<|>)\s*"([^"]*)")')


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


class VertexStandin(StandinServer):
    """Serves registered jobs; ``fail_next``/``fail_all`` script errors."""

    name = "vertex-standin"

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.list_requests: list[ListRequest] = []
        # Project id -> number: GETs by id find jobs registered (as Vertex names them) by number.
        self.project_numbers: dict[str, str] = {}
        self.fail_all: int | None = None
        self.delay_seconds = 0.0
        self._fail_next: list[int] = []
        self._lock = threading.Lock()

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

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these HTTP error codes, in order."""
        with self._lock:
            self._fail_next.extend(codes)

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer a GET for a pipeline job, or a list of them."""
        with self._lock:
            self.requests.append(path)
            code = self._fail_next.pop(0) if self._fail_next else self.fail_all
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        url = urlsplit(path)
        if method != "GET":
            return google_error(404, f"no route for {method} {path}")
        if code:
            return google_error(code, f"stand-in answering {code} as asked")
        if match := _LIST_PATH.match(url.path):
            return self._list(match, parse_qs(url.query))
        match = _JOB_PATH.match(url.path)
        if not match:
            return google_error(404, f"no route for {method} {path}")
        name = f"projects/{self.project_numbers.get(match[2], match[2])}/{match[3]}"
        job = self.jobs.get(name)
        if job is None:
            return google_error(404, f"PipelineJob {match[1]} not found")
        return 200, {}, job

    def _list(self, match: re.Match[str], query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        request = ListRequest(
            parent=match[1],
            filter=query.get("filter", [""])[0],
            page_size=int(query.get("pageSize", ["0"])[0] or 0),
            page_token=query.get("pageToken", [""])[0],
        )
        with self._lock:
            self.list_requests.append(request)
        prefix = f"projects/{self.project_numbers.get(match[2], match[2])}/{match[3]}/pipelineJobs/"
        try:
            matches = _compile_filter(request.filter)
        except ValueError as exc:
            return google_error(400, f"invalid filter: {exc}")
        jobs = [job for name, job in sorted(self.jobs.items()) if name.startswith(prefix) and matches(job)]
        start = int(request.page_token or 0)
        size = request.page_size or 20
        page = [{k: v for k, v in job.items() if k != "jobDetail"} for job in jobs[start : start + size]]
        answer: dict[str, Any] = {"pipelineJobs": page}
        if start + size < len(jobs):
            answer["nextPageToken"] = str(start + size)
        return 200, {}, answer


def _state_name(job: dict[str, Any]) -> str:
    state = job.get("state", 0)
    return _STATES.get(state, str(state)) if isinstance(state, int) else str(state)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _compile_filter(text: str) -> Any:
    """A predicate for the filter subset described in the module doc; ValueError otherwise."""
    tokens: list[Any] = []
    position = 0
    while position < len(text.rstrip()):
        token = _TOKEN.match(text, position)
        if not token:
            raise ValueError(f"unsupported syntax at {text[position : position + 30]!r}")
        tokens.append(token.group(1) if token.group(2) is None else (token[2], token[3], token[4]))
        position = token.end()

    def chain(operator: str, operand: Any, combine: Any) -> Any:
        # operand (operator operand)*, folded left with combine.
        def parse(i: int) -> tuple[Any, int]:
            left, i = operand(i)
            while i < len(tokens) and tokens[i] == operator:
                right, i = operand(i + 1)
                left = combine(left, right)
            return left, i

        return parse

    def factor(i: int) -> tuple[Any, int]:
        if i >= len(tokens):
            raise ValueError("unexpected end of filter")
        token = tokens[i]
        if token == "(":
            inner, i = expression(i + 1)
            if i >= len(tokens) or tokens[i] != ")":
                raise ValueError("unbalanced parentheses")
            return inner, i + 1
        if not isinstance(token, tuple):
            raise ValueError(f"unexpected {token!r}")
        field, op, value = token
        if field == "state":
            if op != "=":
                raise ValueError("state supports = only")
            return (lambda job: _state_name(job) == value), i + 1
        moment = _time(value)
        if op == "<":
            return (lambda job: _time(job["createTime"]) < moment), i + 1
        return (lambda job: _time(job["createTime"]) > moment), i + 1

    term = chain("AND", factor, lambda a, b: lambda job: a(job) and b(job))
    expression = chain("OR", term, lambda a, b: lambda job: a(job) or b(job))
    if not tokens:
        return lambda job: True
    predicate, end = expression(0)
    if end != len(tokens):
        raise ValueError(f"unexpected {tokens[end]!r}")
    return predicate
