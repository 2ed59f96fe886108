"""A local stand-in for the Vertex AI REST API: ``GET /v1/{name=projects/*/locations/*/pipelineJobs/*}``.

It serves PipelineJob JSON as the real API does (camelCase, RFC 3339 times) and can answer
403, 404, 500 or stall on demand, so enrichment is tested through the real
``aiplatform_v1`` REST transport.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

from sandbox.http_standin import StandinServer

_JOB_PATH = re.compile(r"^/v1/(projects/[^/]+/locations/[^/]+/pipelineJobs/[^/?]+)")
_STATUS = {
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class VertexStandin(StandinServer):
    """Serves registered jobs; ``fail_next``/``fail_all`` script errors."""

    name = "vertex-standin"

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.fail_all: int | None = None
        self.delay_seconds = 0.0
        self._fail_next: list[int] = []
        self._lock = threading.Lock()

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
        """Answer a GET for a pipeline job."""
        with self._lock:
            self.requests.append(path)
            code = self._fail_next.pop(0) if self._fail_next else self.fail_all
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        match = _JOB_PATH.match(path)
        if method != "GET" or not match:
            return _error(404, f"no route for {method} {path}")
        if code:
            return _error(code, f"stand-in answering {code} as asked")
        job = self.jobs.get(match[1])
        if job is None:
            return _error(404, f"PipelineJob {match[1]} not found")
        return 200, {}, job


def _error(code: int, message: str) -> tuple[int, dict[str, str], Any]:
    return (
        code,
        {},
        {"error": {"code": code, "message": message, "status": _STATUS.get(code, "UNKNOWN")}},
    )
