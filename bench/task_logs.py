"""What reading the failed tasks' logs adds to a failure message, and what a success pays.

``latency``: two functions side by side, the same FAILED statuses pushed to each in turn,
one reading task logs from the Cloud Logging stand-in and one with ``READ_TASK_LOGS=false``.
Per message, the time from the function's Vertex AI GET to its Slack post (both stand-ins
record arrival on this process's monotonic clock) isolates the function's own work from
push jitter; the difference between the two functions is the log read's cost. Variants:
one failed task; three read in parallel (of five); three with 100 ms added to every
Cloud Logging request, as a real API answers, to show the reads overlap.

``imports``: fresh processes handling one status each, with plain-text logs as locally;
whether handling it imported the Cloud Logging client, and what that cost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import DATA, JOB_ID_RE, RESOURCE_PREFIX, ids_in, job_id, summary
from sandbox.function_server import FUNCTION_DIR, scrubbed_environ
from sandbox.logging_standin import LoggingStandin
from sandbox.slack_standin import SlackStandin
from sandbox.stack import LocalStack, push_body, standin_env
from sandbox.vertex_standin import VertexStandin, run_like

PROJECT_IDS = {"271009669852": "acme-ml-prod"}
VARIANTS = {
    # name: (case whose job and logs are the template, extra latency per logging request)
    "one_task": ("failed-traceback", 0.0),
    "three_tasks": ("failed-many-tasks", 0.0),
    "three_tasks_100ms_api": ("failed-many-tasks", 0.1),
}


def _template(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads((DATA / f"{case}.status.json").read_text()), json.loads(
        (DATA / f"{case}.job.json").read_text()
    )


def _status(case: str, job: str) -> bytes:
    status, _ = _template(case)
    return json.dumps(
        dict(status, pipelineJobResourceName=RESOURCE_PREFIX + job, pipelineTaskName=job)
    ).encode()


def _job(case: str, job: str, channel: str) -> dict[str, Any]:
    _, template = _template(case)
    return run_like(template, RESOURCE_PREFIX + job, channel=channel)


class Arrivals:
    """When each benchmark job id reached a stand-in (first time only)."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, text: str) -> None:
        """Note the arrival of every job id in ``text``."""
        now = time.monotonic()
        with self._lock:
            for found in JOB_ID_RE.findall(text):
                self.first.setdefault(found, now)


def _start(workdir: Path, posts: Arrivals, env: dict[str, str]) -> tuple[LocalStack, Arrivals]:
    slack = SlackStandin(on_message=lambda posted: posts.record(json.dumps(posted.body)))
    stack = LocalStack.start(
        workdir,
        slack=slack,
        jobs_dir=None,
        logs=sorted(DATA.glob("*.logs.json")),
        project_ids=PROJECT_IDS,
        env={"LOG_FORMAT": "json", **env},
    )
    gets = Arrivals()
    original = stack.vertex.handle

    def timed(method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        gets.record(path)
        return original(method, path, headers, body)

    stack.vertex.handle = timed  # type: ignore[method-assign]
    return stack, gets


def _one(stack: LocalStack, gets: Arrivals, posts: Arrivals, case: str, job: str, channel: str) -> float:
    stack.vertex.add_job(_job(case, job, channel))
    code = stack.function.push(push_body(_status(case, job), {"slack_channel_id": channel}, message_id=job))
    if code != 200 or job not in posts.first:
        raise RuntimeError(
            f"{job}: HTTP {code}, posted: {job in posts.first}\n{stack.function.log_text()[-2000:]}"
        )
    return posts.first[job] - gets.first[job]


def latency(workdir: Path, messages: int, warmup: int = 3) -> dict[str, Any]:
    """Vertex GET → Slack post per failed message, with and without log reads, interleaved."""
    results: dict[str, Any] = {"messages": messages}
    posts = Arrivals()
    with_logs, gets_on = _start(workdir / "with-logs", posts, {})
    try:
        without, gets_off = _start(workdir / "without-logs", posts, {"READ_TASK_LOGS": "false"})
        try:
            counter = 0
            for variant, (case, api_latency) in VARIANTS.items():
                with_logs.logging.delay_seconds = api_latency
                on: list[float] = []
                off: list[float] = []
                requests: list[int] = []
                for n in range(warmup + messages):
                    counter += 1
                    job_on, job_off = job_id("logson", counter), job_id("logsoff", counter)
                    before = len(with_logs.logging.requests)
                    # Alternate which goes first, so neither side always follows the other.
                    order = (
                        [(True, job_on), (False, job_off)] if n % 2 else [(False, job_off), (True, job_on)]
                    )
                    for reads, job in order:
                        stack, gets = (with_logs, gets_on) if reads else (without, gets_off)
                        seconds = _one(stack, gets, posts, case, job, f"C0TL{counter:06d}")
                        if n >= warmup:
                            (on if reads else off).append(seconds)
                    if n >= warmup:
                        requests.append(len(with_logs.logging.requests) - before)
                with_s, without_s = summary(on), summary(off)
                results[variant] = {
                    "template": case,
                    "api_latency_s": api_latency,
                    "with_logs_s": with_s,
                    "without_logs_s": without_s,
                    "extra_p50_s": with_s["p50"] - without_s["p50"],
                    "extra_p95_s": with_s["p95"] - without_s["p95"],
                    "logging_requests_per_message": summary([float(r) for r in requests]),
                }
            if without.logging.requests:
                raise RuntimeError("READ_TASK_LOGS=false still read logs")
        finally:
            without.stop()
    finally:
        with_logs.stop()
    return results


# --- the cold path: is the Cloud Logging client imported, and when? --------------------

IMPORTS_CODE = """
import json, sys, time
t0 = time.perf_counter()
import main
t1 = time.perf_counter()
from cloudevents.http import CloudEvent
attributes = {
    "type": "google.cloud.pubsub.topic.v1.messagePublished",
    "source": "//pubsub.googleapis.com/projects/local-project/topics/status",
    "id": "imports",
}
before = {m for m in sys.modules if m.startswith("google.cloud.logging")}
main.notify(CloudEvent(attributes, json.loads(sys.argv[1])))
t2 = time.perf_counter()
after = {m for m in sys.modules if m.startswith("google.cloud.logging")}
print(json.dumps({
    "import_main_s": t1 - t0,
    "handle_s": t2 - t1,
    "logging_modules_at_start": len(before),
    "logging_modules_imported_by_handling": len(after - before),
    "logging_client_loaded": "google.cloud.logging_v2.client" in sys.modules,
}))
"""


def imports(runs: int = 1) -> dict[str, Any]:
    """Fresh processes (text logs, as locally) handling one SUCCEEDED or one FAILED status."""
    results: dict[str, Any] = {}
    slack = SlackStandin().start()
    try:
        with VertexStandin() as vertex, LoggingStandin() as logging_api:
            logging_api.project_ids.update(PROJECT_IDS)
            logging_api.load(DATA / "failed-traceback.logs.json")
            base = scrubbed_environ()
            env = {
                **base,
                **standin_env(slack, vertex),
                "LOGGING_API_ENDPOINT": logging_api.url,
                "LOG_FORMAT": "text",
            }
            for outcome, case in (("succeeded", "succeeded"), ("failed", "failed-traceback")):
                figures = []
                for n in range(runs + 1):  # the first run writes the bytecode caches; not measured
                    job = job_id("imp" + outcome[:4], n)
                    vertex.add_job(_job(case, job, ""))
                    body = push_body(_status(case, job))
                    done = subprocess.run(
                        [sys.executable, "-c", IMPORTS_CODE, json.dumps(body)],
                        env=env, cwd=FUNCTION_DIR, capture_output=True, text=True, timeout=180, check=False,
                    )  # fmt: skip
                    if done.returncode != 0:
                        raise RuntimeError(f"{outcome} run exited {done.returncode}:\n{done.stderr[-2000:]}")
                    if not any(job in ids_in(p.body) for p in slack.messages()):
                        raise RuntimeError(f"the {outcome} run posted nothing")
                    if n:
                        figures.append(json.loads(done.stdout.strip().splitlines()[-1]))
                results[outcome] = {
                    "handle_s": summary([f["handle_s"] for f in figures]),
                    "logging_modules_imported_by_handling": max(
                        f["logging_modules_imported_by_handling"] for f in figures
                    ),
                    "logging_client_loaded": any(f["logging_client_loaded"] for f in figures),
                }
            if results["succeeded"]["logging_client_loaded"]:
                raise RuntimeError("a success message loaded the Cloud Logging client")
            if not logging_api.requests:
                raise RuntimeError("the failure never read its task's log")
    finally:
        slack.stop()
    results["runs"] = runs
    results["log_format"] = "text"
    return results
