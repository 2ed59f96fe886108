"""Cold start of the deployed configuration: a fresh instance answering its first event.

A fresh instance is started as Cloud Run starts it (``FunctionServer``: the
functions-framework CLI serving through gunicorn with the topology's WORKERS, THREADS
and timeout, JSON logs, de-duplication on), and the clock runs from spawning it until
its answer to the first push (a FAILED status: Vertex call, Firestore claim and Slack
post included). Beside it, in the same run and interleaved, a fresh process that merely
imports what a straightforward implementation would (``google.cloud.aiplatform``,
``slack_sdk``, ``google.cloud.logging``, ``functions_framework``). Both are timed from
the parent, so interpreter start-up is in both, and both until their work is done: ours
until its answer, the baseline until it has printed that its imports are done (its exit,
which unwinds ~3,000 modules, is not part of a start-up). The CPU seconds each had used
by then are taken too: they vary less than wall time on a shared machine.

The function's source is compiled to bytecode first, as Google's Python buildpack does
when it deploys a function (``python -m compileall``); the libraries were compiled when
they were installed. Without that, a machine with ``PYTHONDONTWRITEBYTECODE`` set would
compile the notifier on every cold start, which no deployed instance does.

``profile_imports`` says where the time goes: ``python -X importtime`` of the function
importing ``main`` and handling the same first event, per top-level module.
"""

from __future__ import annotations

import compileall
import json
import os
import re
import selectors
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ids_in, job_id, job_json, status_bytes, summary
from sandbox import topology
from sandbox.function_server import FUNCTION_DIR, FunctionServer, scrubbed_environ
from sandbox.procs import group_pids
from sandbox.slack_standin import SlackStandin
from sandbox.stack import push_body, standin_env
from sandbox.vertex_standin import VertexStandin

BASELINE_MODULES = "google.cloud.aiplatform, slack_sdk, google.cloud.logging, functions_framework"

BASELINE_CODE = f"""
import json, resource, time
t0 = time.perf_counter()
import {BASELINE_MODULES}
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"import_s": time.perf_counter() - t0, "cpu_s": usage.ru_utime + usage.ru_stime}}))
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
CONFIGURATION = (
    "functions-framework CLI (gunicorn), topology.json's WORKERS/THREADS, JSON logs, de-duplication on"
)
# The profile lists the top-level modules whose import took longer than this.
REPORT_OVER_S = 0.020


def _env(slack: SlackStandin, vertex: VertexStandin) -> dict[str, str]:
    return {
        **scrubbed_environ(),
        **standin_env(slack, vertex),
        # Production logs JSON (K_SERVICE is set there), which loads the Cloud Logging handler.
        "LOG_FORMAT": "json",
    }


def compile_function() -> None:
    """Compile the function's source to bytecode, as the buildpack does at deploy time."""
    if not compileall.compile_dir(FUNCTION_DIR, quiet=1):
        raise RuntimeError(f"compileall failed on {FUNCTION_DIR}")


def _run(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a fresh process to its end: wall seconds, and the JSON figures it printed last."""
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=FUNCTION_DIR, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {done.returncode}:\n{done.stderr[-3000:]}")
    # The JSON log handler writes to stdout too: the figures are the last line.
    return {
        "total_s": wall,
        "figures": json.loads(done.stdout.strip().splitlines()[-1]),
        "stderr": done.stderr,
    }


def _baseline(env: dict[str, str]) -> dict[str, float]:
    """A fresh process importing the baseline's modules: seconds until it has imported them
    (its figures line) and until it has exited, and its CPU seconds at the end of the imports.

    Its exit is not part of its start-up (unwinding ~3,000 modules takes about a second
    here), as ours is timed to its answer, not to its exit.
    """
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", BASELINE_CODE],
        env=env,
        cwd=FUNCTION_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=TIMEOUT):
                raise RuntimeError(f"the baseline printed nothing in {TIMEOUT:.0f} s")
        line = process.stdout.readline()
        imported = time.perf_counter()
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    exited = time.perf_counter()
    if process.returncode != 0 or not line:
        raise RuntimeError(f"the baseline exited {process.returncode}:\n{stderr[-3000:]}")
    return {"total_s": imported - start, "to_exit_s": exited - start, "cpu_s": json.loads(line)["cpu_s"]}


def _group_cpu_s(pgid: int) -> float:
    """CPU seconds used so far by the live processes of group ``pgid`` (and children they reaped)."""
    ticks = 0
    for pid in group_pids(pgid):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # exited while we looked
        # Fields after the command name: utime, stime, cutime and cstime are the 12th to 15th.
        ticks += sum(int(f) for f in stat.rsplit(")", 1)[1].split()[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _deployed(
    n: int, workdir: Path, slack: SlackStandin, vertex: VertexStandin, env: dict[str, str]
) -> dict[str, float]:
    """Spawn a fresh instance and push it one event; seconds to listening and to the answer,
    and the CPU seconds its processes (gunicorn's master and worker) had used by then."""
    job = job_id("cold", n)
    vertex.add_job(job_json(job))
    start = time.perf_counter()
    server = FunctionServer.start(workdir, env, timeout=TIMEOUT, interval=0.005)
    try:
        listening = time.perf_counter()
        status = server.push(push_body(status_bytes(job), message_id=f"cold-{n}"), timeout=TIMEOUT)
        answered = time.perf_counter()
        cpu = _group_cpu_s(server.process.pid)
    finally:
        server.stop()
    if status != 200 or not any(job in ids_in(p.body) for p in slack.messages()):
        raise RuntimeError(f"cold-start run {n} answered {status} and did not post {job}")
    return {
        "total_s": answered - start,
        "listening_s": listening - start,
        "first_event_s": answered - listening,
        "cpu_s": cpu,
    }


def _interleaved(
    runs: int, ours: Callable[[int], dict[str, float]], base: Callable[[], dict[str, float]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """``runs`` of each side, alternating which goes first so a noisy neighbour favours neither."""
    figures: dict[str, dict[str, list[float]]] = {"ours": defaultdict(list), "base": defaultdict(list)}
    for i in range(1, runs + 1):
        for side in ("ours", "base") if i % 2 else ("base", "ours"):
            for key, value in (ours(i) if side == "ours" else base()).items():
                figures[side][key].append(value)
    return figures["ours"], figures["base"]


def measure(runs: int, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Median wall time of ``runs`` fresh instances and baseline processes, interleaved.

    ``env`` adds function settings (the Firestore emulator's, for de-duplication).
    """
    compile_function()
    slack = SlackStandin().start()
    vertex = VertexStandin().start()
    try:
        function_env = {**_env(slack, vertex), **env}

        def ours(i: int) -> dict[str, float]:
            return _deployed(i, workdir, slack, vertex, function_env)

        def base() -> dict[str, float]:
            return _baseline(_env(slack, vertex))

        if runs > 1:
            # One unmeasured run of each writes the bytecode caches both sides then reuse
            # (a single quick run only checks that it works).
            ours(0)
            base()
        ours_runs, base_runs = _interleaved(runs, ours, base)
    finally:
        slack.stop()
        vertex.stop()
    return _measured(runs, ours_runs, base_runs)


def _measured(runs: int, ours: dict[str, list[float]], base: dict[str, list[float]]) -> dict[str, Any]:
    ours_s, base_s = summary(ours["total_s"]), summary(base["total_s"])
    ours_cpu, base_cpu = summary(ours["cpu_s"]), summary(base["cpu_s"])
    return {
        "runs": runs,
        "ours_s": ours_s,
        "ours_listening_p50_s": statistics.median(ours["listening_s"]),
        "ours_first_event_p50_s": statistics.median(ours["first_event_s"]),
        "baseline_s": base_s,
        "baseline_modules": BASELINE_MODULES,
        "ratio": ours_s["p50"] / base_s["p50"],
        # Timed to the baseline's exit, as this benchmark did until issue 22: for comparisons.
        "baseline_to_exit_p50_s": statistics.median(base["to_exit_s"]),
        "ratio_to_exit": ours_s["p50"] / statistics.median(base["to_exit_s"]),
        "ours_cpu_s": ours_cpu,
        "baseline_cpu_s": base_cpu,
        "cpu_ratio": ours_cpu["p50"] / base_cpu["p50"],
        "configuration": CONFIGURATION,
    }


# --- where the time goes: python -X importtime -------------------------------------------

_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")


@dataclass
class ImportNode:
    """One line of ``-X importtime``: a module, its own and cumulative seconds, what it imported."""

    name: str
    self_s: float
    cumulative_s: float
    children: list[ImportNode] = field(default_factory=list)


def parse_importtime(stderr: str) -> list[ImportNode]:
    """The import tree, top-level imports in the order they happened.

    ``-X importtime`` prints a module after the modules it imported, each indented one
    level deeper than its importer.
    """
    pending: dict[int, list[ImportNode]] = defaultdict(list)
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        depth = (len(match[3]) - 1) // 2
        node = ImportNode(match[4], int(match[1]) / 1e6, int(match[2]) / 1e6, pending.pop(depth + 1, []))
        pending[depth].append(node)
    return pending[0]


def top_level(module: str) -> str:
    """The package a module is reported under (``google.*`` is a namespace, split one level further)."""
    parts = module.split(".")
    # google.cloud.aiplatform_v1 and google.protobuf are different things.
    if parts[0] == "google" and len(parts) > 2 and parts[1] == "cloud":
        return ".".join(parts[:3])
    if parts[0] == "google" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def _walk(node: ImportNode, parent: str) -> Iterator[tuple[ImportNode, str]]:
    """Every node below ``node`` (itself included) with the top-level module of its importer."""
    yield node, parent
    for child in node.children:
        yield from _walk(child, top_level(node.name))


def _phases(roots: list[ImportNode], entry: str) -> dict[str, list[ImportNode]]:
    """The top-level imports before ``entry`` (interpreter start-up), ``entry`` itself, and after it."""
    names = [root.name for root in roots]
    at = names.index(entry) if entry in names else len(roots)
    return {"interpreter": roots[:at], "start": roots[at : at + 1], "first event": roots[at + 1 :]}


def module_costs(roots: list[ImportNode], entry: str = "main") -> dict[str, dict[str, Any]]:
    """Per top-level module: cumulative seconds (each time it was entered from another
    module, with what it imported first), its own modules' seconds, and when it was first
    imported (at ``start``, by the ``first event``, or by the ``interpreter``)."""
    costs: dict[str, dict[str, Any]] = {}
    for phase, nodes in _phases(roots, entry).items():
        for root in nodes:
            for node, importer in _walk(root, ""):
                name = top_level(node.name)
                cost = costs.setdefault(name, {"cumulative_s": 0.0, "own_s": 0.0, "phase": phase})
                cost["own_s"] += node.self_s
                if name != importer:
                    cost["cumulative_s"] += node.cumulative_s
    costs.pop(entry, None)  # the entry point is the whole start, reported as such
    return costs


def _importtime_run(env: dict[str, str]) -> dict[str, Any]:
    """One ``python -X importtime`` process: import ``main`` and handle a FAILED status as deployed."""
    slack = SlackStandin().start()
    vertex = VertexStandin().start()
    try:
        deployed = topology.load()
        full_env = {**_env(slack, vertex), **deployed.runtime_env(), **deployed.function_env(), **env}
        job = job_id("prof", int(time.time() * 1000) % 1_000_000)
        vertex.add_job(job_json(job))
        body = json.dumps(push_body(status_bytes(job)))
        done = _run([sys.executable, "-X", "importtime", "-c", OURS_CODE, body], full_env)
        if not any(job in ids_in(p.body) for p in slack.messages()):
            raise RuntimeError(f"the profiled run did not post {job}")
    finally:
        slack.stop()
        vertex.stop()
    return done


def profile_imports(env: dict[str, str], runs: int = 1, over_s: float = REPORT_OVER_S) -> dict[str, Any]:
    """``python -X importtime`` of ours (``main`` and its first event, as deployed) ``runs`` times.

    ``env`` adds function settings (the Firestore emulator's: de-duplication on). Each
    module's figures are the lowest of the runs (the rest is the machine's noise); the
    modules whose cumulative import took over ``over_s`` are listed, heaviest first (those of
    the interpreter's own start-up left out).
    """
    compile_function()
    profiles = []
    for _ in range(runs):
        done = _importtime_run(env)
        profiles.append((done["figures"], module_costs(parse_importtime(done["stderr"]))))
    costs = _lowest(p[1] for p in profiles)
    # The interpreter's own start-up (site, encodings) is in the baseline too, and not ours.
    heavy = {
        name: cost
        for name, cost in costs.items()
        if cost["cumulative_s"] > over_s and cost["phase"] != "interpreter"
    }
    return {
        "runs": runs,
        "import_main_s": min(p[0]["import_s"] for p in profiles),
        "first_event_s": min(p[0]["handle_s"] for p in profiles),
        "modules": len(costs),
        "over_s": over_s,
        "heavy_modules": dict(sorted(heavy.items(), key=lambda kv: -kv[1]["cumulative_s"])),
        "note": "python -X importtime (which adds overhead of its own); cumulative: with the modules a"
        " package was the first to import (so nested packages count in both); own: its modules alone",
    }


def _lowest(runs: Iterable[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per module, the lowest cumulative and own seconds across runs."""
    lowest: dict[str, dict[str, Any]] = {}
    for costs in runs:
        for name, cost in costs.items():
            kept = lowest.setdefault(name, dict(cost))
            kept["cumulative_s"] = min(kept["cumulative_s"], cost["cumulative_s"])
            kept["own_s"] = min(kept["own_s"], cost["own_s"])
    return lowest
