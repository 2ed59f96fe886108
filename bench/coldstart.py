"""Cold start of the deployed configuration: a fresh instance answering its first event.

A fresh instance is started as Cloud Run starts it (``FunctionServer``: the
functions-framework CLI serving through gunicorn with the topology's WORKERS, THREADS
and timeout, JSON logs, de-duplication on), and the clock runs from spawning it until
its answer to the first push (a FAILED status: Vertex call, Firestore claim and Slack
post included). Beside it, in the same run and interleaved, a fresh process that merely
imports what a straightforward implementation would (``google.cloud.aiplatform``,
``slack_sdk``, ``google.cloud.logging``, ``functions_framework``). Both are timed from
the parent, so interpreter start-up is in both.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import ids_in, job_id, job_json, status_bytes, summary
from sandbox.function_server import FUNCTION_DIR, FunctionServer, scrubbed_environ
from sandbox.slack_standin import SlackStandin
from sandbox.stack import push_body, standin_env
from sandbox.vertex_standin import VertexStandin

BASELINE_MODULES = "google.cloud.aiplatform, slack_sdk, google.cloud.logging, functions_framework"

BASELINE_CODE = f"""
import json, time
t0 = time.perf_counter()
import {BASELINE_MODULES}
print(json.dumps({{"import_s": time.perf_counter() - t0}}))
"""

# For the import profile: import the function and handle one event in a plain process.
# The event is built after ``import main`` so that its own imports are the function's.
OURS_CODE = """
import json, sys, time
t0 = time.perf_counter()
import main
t1 = time.perf_counter()
from cloudevents.http import CloudEvent
attributes = {
    "type": "google.cloud.pubsub.topic.v1.messagePublished",
    "source": "//pubsub.googleapis.com/projects/local-project/topics/status",
    "id": "cold-start",
}
main.notify(CloudEvent(attributes, json.loads(sys.argv[1])))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "handle_s": t2 - t1}))
"""

TIMEOUT = 180.0


def _env(slack: SlackStandin, vertex: VertexStandin) -> dict[str, str]:
    base = scrubbed_environ()
    return {
        **base,
        **standin_env(slack, vertex),
        # Production logs JSON (K_SERVICE is set there), which loads the Cloud Logging handler.
        "LOG_FORMAT": "json",
    }


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=FUNCTION_DIR, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {done.returncode}:\n{done.stderr[-3000:]}")
    # The JSON log handler writes to stdout too: the figures are the last line.
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def _deployed(
    n: int, workdir: Path, slack: SlackStandin, vertex: VertexStandin, env: dict[str, str]
) -> dict[str, float]:
    """Spawn a fresh instance and push it one event; seconds to listening and to the answer."""
    job = job_id("cold", n)
    vertex.add_job(job_json(job))
    start = time.perf_counter()
    server = FunctionServer.start(workdir, env, timeout=TIMEOUT, interval=0.005)
    try:
        listening = time.perf_counter()
        status = server.push(push_body(status_bytes(job), message_id=f"cold-{n}"), timeout=TIMEOUT)
        answered = time.perf_counter()
    finally:
        server.stop()
    if status != 200 or not any(job in ids_in(p.body) for p in slack.messages()):
        raise RuntimeError(f"cold-start run {n} answered {status} and did not post {job}")
    return {
        "total_s": answered - start,
        "listening_s": listening - start,
        "first_event_s": answered - listening,
    }


def measure(runs: int, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Median wall time of ``runs`` fresh instances and baseline processes, interleaved.

    ``env`` adds function settings (the Firestore emulator's, for de-duplication).
    """
    slack = SlackStandin().start()
    vertex = VertexStandin().start()
    try:
        function_env = {**_env(slack, vertex), **env}
        baseline_argv = [sys.executable, "-c", BASELINE_CODE]
        if runs > 1:
            # One unmeasured run of each writes the bytecode caches both sides then reuse
            # (a single quick run only checks that it works).
            _deployed(0, workdir, slack, vertex, function_env)
            _run(baseline_argv, _env(slack, vertex))
        ours: dict[str, list[float]] = defaultdict(list)
        base: list[float] = []
        for i in range(1, runs + 1):
            # Alternate which goes first, so a noisy neighbour does not favour one side.
            order = ("ours", "base") if i % 2 else ("base", "ours")
            for side in order:
                if side == "ours":
                    for key, value in _deployed(i, workdir, slack, vertex, function_env).items():
                        ours[key].append(value)
                else:
                    wall, _ = _run(baseline_argv, _env(slack, vertex))
                    base.append(wall)
    finally:
        slack.stop()
        vertex.stop()
    ours_s, base_s = summary(ours["total_s"]), summary(base)
    return {
        "runs": runs,
        "ours_s": ours_s,
        "ours_listening_p50_s": statistics.median(ours["listening_s"]),
        "ours_first_event_p50_s": statistics.median(ours["first_event_s"]),
        "baseline_s": base_s,
        "baseline_modules": BASELINE_MODULES,
        "ratio": ours_s["p50"] / base_s["p50"],
        "configuration": "functions-framework CLI (gunicorn), topology.json's WORKERS/THREADS, JSON logs,"
        " de-duplication on",
    }


_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")


def profile_imports(top: int = 12) -> dict[str, Any]:
    """One ``python -X importtime`` run of ours: cumulative time by top-level package."""
    slack = SlackStandin().start()
    vertex = VertexStandin().start()
    try:
        env = _env(slack, vertex)
        job = job_id("prof", 1)
        vertex.add_job(job_json(job))
        argv = [sys.executable, "-X", "importtime", "-c", OURS_CODE, json.dumps(push_body(status_bytes(job)))]
        done = subprocess.run(
            argv, env=env, cwd=FUNCTION_DIR, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    finally:
        slack.stop()
        vertex.stop()
    if done.returncode != 0:
        raise RuntimeError(f"importtime run exited {done.returncode}:\n{done.stderr[-3000:]}")
    by_root: dict[str, float] = defaultdict(float)
    heaviest: list[tuple[float, str]] = []
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        cumulative_s = int(match[2]) / 1e6
        depth = (len(match[3]) - 1) // 2
        name = match[4]
        # Depth 0 entries are what was imported directly (by main, or lazily on first use);
        # their cumulative times add up to the whole import cost without double counting.
        if depth == 0:
            by_root[_group(name)] += cumulative_s
        if depth <= 2:
            heaviest.append((cumulative_s, name))
    heaviest.sort(reverse=True)
    return {
        "by_package_s": dict(sorted(by_root.items(), key=lambda kv: -kv[1])[:top]),
        "heaviest_modules_s": {name: s for s, name in heaviest[:top]},
        "total_import_s": sum(by_root.values()),
        "note": "one run under -X importtime (which itself adds overhead); relative weights matter",
    }


def _group(module: str) -> str:
    parts = module.split(".")
    # google.* is a namespace: google.cloud.aiplatform_v1 and google.protobuf are different things.
    if parts[0] == "google" and len(parts) > 2 and parts[1] == "cloud":
        return ".".join(parts[:3])
    if parts[0] == "google" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]
