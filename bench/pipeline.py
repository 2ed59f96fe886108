"""Through the Pub/Sub emulator: warm end-to-end latency (and the pieces the bursts share).

It runs the real chain (emulator push → functions-framework → Vertex and Slack stand-ins)
with the function logging JSON as in production. Times are taken in this process: the
publish call's start, and the moment a stand-in received the message, on one monotonic clock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    JOB_ID_RE,
    RecordingEndpoint,
    ids_in,
    job_id,
    job_json,
    status_bytes,
    summary,
)
from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from sandbox.slack_standin import Posted, SlackStandin
from sandbox.stack import LocalStack, delete_resource


class PostLog:
    """When each benchmark job id reached Slack (every arrival, so duplicates show)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __call__(self, posted: Posted) -> None:
        now = time.monotonic()
        with self._lock:
            for found in ids_in(posted.body):
                self.arrivals.setdefault(found, []).append(now)

    def first(self, job: str) -> float | None:
        """Arrival of the first post naming ``job``, if any."""
        with self._lock:
            times = self.arrivals.get(job)
            return times[0] if times else None

    def counts(self) -> dict[str, int]:
        """Posts per job id so far."""
        with self._lock:
            return {job: len(times) for job, times in self.arrivals.items()}


def _start_stack(
    workdir: Path, emulator: PubSubEmulator, slack: SlackStandin, env: dict[str, str]
) -> LocalStack:
    return LocalStack.start(workdir, emulator=emulator, slack=slack, env={"LOG_FORMAT": "json", **env})


def warm(stack: LocalStack, route: Any, log: PostLog, count: int, channel: str) -> None:
    # The first message pays the lazy Vertex client import; "warm" figures exclude it.
    for n in range(count):
        job = job_id("warm", n)
        stack.vertex.add_job(job_json(job, channel))
        stack.publish(route, status_bytes(job), {"slack_channel_id": channel})
        wait_until(
            lambda job=job: log.first(job),
            timeout=120,
            message=lambda: f"warm-up post; function log:\n{stack.function.log_text()[-3000:]}",
        )


def _time_vertex_requests(stack: LocalStack) -> dict[str, float]:
    """Record when the Vertex stand-in first saw each job id (wrapping its handler in place)."""
    seen: dict[str, float] = {}
    original = stack.vertex.handle

    def timed(method: str, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], Any]:
        now = time.monotonic()
        for job in JOB_ID_RE.findall(path):
            seen.setdefault(job, now)
        return original(method, path, headers, body)

    stack.vertex.handle = timed  # type: ignore[method-assign]
    return seen


@dataclass
class _Timing:
    """What one message is timed through: the function's route, and the record-only one."""

    stack: LocalStack
    route: Any
    log: PostLog
    emulator: PubSubEmulator
    floor_topic: str
    recorder: RecordingEndpoint
    vertex_seen: dict[str, float]

    def message(self, n: int) -> tuple[float, float, float]:
        """Message ``n`` to the record-only endpoint, then through the function: push alone,
        end to end, and publish → the function's Vertex GET, in seconds."""
        job = job_id("lat", n)
        self.stack.vertex.add_job(job_json(job, f"C0LAT{n:06d}"))
        data = status_bytes(job)

        start = time.monotonic()
        self.emulator.publish(self.floor_topic, data)
        arrived = wait_until(lambda: self.recorder.arrivals.get(job), timeout=30, interval=0.002)
        push_only = arrived[0] - start

        # A channel per message: production pacing (one post a second per channel) stays
        # on, and measures nothing here, since no two messages share a channel.
        start = time.monotonic()
        self.stack.publish(self.route, data, {"slack_channel_id": f"C0LAT{n:06d}"})
        posted = wait_until(
            lambda: self.log.first(job),
            timeout=60,
            interval=0.002,
            message=lambda: f"post of {job}; function log:\n{self.stack.function.log_text()[-3000:]}",
        )
        return push_only, posted - start, self.vertex_seen[job] - start


def latency(
    workdir: Path,
    emulator: PubSubEmulator,
    messages: int,
    warmup: int = 3,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Sequential messages, interleaved with the same message pushed to a record-only endpoint.

    ``env`` adds function settings (the de-duplication run passes the Firestore emulator's).
    """
    log = PostLog()
    stack = _start_stack(workdir, emulator, SlackStandin(on_message=log), env or {})
    recorder = RecordingEndpoint().start()
    vertex_seen = _time_vertex_requests(stack)
    floor_sub = ""
    try:
        route = stack.add_route()
        floor_topic = emulator.create_topic(f"bench-floor-{recorder.port}")
        floor_sub = emulator.create_subscription(
            f"bench-floor-{recorder.port}-push", floor_topic, push_endpoint=recorder.url + "/"
        )
        warm(stack, route, log, warmup, "C0LATWARM")
        timing = _Timing(stack, route, log, emulator, floor_topic, recorder, vertex_seen)
        timed = [timing.message(n) for n in range(messages)]
    finally:
        if floor_sub:
            delete_resource(emulator.url(floor_sub))
        recorder.stop()
        stack.stop()
    push_only, end_to_end, to_vertex = (list(column) for column in zip(*timed, strict=True))
    return _latency_figures(messages, end_to_end, push_only, to_vertex)


def _latency_figures(
    messages: int, end_to_end: list[float], push_only: list[float], to_vertex: list[float]
) -> dict[str, Any]:
    """Percentiles end to end and of the push alone, the overhead between, and where it goes."""
    e2e, floor = summary(end_to_end), summary(push_only)
    paired = sorted(e - f for e, f in zip(end_to_end, push_only, strict=True))
    return {
        "messages": messages,
        "end_to_end_s": e2e,
        "push_only_s": floor,
        "overhead_p50_s": e2e["p50"] - floor["p50"],
        "overhead_p95_s": e2e["p95"] - floor["p95"],
        "overhead_paired_p50_s": summary(paired)["p50"],
        # Where the time goes: publish → the function's Vertex GET (push, framework, parsing,
        # client set-up), then Vertex GET → Slack post (enrichment, rendering, posting).
        "publish_to_vertex_get_s": summary(to_vertex),
        "vertex_get_to_slack_s": summary([e - v for e, v in zip(end_to_end, to_vertex, strict=True)]),
    }
