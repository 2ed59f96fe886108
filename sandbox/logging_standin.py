"""A local stand-in for the Cloud Logging REST API: ``POST /v2/entries:list``.

It serves LogEntry JSON as the real API does (``entries`` newest or oldest first,
``nextPageToken`` paging, ``pageSize`` default 50 and at most 1000) for the filters the
notifier writes: comparisons joined by ``AND`` on ``resource.type``, ``resource.labels.*``,
``logName``, ``severity`` and ``timestamp``. A filter it does not understand is answered
400, as the real API answers a malformed one, so a test cannot pass by accident.

Every request is recorded (filter, paging, when it started and ended) so tests can assert
what was asked and that reads overlapped; ``fail_next``/``fail_all`` and ``delay_seconds``
script 403s, 500s and stalls. ``google.cloud.logging_v2.Client`` is pointed at it over
HTTP with ``client_options={"api_endpoint": standin.url}``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sandbox.http_standin import StandinServer, google_error

SEVERITIES = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}
_COMPARISON = re.compile(r'^\s*([A-Za-z_][\w.]*)\s*(>=|<=|!=|=|>|<)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))\s*$')
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class FilterError(ValueError):
    """A filter this stand-in (and so probably the notifier) got wrong."""


@dataclass
class ListRequest:
    """One ``entries:list`` call as the stand-in saw it."""

    filter: str
    order_by: str
    page_size: int
    page_token: str
    resource_names: list[str]
    started: float
    finished: float = 0.0


def parse_time(text: str) -> datetime:
    """RFC 3339 with up to nanoseconds (Python keeps microseconds)."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        raise FilterError(f"not an RFC 3339 timestamp: {text!r}")
    fraction = (match[2] or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(f"{match[1]}.{fraction}{zone}").astimezone(timezone.utc)


def _field(entry: dict[str, Any], path: str) -> Any:
    value: Any = entry
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if actual is None:
        return op == "!="
    return {
        "=": actual == expected,
        "!=": actual != expected,
        ">=": actual >= expected,
        "<=": actual <= expected,
        ">": actual > expected,
        "<": actual < expected,
    }[op]


def compile_filter(text: str) -> list[tuple[str, str, str]]:
    """``[(field, op, value)]`` for a conjunction of comparisons; FilterError otherwise."""
    terms = []
    for part in re.split(r"\s+AND\s+|\n", text.strip()):
        if not part.strip():
            continue
        match = _COMPARISON.match(part)
        if not match:
            raise FilterError(f"unsupported filter term: {part!r}")
        field_name, op, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        if field_name == "severity" and value.upper() not in SEVERITIES:
            raise FilterError(f"unknown severity {value!r}")
        if field_name == "timestamp":
            parse_time(value)
        terms.append((field_name, op, value))
    return terms


def matches(entry: dict[str, Any], terms: list[tuple[str, str, str]]) -> bool:
    """Whether ``entry`` satisfies every term (string comparisons, as the real API's are)."""
    for field_name, op, value in terms:
        if field_name == "severity":
            actual: Any = SEVERITIES.get(str(entry.get("severity", "DEFAULT")).upper(), 0)
            expected: Any = SEVERITIES[value.upper()]
        elif field_name == "timestamp":
            actual, expected = parse_time(entry["timestamp"]), parse_time(value)
        else:
            actual, expected = _field(entry, field_name), value
        if not _compare(actual, op, expected):
            return False
    return True


class LoggingStandin(StandinServer):
    """Serves the entries it was given; records every request."""

    name = "logging-standin"

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[dict[str, Any]] = []
        self.requests: list[ListRequest] = []
        self.fail_all: int | None = None
        self.delay_seconds = 0.0
        # Project number -> id: resource names may use either (Vertex names jobs by number).
        self.project_ids: dict[str, str] = {}
        self._fail_next: list[int] = []
        self._lock = threading.Lock()

    def add_entries(self, entries: list[dict[str, Any]]) -> None:
        """Add LogEntry JSON objects (as ``entries:list`` returns them)."""
        with self._lock:
            self.entries.extend(entries)

    def load(self, path: Path) -> None:
        """Add the entries of a saved ``entries:list`` response (``{"entries": [...]}``)."""
        self.add_entries(json.loads(path.read_text())["entries"])

    def fail_next(self, *codes: int) -> None:
        """Answer the next requests with these HTTP error codes, in order."""
        with self._lock:
            self._fail_next.extend(codes)

    def reset(self) -> None:
        """Forget entries, requests and scripted failures."""
        with self._lock:
            self.entries.clear()
            self.requests.clear()
            self._fail_next.clear()
            self.fail_all = None
            self.delay_seconds = 0.0

    def filters(self) -> list[str]:
        """The filter of every request so far."""
        with self._lock:
            return [request.filter for request in self.requests]

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Answer ``POST /v2/entries:list``."""
        if method != "POST" or path.split("?")[0] != "/v2/entries:list":
            return google_error(404, f"no route for {method} {path}")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return google_error(400, "request body is not JSON")
        record = ListRequest(
            filter=str(request.get("filter", "")),
            order_by=str(request.get("orderBy", "")),
            page_size=int(request.get("pageSize") or DEFAULT_PAGE_SIZE),
            page_token=str(request.get("pageToken", "")),
            resource_names=list(request.get("resourceNames") or []),
            started=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)
            code = self._fail_next.pop(0) if self._fail_next else self.fail_all
            delay = self.delay_seconds
        try:
            if delay:
                time.sleep(delay)
            if code:
                return google_error(code, f"stand-in answering {code} as asked")
            return self._page(record)
        finally:
            record.finished = time.monotonic()

    def _page(self, record: ListRequest) -> tuple[int, dict[str, str], Any]:
        if not record.resource_names:
            return google_error(400, "resourceNames is required")
        if not 0 < record.page_size <= MAX_PAGE_SIZE:
            return google_error(400, f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
        if record.order_by not in {"", "timestamp asc", "timestamp desc"}:
            return google_error(400, f"unsupported orderBy {record.order_by!r}")
        try:
            terms = compile_filter(record.filter)
            with self._lock:
                found = [entry for entry in self.entries if matches(entry, terms)]
        except FilterError as exc:
            return google_error(400, str(exc))
        projects = {
            self.project_ids.get(name.removeprefix("projects/"), name.removeprefix("projects/"))
            for name in record.resource_names
            if name.startswith("projects/")
        }
        found = [
            e for e in found if e.get("logName", "").split("/logs/")[0].removeprefix("projects/") in projects
        ]
        found.sort(key=lambda e: parse_time(e["timestamp"]), reverse=record.order_by == "timestamp desc")
        offset = int(base64.urlsafe_b64decode(record.page_token).decode()) if record.page_token else 0
        page = found[offset : offset + record.page_size]
        answer: dict[str, Any] = {"entries": page} if page else {}
        if offset + record.page_size < len(found):
            answer["nextPageToken"] = base64.urlsafe_b64encode(
                str(offset + record.page_size).encode()
            ).decode()
        return 200, {}, answer


def ml_job_entries(
    project: str,
    job_id: str,
    lines: list[tuple[str, str]],
    *,
    start: datetime,
    step_ms: int = 7,
    worker: str = "workerpool0-0",
) -> list[dict[str, Any]]:
    """LogEntry JSON for a CustomJob replica's output: one entry per ``(severity, line)``.

    The shape Vertex AI writes: resource ``ml_job`` labelled with the job id, log
    ``projects/P/logs/workerpool0-0``, the line in ``jsonPayload.message``.
    """
    entries = []
    for number, (severity, line) in enumerate(lines):
        moment = start.timestamp() + number * step_ms / 1000
        stamp = datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        entries.append(
            {
                "insertId": f"{int(moment * 1000):x}{number:05d}",
                "jsonPayload": {
                    "message": line,
                    "attrs": {"tag": worker},
                    "levelname": "ERROR" if severity == "ERROR" else "INFO",
                },
                "resource": {
                    "type": "ml_job",
                    "labels": {"job_id": job_id, "project_id": project, "task_name": worker},
                },
                "timestamp": stamp,
                "severity": severity,
                "labels": {"ml.googleapis.com/job_id/log_area": "user"},
                "logName": f"projects/{project}/logs/{worker}",
                "receiveTimestamp": stamp,
            }
        )
    return entries
