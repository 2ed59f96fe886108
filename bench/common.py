"""Shared pieces of the benchmarks: statuses that name themselves, statistics, process memory."""

from __future__ import annotations

import base64
import json
import re
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sandbox.http_standin import StandinServer
from sandbox.procs import group_pids
from sandbox.vertex_standin import run_like

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
TEMPLATE_STATUS = json.loads((DATA / "failed-with-tasks.status.json").read_text())
TEMPLATE_JOB = json.loads((DATA / "failed-with-tasks.job.json").read_text())
RESOURCE_PREFIX = "projects/271009669852/locations/us-central1/pipelineJobs/"

# Job ids look like ``bench-burst-000042``; the rendered Slack text names the id, so each
# post can be traced back to exactly one published status.
JOB_ID_RE = re.compile(r"bench-[a-z]+-\d{6}")


def job_id(kind: str, n: int) -> str:
    """A unique job id for message ``n`` of benchmark ``kind``."""
    return f"bench-{kind}-{n:06d}"


def status_bytes(job: str) -> bytes:
    """A FAILED final status for ``job`` (the richest message: enrichment and failed tasks)."""
    status = dict(TEMPLATE_STATUS, pipelineJobResourceName=RESOURCE_PREFIX + job, pipelineTaskName=job)
    return json.dumps(status).encode()


def job_json(job: str, channel: str = "") -> dict[str, Any]:
    """The PipelineJob the Vertex stand-in serves for ``job``, whose exit handler posts to ``channel``.

    Each job is a pipeline of its own, as in a burst of many pipelines' failures: one
    pipeline's runs would be one failing streak, one thread. The channel is in the
    pipeline's compiled spec, where the function reads it (never from the message).
    """
    return run_like(TEMPLATE_JOB, RESOURCE_PREFIX + job, channel=channel, pipeline=job)


def ids_in(payload: Any) -> set[str]:
    """Benchmark job ids named anywhere in a Slack payload."""
    return set(JOB_ID_RE.findall(json.dumps(payload)))


def percentile(values: Iterable[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is one that was measured)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    """Count, median, p95, min and max of ``values`` (seconds)."""
    return {
        "n": len(values),
        "p50": statistics.median(values) if values else float("nan"),
        "p95": percentile(values, 95),
        "min": min(values, default=float("nan")),
        "max": max(values, default=float("nan")),
    }


def publish_batch(emulator_host: str, topic: str, messages: list[tuple[bytes, dict[str, str]]]) -> list[str]:
    """Publish many messages in one REST request, so a burst really arrives at once."""
    body = {
        "messages": [
            {"data": base64.b64encode(data).decode(), "attributes": attrs} for data, attrs in messages
        ]
    }
    request = urllib.request.Request(
        f"http://{emulator_host}/v1/{topic}:publish",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["messageIds"]


class RecordingEndpoint(StandinServer):
    """A push endpoint that only records when each message arrived and answers 204.

    It is the floor for end-to-end latency: whatever the emulator itself takes to push.
    """

    name = "push-recorder"

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        """Record the arrival time of every job id in the pushed message."""
        now = time.monotonic()
        try:
            data = base64.b64decode(json.loads(body)["message"]["data"])
        except (ValueError, KeyError, TypeError):
            return 400, {}, {"error": "not a push body"}
        with self._lock:
            for found in JOB_ID_RE.findall(data.decode(errors="replace")):
                self.arrivals.setdefault(found, []).append(now)
        return 204, {}, b""


def _kb(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass  # the process exited between listing and reading
    return 0


class GroupMemorySampler:
    """Samples the memory of a process group in a background thread until stopped.

    functions-framework runs a gunicorn master that imports the function and forks one
    worker, so most pages are shared copy-on-write: summed RSS counts them twice. Summed
    PSS (each shared page split between its users) is what the group really holds, the
    analogue of the container's memory accounting; both are reported, with each process's
    VmHWM (the kernel's own RSS peak, which sampling cannot miss).
    """

    def __init__(self, pgid: int, interval: float = 0.05) -> None:
        self.pgid = pgid
        self.interval = interval
        self.peak_pss_kb = 0
        self.peak_rss_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = group_pids(self.pgid)
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_kb(f"/proc/{p}/smaps_rollup", "Pss") for p in pids))
            self.peak_rss_kb = max(self.peak_rss_kb, sum(_kb(f"/proc/{p}/status", "VmRSS") for p in pids))
            self.samples += 1
            self._stop.wait(self.interval)

    def start(self) -> GroupMemorySampler:
        """Start sampling."""
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop sampling; return the peaks in MB, for the group and per process."""
        self._stop.set()
        self._thread.join(timeout=5)
        hwm = {pid: _kb(f"/proc/{pid}/status", "VmHWM") for pid in group_pids(self.pgid)}
        return {
            "peak_group_pss_mb": round(self.peak_pss_kb / 1024, 1),
            "peak_group_rss_sum_mb": round(self.peak_rss_kb / 1024, 1),
            "vmhwm_mb_by_pid": {str(pid): round(kb / 1024, 1) for pid, kb in hwm.items()},
            "vmhwm_max_process_mb": round(max(hwm.values(), default=0) / 1024, 1),
            "samples": self.samples,
        }
