"""Rendering on hostile text: a 512 KB adversarial error and log excerpt, for Slack, Google Chat and SMS.

Pure CPU in this process (the renderers are pure): each figure is the median of ``runs``
renders, beside a baseline taken in the same run, the ordinary ``failed-traceback``
message (its status, its job through ``job_details`` and its log through
``excerpt_from_lines``, as the golden tests build it, without the HTTP stand-in).

The hostile message puts the same 512 KB text (the largest Pub/Sub message the function
accepts) everywhere a publisher or a pipeline can: the status's error, three failed
tasks' errors, their log excerpts (512 KB of lines each, as a bug in the reader could
hand over), the job's error, a parameter and a label. Each kind of text is built to make
a careless pattern rescan or backtrack (many starts of a token that never completes,
secret-looking assignments, private-key headers without an end, runs of backticks,
escapes that grow, astral characters); the figure is the worst kind. Also timed: making
an excerpt from 512 KB of such log lines (``enrich.task_logs``), and ``scrub`` over the
whole 512 KB (what content avoids by scrubbing only what it keeps, plus a margin).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bench.common import DATA
from notifier.destinations.google_chat.render import message_bytes, render_chat
from notifier.destinations.slack.render import render
from notifier.destinations.sms.render import render_sms
from notifier.enrich.task_logs import excerpt_from_lines
from notifier.enrich.vertex import console_url, job_details
from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails, LogExcerpt
from notifier.names import parse_job_name
from notifier.scrub import scrub
from notifier.sources.final_status import parse_status

SIZE = 512 * 1024
TARGET_S = 0.050
BASELINE_CASE = "failed-traceback"
RESOURCE = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"
# Units repeated to 512 KB: each the worst case of some pattern, or of escaping.
KINDS = {
    "assignments": "a=",
    "secret assignments": 'password="',
    "quoted names": '"token": "',
    "token starts": "eyJ",
    "private key headers": "-----BEGIN PRIVATE KEY-----",
    "schemes": "https://",
    "headers": "Authorization: ",
    "backticks": "`",
    "escapes": "<&>",
    "emoji": "\U0001f631",
    "short lines": "x\n",
    "mixed": 'xoxb-1 AKIA = " : a /@ eyJ. ```` <b> https://u:p@h ',
}
DESTINATIONS = ("slack", "chat", "sms")


def _text(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


def _lines(text: str) -> tuple[str, ...]:
    return tuple(text[i : i + 500] for i in range(0, len(text), 500))


def _baseline() -> tuple[FinalStatus, Enrichment]:
    """The ordinary failed-traceback message, built as the golden tests build it."""
    from google.cloud.aiplatform_v1.types import PipelineJob  # heavy: imported when measured

    status = parse_status((DATA / f"{BASELINE_CASE}.status.json").read_bytes())
    job = PipelineJob.from_json((DATA / f"{BASELINE_CASE}.job.json").read_text(), ignore_unknown_fields=True)
    details = job_details(job)
    entries = json.loads((DATA / f"{BASELINE_CASE}.logs.json").read_text())["entries"]
    tasks = []
    for task in details.failed_tasks:
        job_id = task.job.rsplit("/", 1)[-1]
        mine = sorted(
            (e for e in entries if e["resource"]["labels"]["job_id"] == job_id), key=lambda e: e["timestamp"]
        )
        lines = [(e.get("jsonPayload") or {}).get("message") or e.get("textPayload") or "" for e in mine]
        excerpt = excerpt_from_lines(lines, "errors")
        tasks.append(
            FailedTask(
                task.name,
                task.message,
                job=task.job,
                excerpt=excerpt,
                logs_url=f"https://console.cloud.google.com/logs/query;{job_id}",
            )
        )
    details = replace(details, failed_tasks=tuple(tasks))
    return status, Enrichment(
        details, status.region, console_url(parse_job_name(status.pipeline_job_resource_name))
    )


def _hostile(text: str) -> tuple[FinalStatus, Enrichment]:
    excerpt = LogExcerpt(_lines(text), "traceback")
    tasks = tuple(
        FailedTask(
            f"task-{n}", text, excerpt=excerpt, logs_url="https://console.cloud.google.com/logs/query;x"
        )
        for n in range(3)
    )
    details = JobDetails(
        pipeline_name="churn-training", failed_tasks=tasks, parameters=(("p", text),), labels=(("l", text),),
        job_error=text,
    )  # fmt: skip
    status = FinalStatus("FAILED", RESOURCE, error_message=text)
    return status, Enrichment(details, "us-central1", "https://console.cloud.google.com/vertex-ai/x")


def _renderers(status: FinalStatus, enrichment: Enrichment) -> dict[str, Callable[[], Any]]:
    return {
        "slack": lambda: render(status, enrichment, channel="C0123ABCD", mention="<!here>"),
        "chat": lambda: render_chat(status, enrichment),
        "sms": lambda: render_sms(status, enrichment),
    }


def _median_s(fn: Callable[[], Any], runs: int) -> float:
    fn()  # first call: imports and caches, not measured
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(runs: int = 20) -> dict[str, Any]:
    """Median render times, hostile (worst kind) against the baseline, per destination."""
    baseline = {name: _median_s(fn, runs) for name, fn in _renderers(*_baseline()).items()}
    per_kind: dict[str, dict[str, float]] = {}
    chat_bytes = 0
    for kind, unit in KINDS.items():
        status, enrichment = _hostile(_text(unit))
        per_kind[kind] = {name: _median_s(fn, runs) for name, fn in _renderers(status, enrichment).items()}
        chat_bytes = max(chat_bytes, message_bytes(render_chat(status, enrichment)))
    worst = {name: max(per_kind, key=lambda kind, name=name: per_kind[kind][name]) for name in DESTINATIONS}
    excerpt = {
        kind: _median_s(lambda u=unit: excerpt_from_lines(_lines(_text(u)), "errors"), max(3, runs // 4))
        for kind, unit in KINDS.items()
    }
    whole = {
        kind: _median_s(lambda u=unit: scrub(_text(u)), max(3, runs // 4)) for kind, unit in KINDS.items()
    }
    return {
        "runs": runs,
        "size_bytes": SIZE,
        "target_s": TARGET_S,
        "baseline_case": BASELINE_CASE,
        "baseline_s": baseline,
        "hostile_worst_s": {name: per_kind[worst[name]][name] for name in DESTINATIONS},
        "hostile_worst_kind": worst,
        "hostile_s": per_kind,
        "chat_bytes_max": chat_bytes,
        "excerpt_worst_s": max(excerpt.values()),
        "excerpt_worst_kind": max(excerpt, key=excerpt.__getitem__),
        "scrub_whole_worst_s": max(whole.values()),
        "scrub_whole_worst_kind": max(whole, key=whole.__getitem__),
    }
