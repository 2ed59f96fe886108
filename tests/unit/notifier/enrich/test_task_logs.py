"""Failed tasks' log excerpts: what is read (filters, paging, parallel), and what is kept.

The reader is the real ``google.cloud.logging_v2.Client`` over HTTP, pointed at the
Cloud Logging stand-in on loopback; nothing of ours is patched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from notifier.enrich.task_logs import (
    MAX_CHARS,
    MAX_LINES,
    TaskLogEnricher,
    TaskLogReader,
    excerpt_from_lines,
    logs_explorer_url,
    logs_filter,
    time_range,
)
from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails
from sandbox.logging_standin import LoggingStandin, ml_job_entries
from tests.support.logdata import PROJECT_ID, PROJECT_NUMBER, training_log

START = datetime(2026, 11, 27, 6, 30, tzinfo=timezone.utc)
FAILED = FinalStatus(
    state="FAILED",
    pipeline_job_resource_name=f"projects/{PROJECT_NUMBER}/locations/us-central1/pipelineJobs/run-1",
)
TRACEBACK = [
    ("INFO", "Epoch 3/20"),
    ("ERROR", "Traceback (most recent call last):"),
    ("ERROR", '  File "/app/train.py", line 10, in <module>'),
    ("ERROR", "    main()"),
    ("ERROR", "ValueError: first failure"),
    ("ERROR", ""),
    ("ERROR", "During handling of the above exception, another exception occurred:"),
    ("ERROR", ""),
    ("ERROR", "Traceback (most recent call last):"),
    ("ERROR", '  File "/app/train.py", line 12, in <module>'),
    ("ERROR", "    cleanup()"),
    ("ERROR", "RuntimeError: cleanup failed too"),
    ("INFO", "bye"),
]


def job_name(job_id: str) -> str:
    return f"projects/{PROJECT_NUMBER}/locations/us-central1/customJobs/{job_id}"


def task(name: str, job_id: str, minutes: int = 10) -> FailedTask:
    return FailedTask(name, "The replica workerpool0-0 exited with a non-zero status of 1.", job=job_name(job_id),
                      start_time=START, end_time=START + timedelta(minutes=minutes))  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[LoggingStandin]:
    with LoggingStandin() as standin:
        yield standin


@pytest.fixture
def logs(server: LoggingStandin) -> LoggingStandin:
    server.reset()
    server.project_ids[PROJECT_NUMBER] = PROJECT_ID
    return server


def add(
    logs: LoggingStandin, job_id: str, lines: list[tuple[str, str]], start: datetime = START, **kw: Any
) -> None:
    logs.add_entries(ml_job_entries(PROJECT_ID, job_id, lines, start=start + timedelta(seconds=5), **kw))


def read(logs: LoggingStandin, *tasks: FailedTask, timeout: float = 5.0, budget: float = 10.0) -> JobDetails:
    reader = TaskLogReader(logs.url, timeout, clock=lambda: START + timedelta(hours=1))
    return reader.add_logs(JobDetails(failed_tasks=tasks), time.monotonic() + budget)


# --- what is asked ----------------------------------------------------------------------


def test_every_filter_names_the_job_and_a_time_range(logs: LoggingStandin) -> None:
    add(logs, "111", [("INFO", "only info here")])
    read(logs, task("t", "111"))
    assert len(logs.requests) == 2  # ERROR first, then the tail of any severity
    for request in logs.requests:
        assert 'resource.labels.job_id="111"' in request.filter
        assert 'resource.type="ml_job"' in request.filter
        assert 'timestamp>="2026-11-27T06:29:00Z"' in request.filter
        assert 'timestamp<="2026-11-27T06:41:00Z"' in request.filter
        assert request.order_by == "timestamp desc"
        assert request.resource_names == [f"projects/{PROJECT_NUMBER}"]
    assert "severity>=ERROR" in logs.requests[0].filter
    assert "severity" not in logs.requests[1].filter
    assert [r.page_size for r in logs.requests] == [50, MAX_LINES]


def test_filters_are_built_whole() -> None:
    assert logs_filter("42", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", errors_only=True) == (
        'resource.type="ml_job" AND resource.labels.job_id="42" AND timestamp>="2026-01-01T00:00:00Z" '
        'AND timestamp<="2026-01-01T01:00:00Z" AND severity>=ERROR'
    )


def test_the_time_range_is_the_tasks_own_run_and_at_most_a_day() -> None:
    assert time_range(task("t", "1"), START) == ("2026-11-27T06:29:00Z", "2026-11-27T06:41:00Z")
    running = FailedTask("t", "", job=job_name("1"), start_time=START - timedelta(days=3))
    start, end = time_range(running, START)
    assert end == "2026-11-27T06:31:00Z" and start == "2026-11-26T06:29:00Z"


def test_the_link_is_percent_encoded_and_whole() -> None:
    url = logs_explorer_url("my project", "42", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    assert url == (
        "https://console.cloud.google.com/logs/query;query=resource.type%3D%22ml_job%22%0A"
        "resource.labels.job_id%3D%2242%22;timeRange=2026-01-01T00%3A00%3A00Z%2F2026-01-01T01%3A00%3A00Z"
        "?project=my%20project"
    )
    assert not re.search(r"[\s\"<>|]", url)


def test_a_task_without_a_custom_job_is_not_read(logs: LoggingStandin) -> None:
    details = read(logs, FailedTask("dag", "some tasks failed"))
    assert logs.requests == []
    assert details.failed_tasks[0] == FailedTask("dag", "some tasks failed")


def test_switched_off_it_links_but_reads_nothing(logs: LoggingStandin) -> None:
    reader = TaskLogReader(logs.url, 5.0, enabled=False)
    details = reader.add_logs(JobDetails(failed_tasks=(task("t", "111"),)), time.monotonic() + 5)
    assert logs.requests == []
    assert details.failed_tasks[0].logs_url.startswith("https://console.cloud.google.com/logs/query;")
    assert details.failed_tasks[0].excerpt is None and details.failed_tasks[0].log_note == ""


# --- what is kept --------------------------------------------------------------------------


def test_the_last_traceback_from_header_to_exception(logs: LoggingStandin) -> None:
    add(logs, "111", TRACEBACK)
    [found] = read(logs, task("t", "111")).failed_tasks
    assert found.log_note == ""
    assert found.excerpt is not None and found.excerpt.kind == "traceback"
    assert found.excerpt.lines == (
        "Traceback (most recent call last):",
        '  File "/app/train.py", line 12, in <module>',
        "    cleanup()",
        "RuntimeError: cleanup failed too",
    )
    assert len(logs.requests) == 1  # found in the first page: no tail read


def test_a_long_traceback_keeps_its_header_innermost_frames_and_exception() -> None:
    frames = [
        line for n in range(40) for line in (f'  File "/app/m{n}.py", line {n}, in f{n}', f"    f{n + 1}()")
    ]
    excerpt = excerpt_from_lines(["Traceback (most recent call last):", *frames, "KeyError: 'x'"], "errors")
    assert excerpt is not None
    lines = excerpt.lines
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f"  … {excerpt.omitted} lines omitted"
    assert lines[2].lstrip().startswith("File ")
    assert lines[-3:] == ('  File "/app/m39.py", line 39, in f39', "    f40()", "KeyError: 'x'")
    assert len(lines) <= MAX_LINES and sum(len(line) + 1 for line in lines) <= MAX_CHARS
    assert excerpt.omitted == len(frames) - (len(lines) - 3)


def test_without_a_traceback_the_last_error_lines() -> None:
    lines = [f"E line {n}" for n in range(100)]
    excerpt = excerpt_from_lines(lines, "errors")
    assert excerpt is not None and excerpt.kind == "errors"
    assert excerpt.lines == tuple(lines[-MAX_LINES:])
    assert excerpt.omitted == 100 - MAX_LINES


def test_long_lines_are_kept_whole_until_one_would_not_fit() -> None:
    lines = ["x" * 400 for _ in range(10)]
    excerpt = excerpt_from_lines(lines, "errors")
    assert excerpt is not None
    assert excerpt.lines == tuple(lines[-3:])  # 3 * 401 <= 1500 < 4 * 401


def test_colour_codes_and_progress_rewinds_are_cleaned() -> None:
    excerpt = excerpt_from_lines(
        ["\x1b[31mERROR\x1b[0m boom\x07", "50%|█\r100%|██", "bad \ud800 text"], "errors"
    )
    assert excerpt is not None and excerpt.lines == ("ERROR boom", "100%|██", "bad \ufffd text")


def test_secrets_are_scrubbed_as_the_excerpt_is_made() -> None:
    lines = [
        "loading key -----BEGIN PRIVATE KEY-----",  # a key printed over lines, before the traceback
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
        "-----END PRIVATE KEY-----",
        "Traceback (most recent call last):",
        '  File "/app/train.py", line 3, in <module>',
        '    slack = WebClient(token="xoxb-1234567890-0987654321-AbCdEfGh")',
        "requests.exceptions.HTTPError: 401 for url: https://api.example/v1?key=AIzaSyA-1234567890_abcdefghijklmnopqr",
    ]
    excerpt = excerpt_from_lines(lines, "errors")
    assert excerpt is not None and excerpt.kind == "traceback"
    text = "\n".join(excerpt.lines)
    assert "AbCdEfGh" not in text and "abcdefghijklmnopqr" not in text
    assert 'token="xoxb-••••")' in text and "key=AIza••••" in text
    tail = excerpt_from_lines([*lines[:3], "after"], "errors")
    assert tail is not None and tail.lines == ("loading key [redacted private key]", "after")


def test_a_long_line_is_scrubbed_before_it_is_cut() -> None:
    # An AWS key id straddling the cut would otherwise leave its first characters.
    line = "x" * 490 + " AKIAIOSFODNN7EXAMPLE and more"
    excerpt = excerpt_from_lines([line], "errors")
    assert excerpt is not None
    [kept] = excerpt.lines
    assert len(kept) == 500 and "AKIAIOSF" not in kept and kept.endswith(" AKIA••••…")


def test_one_entry_holding_a_whole_traceback(logs: LoggingStandin) -> None:
    text = 'Traceback (most recent call last):\n  File "/app/x.py", line 3, in <module>\n    go()\nOSError: disk full'
    entry = ml_job_entries(PROJECT_ID, "111", [("ERROR", "")], start=START + timedelta(seconds=5))[0]
    del entry["jsonPayload"]
    entry["textPayload"] = text
    logs.add_entries([entry])
    [found] = read(logs, task("t", "111")).failed_tasks
    assert found.excerpt is not None and found.excerpt.lines == tuple(text.splitlines())


def test_one_entry_of_ten_thousand_lines_is_bounded(logs: LoggingStandin) -> None:
    text = "\n".join(f"line {n}" for n in range(10_000)) + "\nMemoryError"
    add(logs, "111", [("ERROR", text)])
    [found] = read(logs, task("t", "111")).failed_tasks
    assert found.excerpt is not None and found.excerpt.lines[-1] == "MemoryError"
    assert len(found.excerpt.lines) == MAX_LINES


def test_ten_thousand_error_lines_without_a_traceback_read_four_small_pages(logs: LoggingStandin) -> None:
    lines = [("ERROR", f"INFO:absl:step {n}") for n in range(10_000)]
    add(logs, "111", lines, step_ms=100)
    [found] = read(logs, task("t", "111", minutes=30)).failed_tasks
    assert [r.page_size for r in logs.requests] == [50, 50, 50, 50]
    assert found.excerpt is not None and found.excerpt.lines[-1] == "INFO:absl:step 9999"


def test_a_ten_thousand_line_log_with_a_traceback_at_the_end_reads_one_page(logs: LoggingStandin) -> None:
    add(logs, "111", training_log(10_000), step_ms=100)
    [found] = read(logs, task("t", "111", minutes=30)).failed_tasks
    assert len(logs.requests) == 1
    assert found.excerpt is not None and found.excerpt.lines[-2].startswith("tensorflow.python.framework")


def test_only_info_lines_give_the_tail(logs: LoggingStandin) -> None:
    add(logs, "111", [("INFO", f"step {n}") for n in range(40)])
    [found] = read(logs, task("t", "111")).failed_tasks
    assert found.excerpt is not None and found.excerpt.kind == "tail"
    assert found.excerpt.lines == tuple(f"step {n}" for n in range(25, 40))


def test_other_jobs_and_other_times_are_not_read(logs: LoggingStandin) -> None:
    add(logs, "222", TRACEBACK)  # another job
    add(logs, "111", [("ERROR", "from yesterday")], start=START - timedelta(days=1))
    add(logs, "111", [("ERROR", "this run")])
    [found] = read(logs, task("t", "111")).failed_tasks
    assert found.excerpt is not None and found.excerpt.lines == ("this run",)


# --- best effort -----------------------------------------------------------------------------


def test_403_leaves_a_note(logs: LoggingStandin) -> None:
    logs.fail_all = 403
    [found] = read(logs, task("t", "111")).failed_tasks
    assert found.excerpt is None
    assert found.log_note == "Cloud Logging answered 403 (Forbidden)"
    assert found.logs_url  # the link does not need the API


def test_an_empty_log_leaves_a_note(logs: LoggingStandin) -> None:
    [found] = read(logs, task("t", "111")).failed_tasks
    assert found.excerpt is None and found.log_note == "no log lines for this task in Cloud Logging"


def test_a_stalled_api_times_out_within_the_bound(logs: LoggingStandin) -> None:
    logs.delay_seconds = 3.0
    started = time.monotonic()
    [found] = read(logs, task("t", "111"), timeout=0.5).failed_tasks
    assert time.monotonic() - started < 2.5
    assert found.excerpt is None and "did not answer in time" in found.log_note


def test_the_budget_bounds_all_reads_together(logs: LoggingStandin) -> None:
    logs.delay_seconds = 2.0
    started = time.monotonic()
    details = read(logs, task("a", "1"), task("b", "2"), timeout=5.0, budget=0.5)
    assert time.monotonic() - started < 1.5
    assert all("enrichment budget" in t.log_note for t in details.failed_tasks)


@dataclass
class Interval:
    start: float
    end: float


def test_several_tasks_are_read_in_parallel_and_capped(logs: LoggingStandin) -> None:
    for n in range(5):
        add(logs, str(n), [("ERROR", "Traceback (most recent call last):"), ("ERROR", f"Error: task {n}")])
    logs.delay_seconds = 0.4
    tasks = [task(f"t{n}", str(n)) for n in range(5)]
    started = time.monotonic()
    details = read(logs, *tasks)
    elapsed = time.monotonic() - started
    assert {r.filter.split('job_id="')[1].split('"')[0] for r in logs.requests} == {"0", "1", "2"}
    spans = [Interval(r.started, r.finished) for r in logs.requests]
    overlapping = [
        (a, b) for i, a in enumerate(spans) for b in spans[i + 1 :] if a.start < b.end and b.start < a.end
    ]
    assert len(overlapping) == 3, "the three reads must be in flight at the same time"
    assert elapsed < 3 * 0.4 + 0.5
    assert [t.excerpt.lines[-1] for t in details.failed_tasks[:3] if t.excerpt] == [
        f"Error: task {n}" for n in range(3)
    ]
    assert all(t.excerpt is None and not t.logs_url for t in details.failed_tasks[3:])


# --- the enricher -------------------------------------------------------------------------------


def test_success_messages_read_no_logs(logs: LoggingStandin) -> None:
    add(logs, "111", TRACEBACK)
    enricher = TaskLogEnricher(TaskLogReader(logs.url), 10)
    found = Enrichment(JobDetails(failed_tasks=(task("t", "111"),)), "us-central1", "")
    enrichment = enricher.add_logs(FinalStatus(state="SUCCEEDED"), found, started=time.monotonic())
    assert logs.requests == []
    assert enrichment.details is not None and enrichment.details.failed_tasks[0].excerpt is None


def test_the_log_reads_get_what_the_vertex_call_left(logs: LoggingStandin) -> None:
    logs.delay_seconds = 2.0
    enricher = TaskLogEnricher(TaskLogReader(logs.url, 5.0), budget=1.0)
    found = Enrichment(JobDetails(failed_tasks=(task("t", "111"),)), "us-central1", "")
    started = time.monotonic() - 0.6  # the Vertex AI call took 0.6 s of the 1 s budget
    enrichment = enricher.add_logs(FAILED, found, started=started)
    assert time.monotonic() - started < 1.6
    assert enrichment.details is not None
    assert "enrichment budget" in enrichment.details.failed_tasks[0].log_note
