"""Memory of one instance at full concurrency, against the memory Terraform gives it.

The function runs as deployed (``sandbox.topology``). ``concurrency`` statuses, each to
its own channel (so none waits for a pacing slot), are pushed at once while the Slack
stand-in holds every request: all of them are inside the instance together, each with its
Vertex AI job parsed and its Block Kit message rendered. The process group's PSS (what
the container is charged for, shared pages split between master and worker) is sampled
until every request has reached Slack, then Slack answers and they finish.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import GroupMemorySampler, job_id, job_json, status_bytes
from sandbox import topology
from sandbox.procs import wait_until
from sandbox.slack_standin import SlackStandin
from sandbox.stack import LocalStack, push_body


def at_full_concurrency(workdir: Path, env: dict[str, str], hold_seconds: float = 2.0) -> dict[str, Any]:
    """Peak PSS while ``concurrency`` requests are in the instance at once.

    ``env`` adds function settings (the Firestore emulator's, as de-duplication is on by default).
    """
    deployed = topology.load()
    n = deployed.concurrency
    slack = SlackStandin()
    stack = LocalStack.start(workdir, slack=slack, env={"LOG_FORMAT": "json", **env})
    try:
        jobs = [job_id("mem", i) for i in range(n)]
        for i, job in enumerate(jobs):
            stack.vertex.add_job(job_json(job, f"C0MEM{i:04d}"))
        # One request first: the lazy Vertex client import is part of any busy instance.
        stack.vertex.add_job(job_json(job_id("memwarm", 0), "C0MEMWARM"))
        stack.function.push(push_body(status_bytes(job_id("memwarm", 0)), {"slack_channel_id": "C0MEMWARM"}))
        idle = GroupMemorySampler(stack.function.process.pid).start()
        wait_until(lambda: idle.samples >= 3, timeout=10, message="idle memory samples")
        idle_figures = idle.stop()
        slack.stall()
        sampler = GroupMemorySampler(stack.function.process.pid).start()
        with ThreadPoolExecutor(n) as pool:
            bodies = [
                push_body(status_bytes(job), {"slack_channel_id": f"C0MEM{i:04d}"}, message_id=f"mem-{i}")
                for i, job in enumerate(jobs)
            ]
            futures = [pool.submit(stack.function.push, body, timeout=90) for body in bodies]
            try:
                wait_until(
                    lambda: slack.stalled >= n,
                    timeout=60,
                    message=lambda: f"{n} requests at Slack at once (saw {slack.stalled})",
                )
                # Keep them all in flight a little longer, sampled every 50 ms.
                target = sampler.samples + int(hold_seconds / sampler.interval)
                wait_until(lambda: sampler.samples >= target, timeout=hold_seconds * 10, interval=0.05)
                in_flight = slack.stalled
            finally:
                slack.unstall()
                statuses = [f.result() for f in futures]
        figures = sampler.stop()
    finally:
        stack.stop()
    peak = figures["peak_group_pss_mb"]
    configured = deployed.memory_bytes / 1024**2
    return {
        "concurrency": n,
        "requests_in_flight": in_flight,
        "answered_200": statuses.count(200),
        "configured_memory": deployed.memory,
        "configured_mb": round(configured, 1),
        "idle_pss_mb": idle_figures["peak_group_pss_mb"],
        "peak_pss_mb": peak,
        "fraction_of_configured": peak / configured,
        "memory": figures,
    }
