"""The run history's pure rules: statistics, slow and late, what is recorded of a run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.history_rules import (
    Baseline,
    Policy,
    baseline_of,
    late_after,
    late_floor,
    later_than_usual,
    limit,
    mask_address,
    median,
    percentile,
    run_duration,
    run_record,
    slower_than_usual,
)
from notifier.model import FailedTask, FinalStatus, JobDetails

T0 = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)
NAME = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127060000"
POLICY = Policy()
MIN = timedelta(minutes=1)


def test_median_and_percentile() -> None:
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    assert percentile(list(range(1, 21)), 0.95) == pytest.approx(19.05)
    assert percentile([7], 0.95) == 7
    with pytest.raises(ValueError):
        median([])


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50))
def test_percentiles_lie_within_the_values(values: list[float]) -> None:
    assert min(values) <= median(values) <= percentile(values, 0.95) <= max(values)


def test_the_limit_is_the_factor_or_the_floor_whichever_is_later() -> None:
    assert limit(timedelta(hours=1), POLICY) == timedelta(hours=2)  # 2 x 60 > 60 + 15
    assert limit(timedelta(minutes=5), POLICY) == timedelta(minutes=20)  # 5 + 15 > 2 x 5


def test_a_baseline_needs_min_runs_and_keeps_the_latest() -> None:
    assert baseline_of([60.0] * 4, POLICY) is None
    many = baseline_of([float(i) for i in range(100)], POLICY)
    assert many is not None and many.runs == 20 and many.durations[0] == 0
    # Garbage durations (negative, beyond a year) are never part of it.
    assert baseline_of([-5.0, 1e9, 60, 60, 60, 60], POLICY) is None


def test_slower_than_usual_beyond_the_limit_only() -> None:
    usual = Baseline((42 * 60.0,) * 20)
    assert slower_than_usual(timedelta(minutes=84), usual, POLICY) is None  # exactly at the limit
    slow = slower_than_usual(timedelta(hours=2, minutes=10), usual, POLICY)
    assert slow is not None and slow.usual == timedelta(minutes=42) and slow.runs == 20
    assert round(slow.ratio, 1) == 3.1 and slow.statistic == "median" and not slow.running
    # A short pipeline needs the floor: 3 minutes usual, 10 minutes is not slow (3 + 15 = 18).
    assert slower_than_usual(timedelta(minutes=10), Baseline((180.0,) * 5), POLICY) is None
    assert slower_than_usual(timedelta(minutes=19), Baseline((180.0,) * 5), POLICY) is not None
    # No duration, no baseline, too few runs: nothing to say.
    assert slower_than_usual(None, usual, POLICY) is None
    assert slower_than_usual(timedelta(hours=9), None, POLICY) is None
    assert slower_than_usual(timedelta(hours=9), Baseline((60.0,) * 4), POLICY) is None


def test_late_after_the_p95_limit() -> None:
    runs = Baseline(tuple(float(m * 60) for m in range(40, 60)))  # 40..59 minutes
    threshold = late_after(runs, POLICY)
    assert threshold == 2 * runs.p95
    assert later_than_usual(threshold, runs, POLICY) is None
    late = later_than_usual(threshold + MIN, runs, POLICY)
    assert late is not None and late.running and late.statistic == "p95" and late.usual == runs.p95
    assert late_after(None, POLICY) is None and later_than_usual(timedelta(days=3), None, POLICY) is None


def test_the_sweep_lists_from_the_youngest_threshold() -> None:
    assert late_floor(POLICY, [12.0, 3.0], history=False) == timedelta(hours=3)
    assert late_floor(POLICY, [12.0], history=True) == timedelta(minutes=15)
    assert late_floor(Policy(min_extra=timedelta(0)), [12.0], history=True) == MIN


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        (None, T0, "no start time"),
        (T0, None, "no end time"),
        (T0, T0 - MIN, "before it starts"),
        (T0, T0 + timedelta(days=400), "not believed"),
    ],
)
def test_durations_that_cannot_be(start: datetime | None, end: datetime | None, why: str) -> None:
    took, reason = run_duration(start, end)
    assert took is None and why in reason


def _details(**changes: object) -> JobDetails:
    base = {
        "name": NAME,
        "pipeline_name": "churn-training",
        "display_name": "churn-training-20261127060000",
        "create_time": T0,
        "start_time": T0 + MIN,
        "end_time": T0 + timedelta(minutes=43),
        "state": "SUCCEEDED",
        "labels": (("team", "growth"), ("env", "prod"), ("cost-center", "x")),
    }
    base.update(changes)
    return JobDetails(**base)  # type: ignore[arg-type]


def test_a_run_record_keeps_what_routing_and_the_digest_need() -> None:
    status = FinalStatus("SUCCEEDED", NAME)
    record, problems = run_record(
        status,
        _details(),
        reference_time=T0 + timedelta(hours=1),
        targets=["slack:C0123ABCD", "sms:+15551230001", "slack:C0123ABCD"],
        label_keys={"team"},
    )
    assert problems == () and record is not None
    assert record.duration == timedelta(minutes=42) and not record.end_estimated
    assert record.pipeline_key == "271009669852/churn-training"
    assert record.targets == ("slack:C0123ABCD", "sms:+1555•••0001")
    assert record.labels == (("team", "growth"),)
    assert record.counts and (record.project, record.region) == ("271009669852", "us-central1")


def test_the_notice_time_stands_in_for_an_end_vertex_has_not_recorded() -> None:
    status = FinalStatus("FAILED", NAME)
    details = _details(end_time=None, failed_tasks=(FailedTask("Trainer", "boom"),))
    record, _ = run_record(status, details, reference_time=T0 + timedelta(minutes=31))
    assert record is not None and record.end_estimated and record.duration == timedelta(minutes=30)
    assert record.failed_tasks == ("Trainer",) and not record.counts
    assert record.errors == ("boom",)


def test_an_error_is_kept_as_its_first_line_scrubbed_and_bounded() -> None:
    status = FinalStatus("FAILED", NAME)
    message = "\n  Login failed: password=hunter2 for db\nTraceback (most recent call last):\n" + "x" * 5000
    long = "ValueError: " + "y" * 5000
    details = _details(failed_tasks=(FailedTask("load", message), FailedTask("train", long)))
    record, _ = run_record(status, details, reference_time=T0)
    assert record is not None
    assert record.errors[0].startswith("Login failed:") and "hunter2" not in record.errors[0]
    assert len(record.errors[1]) <= 201 and record.errors[1].endswith("…")


@pytest.mark.parametrize(
    ("changes", "reference", "problem"),
    [
        ({"end_time": None}, T0 - timedelta(hours=1), "before it starts"),  # clock skew
        ({"start_time": datetime(1970, 1, 1, tzinfo=timezone.utc), "create_time": None}, T0, "not believed"),
        ({"end_time": T0 - timedelta(minutes=5)}, T0, "before it starts"),
    ],
)
def test_bad_times_are_recorded_without_a_duration(
    changes: dict[str, object], reference: datetime, problem: str
) -> None:
    record, problems = run_record(
        FinalStatus("SUCCEEDED", NAME), _details(**changes), reference_time=reference
    )
    assert record is not None and record.duration is None and not record.counts
    assert any(problem in p for p in problems)


def test_a_run_without_a_checked_name_is_not_recorded() -> None:
    record, problems = run_record(
        FinalStatus("SUCCEEDED", "projects/x/../y"), _details(name=""), reference_time=T0
    )
    assert record is None and "not recorded" in problems[0]


def test_fully_cached_runs_do_not_count() -> None:
    record, _ = run_record(FinalStatus("SUCCEEDED", NAME), _details(fully_cached=True), reference_time=T0)
    assert record is not None and record.fully_cached and not record.counts


def test_phone_numbers_are_masked() -> None:
    assert mask_address("sms:+15551230001") == "sms:+1555•••0001"
    assert mask_address("slack:C0123ABCD") == "slack:C0123ABCD"
