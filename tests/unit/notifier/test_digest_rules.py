"""The weekly digest's pure rules: figures per pipeline, flaky tasks, streaks, stopped, schedules."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from notifier.digest_rules import DigestBuilder, Limits, Period, digest
from tests.support.digestdata import CHANNEL, END, HOSTILE_ERROR, PERIOD, Sent, record, story


def test_the_story_in_figures() -> None:
    result = digest(CHANNEL, PERIOD, story())
    assert result is not None
    by_name = {p.pipeline: p for p in result.pipelines}
    assert list(by_name) == ["etl-daily", "nightly-train"]  # failures first
    train = by_name["nightly-train"]
    assert (train.runs, train.succeeded, train.failed, train.cached) == (7, 5, 2, 1)
    assert train.success_rate == pytest.approx(5 / 7)
    assert train.previous_success_rate == 1.0 and train.rate_change == pytest.approx(-100 * 2 / 7)
    # p50 over the succeeded, not cached runs of this week: days 0, 2, 3, 6 → 50, 52, 53, 56 min.
    assert train.p50 == timedelta(minutes=52.5)
    assert train.previous_p50 == timedelta(minutes=41)
    assert train.trend == pytest.approx(52.5 / 41)
    etl = by_name["etl-daily"]
    assert (etl.runs, etl.failed, etl.cancelled, etl.success_rate, etl.p50) == (4, 3, 1, 0.0, None)
    assert (result.runs, result.succeeded, result.failed) == (11, 5, 5)


def test_flaky_tasks_streaks_and_stopped() -> None:
    result = digest(CHANNEL, PERIOD, story())
    assert result is not None
    assert [(t.pipeline, t.task, t.failures, t.runs) for t in result.flaky] == [
        ("etl-daily", "load", 3, 4),
        ("nightly-train", "train", 2, 7),
    ]
    assert result.flaky[0].last_error == HOSTILE_ERROR[:200]
    assert result.flaky[1].last_error == "RuntimeError: CUDA out of memory (day 1)"  # the most recent
    # etl-daily: three failures, the cancelled run after them is neutral.
    assert [(s.pipeline, s.failures) for s in result.streaks] == [("etl-daily", 3)]
    streak = result.streaks[0]
    assert streak.since == END - timedelta(days=2, hours=5) and streak.age == timedelta(days=2, hours=5)
    assert not streak.since_before and streak.latest_run.endswith("/etl-daily-0")
    assert [(s.pipeline, s.previous_runs) for s in result.stopped] == [("weekly-report", 7)]


def test_order_and_duplicates_change_nothing() -> None:
    runs = story()
    shuffled = runs + runs[:5]
    random.Random(7).shuffle(shuffled)
    assert digest(CHANNEL, PERIOD, shuffled) == digest(CHANNEL, PERIOD, runs)


def test_a_target_with_nothing_to_say_gets_nothing() -> None:
    assert digest(CHANNEL, PERIOD, []) is None
    old = [record("old", "p", "SUCCEEDED", END - timedelta(days=30))]
    assert digest(CHANNEL, PERIOD, old) is None  # outside both periods
    assert digest(CHANNEL, PERIOD, [replace(old[0], end_time=None)]) is None


def test_a_streak_older_than_the_window_says_at_least() -> None:
    runs = [record(f"f{d}", "p", "FAILED", END - timedelta(days=d, hours=1)) for d in range(13)]
    result = digest(CHANNEL, PERIOD, runs)
    assert result is not None and result.streaks[0].since_before and result.streaks[0].failures == 13


def test_schedule_warnings_of_the_period_and_target() -> None:
    sent = [
        Sent("feature-backfill", "MISSED", CHANNEL, END - timedelta(days=1)),
        Sent("feature-backfill", "MISSED", CHANNEL, END - timedelta(days=2)),
        Sent("feature-backfill", "MISSED", "slack:C0OTHER", END - timedelta(days=2)),
        Sent("fraud-retrain", "SCHEDULE_FAILED", CHANNEL, END - timedelta(days=9)),  # previous period
    ]
    result = digest(CHANNEL, PERIOD, [], sent)
    assert result is not None and result.runs == 0
    assert [(t.pipeline, t.kind, t.count) for t in result.schedules] == [("feature-backfill", "MISSED", 2)]
    assert result.schedules[0].last == END - timedelta(days=1)


def test_limits_cut_lists_and_count_the_rest() -> None:
    runs = [
        record(f"p{n}-1", f"pipeline-{n:03d}", "SUCCEEDED", END - timedelta(hours=n + 1)) for n in range(60)
    ]
    result = digest(CHANNEL, PERIOD, runs, limits=Limits(pipelines=10))
    assert result is not None and len(result.pipelines) == 10 and result.more_pipelines == 50


def test_bad_records_are_skipped_not_fatal() -> None:
    negative = replace(record("neg", "p", "SUCCEEDED", END - timedelta(hours=1)), duration=None)
    mismatched = record(
        "odd", "p", "FAILED", END - timedelta(hours=2), tasks=("a", "b"), errors=("only one",)
    )
    result = digest(CHANNEL, PERIOD, [negative, mismatched])
    assert result is not None
    assert result.pipelines[0].p50 is None  # no duration: not in the statistics
    assert {(t.task, t.last_error) for t in result.flaky} == {("a", "only one"), ("b", "")}


def test_the_builder_takes_many_targets_in_one_pass() -> None:
    builder = DigestBuilder(CHANNEL, PERIOD)
    assert builder.add(story()[0]) and not builder.add(story()[0])
    assert not builder.add(record("x", "p", "SUCCEEDED", END + timedelta(hours=1)))  # after the period


def test_the_previous_period() -> None:
    assert PERIOD.previous == Period(END - timedelta(days=14), END - timedelta(days=7))
    assert END not in PERIOD and END - timedelta(seconds=1) in PERIOD
