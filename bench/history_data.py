"""A realistic run history for the digest benchmark: N pipelines x D days x R runs a day.

``runs()`` yields one record per pipeline run, oldest first, as the function would record
a final notice: plain types only (``str``, ``float`` seconds, ``bool``, timezone-aware UTC
``datetime``, a ``list`` of task names, a ``dict`` of labels), so a record can go to
Firestore or anywhere else as it is. It is a pure generator: deterministic for a seed
(each pipeline draws from its own ``random.Random``, so pipeline *k*'s history does not
depend on how many others there are), streamed (nothing but the pipelines' profiles is
kept), and fast enough to feed 430k records to a benchmark in a few seconds.

What makes it realistic, per pipeline (``Pipeline``): a name (``<domain>-<stage>``), a
project and region, routing labels (``team``, ``env``), a typical duration (log-normal
across pipelines, 2 minutes to 3 hours) with log-normal noise per run and rare slow
outliers (x2.5 to x6), a queueing delay before start, a failure rate (most pipelines
rarely fail, a few are flaky) whose failures mostly hit one flaky task (with that task's
error's first line), rare cancellations, and fully cached runs (every task cached: a
minute or two, ``cached=True``, to be left out of duration statistics). Across the set,
a few pipelines get steadily slower, a few regress in the last days (for "slower than
usual"), a few stopped running ten days before the end, a few started twenty days before
it, one was renamed half-way, one has failed every run for the last two days (an open
failing streak), and some run from a Vertex AI Schedule (``schedule_name``).

    from bench.history_data import runs, total
    for record in runs():        # 200 x 90 x 24, ending 2026-11-30T00:00:00Z
        ...
    total()                      # how many runs() yields, without generating them
"""

from __future__ import annotations

import math
import random
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any

END = datetime(2026, 11, 30, tzinfo=timezone.utc)
DOMAINS = (
    "churn", "fraud", "ltv", "ranking", "search", "recsys", "pricing", "demand", "inventory", "ads-ctr",
    "spam", "support-routing", "forecast", "attribution", "sessionize", "clickstream", "feature-store",
    "embeddings", "vision-qc", "nlp-intent", "anomaly", "credit-risk", "ab-readout", "eta", "geo",
)  # fmt: skip
STAGES = ("training", "scoring", "eval", "backfill", "ingest", "features", "export", "monitoring", "retrain",
          "report")  # fmt: skip
TASKS = ("ingest", "validate-schema", "bq-extract", "feature-join", "transform", "train", "tune", "evaluate",
         "bias-check", "push-model", "batch-predict", "export-gcs", "publish-report", "notify")  # fmt: skip
ERRORS = {
    "ingest": "google.api_core.exceptions.DeadlineExceeded: 504 Deadline Exceeded",
    "validate-schema": "ValueError: column 'label' has 3.2% nulls (limit 1%)",
    "bq-extract": "google.api_core.exceptions.Forbidden: 403 Access Denied: Table acme-ml-prod:events.clicks",
    "feature-join": "KeyError: 'user_id'",
    "transform": "The replica workerpool0-0 ran out of memory and exited with a non-zero status of 137.",
    "train": "The replica workerpool0-0 exited with a non-zero status of 1. Termination reason: Error.",
    "tune": "RESOURCE_EXHAUSTED: Quota exceeded for aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus",
    "evaluate": "AssertionError: AUC 0.712 below the blessing threshold 0.75",
    "bias-check": "RuntimeError: slice 'country=BR' has fewer than 100 examples",
    "push-model": "google.api_core.exceptions.FailedPrecondition: 400 Model version is still being created",
    "batch-predict": "The BatchPredictionJob failed: INTERNAL: Internal error encountered.",
    "export-gcs": "google.api_core.exceptions.ServiceUnavailable: 503 GET storage.googleapis.com",
    "publish-report": "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='looker.acme.internal')",
    "notify": "TimeoutError: Pub/Sub publish did not complete in 30 s",
}
TEAMS = ("growth-ml", "risk-ml", "data-eng", "search", "ads", "forecasting", "platform", "vision", "nlp",
         "pricing", "support-ml", "geo")  # fmt: skip
PROJECTS = (
    ("acme-ml-prod", "271009669852"),
    ("acme-ml-staging", "271009669853"),
    ("acme-data-prod", "418220334761"),
)
REGIONS = ("us-central1", "europe-west4", "asia-northeast1")


@dataclass(frozen=True)
class Pipeline:
    """One pipeline's profile: who it is and how its runs behave."""

    index: int
    name: str
    project: str
    project_number: str
    region: str
    team: str
    env: str
    tasks: tuple[str, ...]
    flaky_task: str
    median_s: float  # typical duration of a non-cached run
    sigma: float  # log-normal noise of one run's duration
    fail_rate: float
    cache_rate: float
    minute: int  # when in its slot it is created
    first_day: int = 0  # days before that it did not exist
    last_day: int = -1  # days after that it stopped running (-1: runs to the end)
    trend: float = 0.0  # duration multiplier gained over the whole history (0.5: 50 % slower at the end)
    regression_days: int = 0  # the last days with durations x2.5
    broken_days: int = 0  # the last days in which every run fails
    renamed_from: str = ""  # its name in the first half of the history
    schedule_name: str = ""


def pipelines(count: int = 200, days: int = 90, seed: int = 23) -> list[Pipeline]:
    """The ``count`` pipelines' profiles (pipeline k's profile depends on ``seed`` and k only,
    plus ``days`` for the life-cycle events that are placed relative to the end)."""
    names = [f"{domain}-{stage}" for domain in DOMAINS for stage in STAGES]
    random.Random(f"{seed}:names").shuffle(names)
    # Past the 250 combinations, names repeat with a version: churn-training-v2.
    versioned = [
        names[k % len(names)] + (f"-v{k // len(names) + 1}" if k >= len(names) else "") for k in range(count)
    ]
    return [_profile(k, name, days, seed) for k, name in enumerate(versioned)]


def _profile(k: int, name: str, days: int, seed: int) -> Pipeline:
    rng = random.Random(f"{seed}:pipeline:{k}")
    project, number = PROJECTS[0] if rng.random() < 0.7 else rng.choice(PROJECTS[1:])
    region = rng.choices(REGIONS, weights=(70, 25, 5))[0]
    tasks = tuple(sorted(rng.sample(TASKS, rng.randint(3, 9)), key=TASKS.index))
    flaky = rng.random() < 0.08
    events: dict[str, Any] = {}
    if k % 50 == 11:
        events["last_day"] = max(days - 11, 0)  # stopped ten days before the end
    elif k % 50 == 23:
        events["first_day"] = max(days - 20, 0)  # new
    if k % 20 == 5:
        events["trend"] = rng.uniform(0.4, 1.0)
    if k % 33 == 17:
        events["regression_days"] = 3
    if k == 7 and days >= 2:
        events["renamed_from"] = name.rsplit("-", 1)[0] + "-legacy"
    if k == 3:
        events["broken_days"] = 2
    if rng.random() < 0.4:
        events["schedule_name"] = (
            f"projects/{number}/locations/{region}/schedules/{rng.randrange(10**18, 10**19)}"
        )
    return Pipeline(
        index=k,
        name=name,
        project=project,
        project_number=number,
        region=region,
        team=rng.choice(TEAMS),
        env=rng.choices(("prod", "staging", "dev"), weights=(80, 15, 5))[0],
        tasks=tasks,
        flaky_task=rng.choice(tasks),
        median_s=min(max(math.exp(rng.gauss(math.log(20 * 60), 1.0)), 120.0), 3 * 3600.0),
        sigma=rng.uniform(0.12, 0.35),
        fail_rate=rng.uniform(0.12, 0.3) if flaky else rng.uniform(0.0, 0.03),
        cache_rate=rng.choice((0.0, 0.0, 0.0, rng.uniform(0.05, 0.3))),
        minute=rng.randrange(60),
        **events,
    )


def _active_days(pipeline: Pipeline, days: int) -> range:
    last = days - 1 if pipeline.last_day < 0 else min(pipeline.last_day, days - 1)
    return range(pipeline.first_day, last + 1)


def total(count: int = 200, days: int = 90, per_day: int = 24, seed: int = 23) -> int:
    """How many records ``runs()`` yields for these arguments."""
    return sum(len(_active_days(p, days)) for p in pipelines(count, days, seed)) * per_day


def runs(
    count: int = 200, days: int = 90, per_day: int = 24, *, end: datetime = END, seed: int = 23
) -> Iterator[dict[str, Any]]:
    """The history's runs, oldest slot first (within a slot, pipeline by pipeline).

    Runs are created in ``[end - days, end)``, ``per_day`` times a day per pipeline, at
    the pipeline's minute of each slot plus a few seconds; a run may end after ``end``.
    """
    profiles = pipelines(count, days, seed)
    rngs = [random.Random(f"{seed}:runs:{p.index}") for p in profiles]
    start = end - timedelta(days=days)
    slot_s = 86400 / per_day
    for day in range(days):
        midnight = start + timedelta(days=day)
        stamp = midnight.strftime("%Y%m%d")
        live = [(p, rngs[p.index]) for p in profiles if day in _active_days(p, days)]
        for slot in range(per_day):
            for pipeline, rng in live:
                offset = slot * slot_s + pipeline.minute * 60 % slot_s
                yield _run(pipeline, rng, day, days, midnight, stamp, offset)


def _run(
    p: Pipeline, rng: random.Random, day: int, days: int, midnight: datetime, stamp: str, offset: float
) -> dict[str, Any]:
    created_s = offset + rng.uniform(0.5, 4.0)
    whole = int(created_s)
    name = p.renamed_from if p.renamed_from and day < days // 2 else p.name
    job_id = f"{name}-{stamp}{whole // 3600:02d}{whole % 3600 // 60:02d}{whole % 60:02d}"
    queued = rng.lognormvariate(math.log(12.0), 0.6)
    if rng.random() < 0.005:
        queued += rng.uniform(300, 1800)  # waited for resources
    roll = rng.random()
    failed_tasks: list[str] = []
    error = ""
    cached = False
    if day >= days - p.broken_days or roll < p.fail_rate:
        state = "FAILED"
        task = p.flaky_task if rng.random() < 0.7 else rng.choice(p.tasks)
        failed_tasks = [task]
        error = ERRORS[task]
        duration = _duration(p, rng, day, days) * rng.uniform(0.05, 0.9)
    elif roll < p.fail_rate + 0.003:
        state = "CANCELLED"
        duration = _duration(p, rng, day, days) * rng.uniform(0.05, 1.0)
    else:
        state = "SUCCEEDED"
        cached = rng.random() < p.cache_rate
        duration = rng.uniform(25.0, 110.0) if cached else _duration(p, rng, day, days)
    created = midnight + timedelta(seconds=created_s)
    started = created + timedelta(seconds=queued)
    return {
        "pipeline": name,
        "job_id": job_id,
        "project": p.project,
        "project_number": p.project_number,
        "region": p.region,
        "state": state,
        "create_time": created,
        "start_time": started,
        "end_time": started + timedelta(seconds=duration),
        "duration_s": duration,
        "cached": cached,
        "failed_tasks": failed_tasks,
        "error": error,
        "labels": {"team": p.team, "env": p.env},
        "schedule_name": p.schedule_name,
    }


def _duration(p: Pipeline, rng: random.Random, day: int, days: int) -> float:
    """A non-cached run's duration: the median, its trend and regressions, log-normal noise, rare outliers."""
    median = p.median_s * (1.0 + p.trend * day / max(days - 1, 1))
    if day >= days - p.regression_days:
        median *= 2.5
    value = median * rng.lognormvariate(0.0, p.sigma)
    if rng.random() < 0.01:
        value *= rng.uniform(2.5, 6.0)  # a slow outlier
    return value


def main() -> None:
    """Print how long the default history takes to generate, and the memory streaming it holds."""
    started = time.perf_counter()
    produced = sum(1 for _ in runs())
    elapsed = time.perf_counter() - started
    # Traced apart (tracing slows Python down twentyfold), over the first 50k runs: the
    # stream holds the same whatever its length.
    tracemalloc.start()
    traced = sum(1 for _ in islice(runs(), 50_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{produced} runs in {elapsed:.2f} s ({elapsed / produced * 1e6:.1f} µs a run)")
    print(f"peak {peak / 1e6:.2f} MB traced while streaming {traced} runs")


if __name__ == "__main__":
    main()
