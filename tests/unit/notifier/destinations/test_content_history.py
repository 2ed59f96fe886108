"""Golden files for run history's messages, in Slack, Google Chat and SMS (tests/data/history/):

- ``slow-success`` / ``slow-failure``: a run slower than usual gets one more line;
- ``late-warning``: the sweep's "still running" warning, later than usual (p95);
- ``late-ended``: the reply in that warning's thread once the run has ended.

The inputs are the golden cases' own (``tests.golden.case_inputs``: the real parsers and log
reader), with the comparison run history would add. Regenerate with ``UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from notifier.destinations.content import comparison_line, short_duration
from notifier.destinations.google_chat.render import render_chat, render_chat_reply
from notifier.destinations.slack.render import render, render_reply
from notifier.destinations.sms.render import SMS_MAX, render_sms, render_sms_reply
from notifier.model import AFTER_WARNING, SWEEP, Comparison, FinalStatus
from sandbox.logging_standin import LoggingStandin
from tests.conftest import DATA
from tests.support.golden import CaseInputs, case_inputs, golden_text

HISTORY = DATA / "history"
SLOW = Comparison(timedelta(hours=2, minutes=10), timedelta(minutes=42), 20)
LATE = Comparison(timedelta(hours=5, minutes=10), timedelta(hours=2, minutes=8), 20, running=True)
THREAD = "1764225000.000100"


def _inputs(kind: str, logging_api: LoggingStandin) -> tuple[CaseInputs, bool]:
    """The inputs for ``kind``, and whether it is a reply in the warning's thread."""
    if kind in ("slow-success", "slow-failure"):
        inputs = case_inputs("succeeded" if kind == "slow-success" else "failed-with-tasks", logging_api)
        assert inputs.enrichment.details is not None
        took = inputs.enrichment.details.duration(inputs.reference_time)
        assert took is not None
        usual = timedelta(minutes=14 if kind == "slow-success" else 10)
        slow = Comparison(took, usual, 20)  # what run history would find: beyond 2x and usual + 15 min
        assert took > max(2 * usual, usual + timedelta(minutes=15))
        return replace(inputs, enrichment=replace(inputs.enrichment, comparison=slow)), False
    inputs = case_inputs("succeeded", logging_api)
    details = inputs.enrichment.details
    assert details is not None and details.start_time is not None
    name = inputs.status.pipeline_job_resource_name
    if kind == "late-warning":
        running = replace(details, end_time=None, state="RUNNING")
        status = FinalStatus("RUNNING", name, source=SWEEP)
        enrichment = replace(inputs.enrichment, details=running, comparison=LATE)
        return replace(
            inputs, status=status, enrichment=enrichment, reference_time=details.start_time + LATE.took
        ), False
    ended = replace(details, end_time=details.start_time + timedelta(hours=6, minutes=12))
    status = FinalStatus("SUCCEEDED", name, source=AFTER_WARNING)
    comparison = Comparison(timedelta(hours=6, minutes=12), timedelta(minutes=42), 20)
    return replace(
        inputs, status=status, enrichment=replace(inputs.enrichment, details=ended, comparison=comparison)
    ), True


KINDS = ["slow-success", "slow-failure", "late-warning", "late-ended"]


@pytest.mark.parametrize("kind", KINDS)
def test_slack(kind: str, logging_api: LoggingStandin) -> None:
    inputs, reply = _inputs(kind, logging_api)
    if reply:
        payload = render_reply(
            inputs.status,
            inputs.enrichment,
            channel="C0123ABCD",
            thread_ts=THREAD,
            reference_time=inputs.reference_time,
        )
        assert payload["thread_ts"] == THREAD
    else:
        payload = render(
            inputs.status, inputs.enrichment, channel="C0123ABCD", reference_time=inputs.reference_time
        ).to_payload()
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(HISTORY / f"{kind}.slack.json", text)) == payload
    line = comparison_line(inputs.enrichment.comparison)  # type: ignore[arg-type]
    assert line in text and line in payload["text"]


@pytest.mark.parametrize("kind", KINDS)
def test_chat(kind: str, logging_api: LoggingStandin) -> None:
    inputs, reply = _inputs(kind, logging_api)
    render_one = render_chat_reply if reply else render_chat
    message = render_one(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    text = json.dumps(message, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(HISTORY / f"{kind}.chat.json", text)) == message
    assert comparison_line(inputs.enrichment.comparison) in text  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", KINDS)
def test_sms(kind: str, logging_api: LoggingStandin) -> None:
    inputs, reply = _inputs(kind, logging_api)
    render_one = render_sms_reply if reply else render_sms
    text = render_one(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    assert golden_text(HISTORY / f"{kind}.sms.txt", text + "\n") == text + "\n"
    assert len(text) <= SMS_MAX and text.isascii()


def test_the_line_reads_as_the_issue_says() -> None:
    assert comparison_line(SLOW) == "Took 2h 10m, 3.1\u00d7 its usual 42m (median of the last 20 runs)."
    assert (
        comparison_line(LATE, times="x")
        == "Running for 5h 10m, 2.4x its usual 2h 08m (p95 of the last 20 runs)."
    )
    assert [short_duration(timedelta(seconds=s)) for s in (45, 600, 7260, 90000)] == [
        "45s",
        "10m",
        "2h 01m",
        "1d 01h",
    ]
    # A usual time of nothing has no ratio to show.
    assert "against its usual 0s" in comparison_line(Comparison(timedelta(minutes=20), timedelta(0), 5))


def test_an_unverified_notice_has_no_line(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("unverified", logging_api)
    enrichment = replace(inputs.enrichment, comparison=SLOW)
    payload = render(inputs.status, enrichment, channel="C0123ABCD").to_payload()
    assert "usual" not in json.dumps(payload)
