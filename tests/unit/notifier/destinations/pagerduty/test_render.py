"""PagerDuty events (``<case>.pagerduty.json``) for every failing golden case, from the same inputs as
Slack's: the summary within PagerDuty's 1,024 characters on one line, links whole, no secret, no key.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from notifier.destinations.content import MessageContent, build
from notifier.destinations.pagerduty.render import (
    SLACK_THREAD,
    SUMMARY_MAX,
    one_line,
    resolve,
    summary,
    trigger,
)
from notifier.state.incidents import incident_key
from sandbox.logging_standin import LoggingStandin
from sandbox.pagerduty_standin import ROUTING_KEY, validate
from tests.conftest import DATA
from tests.support.golden import CASES, REFERENCE_TIME, case_inputs, golden_text
from tests.support.hostile import SECRETS, huge_enrichment
from tests.test_results_data import RESULTS
from tests.unit.notifier.destinations.test_content_results import inputs as results_inputs

FAILING = [
    case for case in CASES if json.loads((DATA / f"{case}.status.json").read_text()).get("state") == "FAILED"
]
RESULTS_FAILING = ["tfx-trainer-failed", "kfp-metrics-failed"]
THREAD = "https://acme.slack.com/archives/C0123ABCD/p1796274008123456"


def event_of(content: MessageContent, case: str, **extra: Any) -> dict:
    """The trigger for ``case``'s first failure, stamped with the run's start."""
    return trigger(
        content,
        dedup_key=incident_key("271009669852", content.pipeline, case),
        severity="error",
        when=content.started or REFERENCE_TIME,
        **extra,
    )


def check(event: dict, folder: Path, case: str) -> None:
    text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(folder / f"{case}.pagerduty.json", text)) == event
    assert validate({"routing_key": ROUTING_KEY, **event}) == []  # what PagerDuty's own checks say
    summary_text = event["payload"]["summary"]
    assert len(summary_text) <= SUMMARY_MAX and summary_text == one_line(summary_text)
    assert "routing_key" not in event


@pytest.mark.parametrize("case", FAILING)
def test_trigger(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    content = build(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    check(event_of(content, case), DATA, case)


@pytest.mark.parametrize("case", RESULTS_FAILING)
def test_trigger_with_results(case: str) -> None:
    status, enrichment, reference = results_inputs(case)
    content = build(status, enrichment, reference_time=reference)
    event = event_of(content, case, failures=3, slack_thread=THREAD)
    check(event, RESULTS, case)
    assert "(run " in event["payload"]["summary"] and "3 failed runs in a row" in event["payload"]["summary"]
    assert {"href": THREAD, "text": SLACK_THREAD} in event["links"]


def test_the_summary_says_what_failed_and_why(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("failed-traceback", logging_api)
    content = build(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    assert summary(content) == (
        "churn-training failed (run churn-training-20261127061509): train-model: KeyError: 'churned'"
    )
    event = event_of(content, "failed-traceback")
    assert event["payload"]["custom_details"]["failed tasks"] == ["train-model"]
    assert (
        event["links"][0]["text"] == "Open in Vertex AI" and event["client_url"] == event["links"][0]["href"]
    )
    assert event["links"][1]["text"] == "View logs: train-model"


@pytest.mark.parametrize(("tasks", "text"), [(1, "x" * 100_000), (40, "é😱\u202e\n" * 20_000)])
def test_huge_and_hostile_text_stays_within_the_limits(tasks: int, text: str) -> None:
    status, enrichment = huge_enrichment(tasks, text)
    content = build(status, enrichment)
    event = event_of(content, "huge")
    assert validate({"routing_key": ROUTING_KEY, **event}) == []
    assert len(json.dumps(event).encode()) < 128 * 1024  # far under the Events API's 512 KB
    assert "\u202e" not in event["payload"]["summary"] and "\n" not in event["payload"]["summary"]


@pytest.mark.parametrize("case", ["failed-secrets", "failed-secrets-job-error"])
def test_no_secret_reaches_a_page(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    text = json.dumps(event_of(build(inputs.status, inputs.enrichment), case), ensure_ascii=False)
    assert not [secret for secret in SECRETS if secret in text]


def test_a_resolve_carries_only_the_key() -> None:
    assert resolve("vertex-pipeline/x/1") == {"event_action": "resolve", "dedup_key": "vertex-pipeline/x/1"}
    assert validate({"routing_key": ROUTING_KEY, **resolve("k")}) == []
