"""Run history's cost on the posting path, against the Firestore emulator.

A confirmed final notice costs run history two things: the baseline query before it is
rendered (up to ``BASELINE_RUNS`` documents of its pipeline, newest first) and recording the
run after it is handled (one ``create``). Both are timed directly on ``FirestoreHistory``,
and the whole posting path (``Notifier.handle`` in process: Vertex stand-in, de-duplication
claim and thread state on the emulator, the Slack stand-in) is timed in the same run with
history on and off, so the figures sit side by side.

The history is ``bench.history_data``'s (seeded, realistic: durations, failures, cached
runs), written first with the backfill's bulk writer; the notices are runs of its pipelines.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.common import summary
from bench.history_data import runs
from notifier.history_rules import Policy, RunRecord, pipeline_key
from sandbox.firestore_emulator import FirestoreEmulator

WARM = 3
NUMBER = "271009669852"
AFTER = datetime(2026, 12, 1, tzinfo=timezone.utc)  # the notices' runs end after the seeded history


def record(run: dict[str, Any], targets: tuple[str, ...] = ("slack:C0DEFAULT1",)) -> RunRecord:
    """A generated run (``bench.history_data``) as the function records it, sent to ``targets``."""
    took = run["end_time"] - run["start_time"]
    return RunRecord(
        name=f"projects/{run['project_number']}/locations/{run['region']}/pipelineJobs/{run['job_id']}",
        project=run["project_number"],
        region=run["region"],
        job_id=run["job_id"],
        pipeline=run["pipeline"],
        display_name=run["job_id"],
        state=run["state"],
        create_time=run["create_time"],
        start_time=run["start_time"],
        end_time=run["end_time"],
        duration=took,
        fully_cached=run["cached"],
        failed_tasks=tuple(run["failed_tasks"]),
        errors=(run["error"],) if run["error"] else (),
        targets=targets,
        labels=tuple(sorted(run["labels"].items())),
        source="backfill",
    )


def seed(store: Any, pipelines: int, days: int, per_day: int) -> dict[str, Any]:
    """Write the generated history in batches; returns how many runs and how long it took."""
    started = time.perf_counter()
    written = 0
    batch: list[RunRecord] = []
    for run in runs(pipelines, days, per_day, end=AFTER):
        batch.append(record(run))
        if len(batch) == 500:
            written += store.record_many(batch)[0]
            batch = []
    written += store.record_many(batch)[0] if batch else 0
    return {"runs": written, "seconds": time.perf_counter() - started}


def _job(pipeline: str, job_id: str, minutes: float) -> dict[str, Any]:
    start = AFTER + timedelta(hours=1)
    stamp = "%Y-%m-%dT%H:%M:%S.%fZ"
    return {
        "name": f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{job_id}",
        "displayName": job_id,
        "state": 4,
        "createTime": start.strftime(stamp),
        "startTime": start.strftime(stamp),
        "endTime": (start + timedelta(minutes=minutes)).strftime(stamp),
        "pipelineSpec": {"pipelineInfo": {"name": pipeline}},
    }


def _event(job_id: str, n: int) -> dict[str, Any]:
    name = f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{job_id}"
    data = json.dumps({"state": "SUCCEEDED", "pipelineJobResourceName": name, "pipelineTaskName": job_id})
    return {
        "message": {
            "data": base64.b64encode(data.encode()).decode(),
            "attributes": {},
            "messageId": f"history-{n}",
            "publishTime": (AFTER + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        },
        "subscription": "projects/local-project/subscriptions/direct",
    }


def measure(
    firestore: FirestoreEmulator, messages: int, *, pipelines: int = 20, days: int = 30, per_day: int = 24
) -> dict[str, Any]:
    """Seconds per message: the baseline query, recording a run, and the posting path with and
    without run history; plus the Firestore reads and writes per message."""
    from google.cloud import firestore as fs

    from notifier.state.history import FirestoreHistory
    from sandbox.slack_standin import SlackStandin
    from sandbox.vertex_standin import VertexStandin
    from tests.support.inprocess import make_notifier

    os.environ.update(firestore.env)
    client = fs.Client(project=firestore.project)
    collection = f"bench-history-{int(time.time())}"
    store = FirestoreHistory(client, collection)
    seeded = seed(store, pipelines, days, per_day)
    names = sorted({r["pipeline"] for r in runs(pipelines, 1, 1, end=AFTER)})
    policy = Policy()
    result: dict[str, Any] = {"messages": messages, "seeded": seeded}
    with SlackStandin() as slack, VertexStandin() as vertex:
        env = {
            **firestore.env,
            "DEDUP_COLLECTION": f"{collection}-claims",
            "STREAKS_COLLECTION": f"{collection}-streaks",
        }
        with_history = make_notifier((slack, vertex), RUNS_COLLECTION=collection, **env)
        without = make_notifier((slack, vertex), RUN_HISTORY_DAYS="0", **env)
        timings: dict[str, list[float]] = {"path_with": [], "path_without": [], "baseline": [], "record": []}
        reads: list[int] = []
        for n in range(messages + WARM):
            pipeline = names[n % len(names)]
            for kind, notifier in (("path_with", with_history), ("path_without", without)):
                job_id = f"{pipeline}-bench-{kind.replace('_', '-')}-{n}"
                vertex.add_job(_job(pipeline, job_id, 30))
                start = time.perf_counter()
                notifier.handle(_event(job_id, n))
                if n >= WARM:
                    timings[kind].append(time.perf_counter() - start)
            # The two history calls of the path, alone.
            key = pipeline_key(NUMBER, pipeline)
            start = time.perf_counter()
            baseline = store.baseline(key, AFTER + timedelta(days=1), policy)
            middle = time.perf_counter()
            fresh = replace(
                record(next(runs(1, 1, 1, end=AFTER))),
                name=f"projects/{NUMBER}/locations/us-central1/pipelineJobs/bench-record-{collection}-{n}",
            )
            store.record(fresh)
            end = time.perf_counter()
            if n >= WARM:
                timings["baseline"].append(middle - start)
                timings["record"].append(end - middle)
                reads.append(max(1, baseline.runs if baseline else 0))
    for name, values in timings.items():
        result[f"{name}_s"] = summary(values)
    result["record_p50_s"] = result["record_s"]["p50"]
    result["history_cost_p50_s"] = result["path_with_s"]["p50"] - result["path_without_s"]["p50"]
    result["reads_per_message"] = sum(reads) / len(reads) if reads else 0
    result["writes_per_message"] = 1
    return result
