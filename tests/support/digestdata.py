"""Run records for the weekly digest's tests: one builder, and a small history with a story.

``story()`` is two weeks of three pipelines routed to one channel, ending at ``END``:
``nightly-train`` runs daily, slower this week and failing its ``train`` task twice;
``etl-daily`` failed its last three runs (an open streak, with a hostile error line);
``weekly-report`` ran last week only (stopped). A cached run and a cancelled one too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from notifier.digest_rules import Period
from notifier.history_rules import RunRecord

NUMBER = "271009669852"
CHANNEL = "slack:C0DEFAULT1"
END = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
PERIOD = Period(END - timedelta(days=7), END)


def record(
    job: str,
    pipeline: str,
    state: str,
    end: datetime,
    *,
    minutes: float = 40,
    tasks: tuple[str, ...] = (),
    errors: tuple[str, ...] = (),
    cached: bool = False,
    targets: tuple[str, ...] = (CHANNEL,),
    name: str = "",
) -> RunRecord:
    took = timedelta(minutes=minutes)
    return RunRecord(
        name=name or f"projects/{NUMBER}/locations/us-central1/pipelineJobs/{job}",
        project=NUMBER,
        region="us-central1",
        job_id=job,
        pipeline=pipeline,
        display_name=job,
        state=state,
        create_time=end - took,
        start_time=end - took,
        end_time=end,
        duration=took,
        fully_cached=cached,
        failed_tasks=tasks,
        errors=errors,
        targets=targets,
        source="exit_handler",
    )


HOSTILE_ERROR = "ValueError: row *7* <https://evil.example/|click here> <!channel> `rm -rf`"


def story(target: str = CHANNEL) -> list[RunRecord]:
    """Two weeks of three pipelines in ``target`` (see the module doc)."""
    runs = []
    for day in range(14):
        end = END - timedelta(days=day, hours=3)
        this_week = day < 7
        failed = day in (1, 4)
        runs.append(
            record(
                f"nightly-train-{day}",
                "nightly-train",
                "FAILED" if failed else "SUCCEEDED",
                end,
                minutes=50 + day if this_week else 40 + day % 3,
                tasks=("train",) if failed else (),
                errors=(f"RuntimeError: CUDA out of memory (day {day})",) if failed else (),
                cached=day == 5,
                targets=(target,),
            )
        )
        if not this_week:
            runs.append(record(f"weekly-report-{day}", "weekly-report", "SUCCEEDED", end, targets=(target,)))
    for day in range(3):
        runs.append(
            record(
                f"etl-daily-{day}",
                "etl-daily",
                "FAILED",
                END - timedelta(days=day, hours=5),
                tasks=("load",),
                errors=(HOSTILE_ERROR,),
                targets=(target,),
            )
        )
    runs.append(record("etl-daily-8", "etl-daily", "SUCCEEDED", END - timedelta(days=8), targets=(target,)))
    runs.append(record("etl-daily-c", "etl-daily", "CANCELLED", END - timedelta(hours=2), targets=(target,)))
    return runs


def many(pipelines: int = 200) -> list:
    """``pipelines`` pipelines, each with a failing task and a long (scrubbed) error: far beyond one message."""
    return [
        record(
            f"p{n}-{d}",
            f"pipeline-with-a-rather-long-name-{n:03d}",
            "FAILED" if d == 0 else "SUCCEEDED",
            END - timedelta(days=d, hours=1),
            tasks=("train-a-model-for-a-while",) if d == 0 else (),
            errors=("RuntimeError: " + "x" * 190,) if d == 0 else (),
        )
        for n in range(pipelines)
        for d in range(3)
    ]


@dataclass(frozen=True)
class Sent:
    """A schedule warning that went out (as ``state.schedule_warnings.SentWarning`` has it)."""

    pipeline: str
    kind: str
    target: str
    sent_at: datetime


def schedule_warnings(target: str = CHANNEL) -> list[Sent]:
    """Two missed slots of feature-backfill and a failed creation of fraud-retrain, this week."""
    return [
        Sent("feature-backfill", "MISSED", target, END - timedelta(days=1, hours=2)),
        Sent("feature-backfill", "MISSED", target, END - timedelta(days=3, hours=2)),
        Sent("fraud-retrain", "SCHEDULE_FAILED", target, END - timedelta(days=2)),
    ]
