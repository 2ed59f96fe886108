"""What the run produced, in every destination: the results line, the not-blessed warning, the metrics.

Golden files per case of tests/data/results (``<case>.slack.json``, ``.chat.json``,
``.sms.txt``, ``.teams.json``): the status through the real parser, the job through the
real ``aiplatform_v1.PipelineJob`` and ``job_details``, verified as the handler verifies
it; the job nested too deep for the client is read again without its deepest parts, as
``enrich.vertex`` reads it. Regenerate with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob
from google.protobuf import json_format

from notifier.destinations.content import build, change_text, metric_text, results_line
from notifier.destinations.google_chat.render import render_chat
from notifier.destinations.slack.render import render
from notifier.destinations.sms.render import SMS_MAX, render_sms
from notifier.destinations.teams.render import render_teams
from notifier.enrich.vertex import console_url, job_details, parse_job_document
from notifier.model import Enrichment, FinalStatus, Metric, ModelResults
from notifier.sources.final_status import parse_status
from notifier.verify import verify
from sandbox.teams_standin import message_problem
from tests.support.golden import golden_text
from tests.test_results_data import ALL_CASES, RESULTS


def inputs(case: str) -> tuple[FinalStatus, Enrichment, datetime]:
    """The case as the handler sees it: enriched (or not) and verified; the reference time is
    when the exit handler's task started (the job has not ended while it runs)."""
    status = parse_status((RESULTS / f"{case}.status.json").read_bytes())
    name = status.job_name
    assert name is not None
    raw = json.loads((RESULTS / f"{case}.job.json").read_text())
    reference = max(
        datetime.fromisoformat(task["startTime"].replace("Z", "+00:00"))
        for task in raw["jobDetail"]["taskDetails"]
    ) + timedelta(seconds=20)
    try:
        job = PipelineJob.from_json(json.dumps(raw))
    except json_format.ParseError:  # as VertexEnricher.fetch: read again without the deepest parts
        job = parse_job_document((RESULTS / f"{case}.job.json").read_bytes())
    enrichment = Enrichment(job_details(job, with_stub=True), name.region, console_url(name))
    verdict = verify(status, enrichment)
    assert not verdict.refuted, verdict.refuted
    return status, replace(enrichment, unverified=verdict.unconfirmed), reference


def rendered(case: str, kind: str) -> str:
    status, enrichment, reference = inputs(case)
    if kind == "slack":
        message = render(status, enrichment, channel="C0123ABCD", reference_time=reference).to_payload()
    elif kind == "chat":
        message = render_chat(status, enrichment, reference_time=reference)
    elif kind == "teams":
        message = render_teams(status, enrichment, reference_time=reference)
        assert message_problem(message) == ""
    else:
        return render_sms(status, enrichment, reference_time=reference) + "\n"
    return json.dumps(message, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("kind", ["slack", "chat", "sms", "teams"])
@pytest.mark.parametrize("case", ALL_CASES)
def test_golden(case: str, kind: str) -> None:
    actual = rendered(case, kind)
    suffix = "sms.txt" if kind == "sms" else f"{kind}.json"
    assert golden_text(RESULTS / f"{case}.{suffix}", actual) == actual


def slack_text(case: str) -> str:
    return rendered(case, "slack")


def test_blessed_and_pushed_in_every_destination() -> None:
    line = "Model blessed and pushed (version 1796276472)"
    for kind in ("slack", "chat", "sms", "teams"):
        assert line in rendered("tfx-blessed-pushed", kind), kind
    assert "Pushed to `gs://acme-ml-models/churn/1796276472`" in slack_text("tfx-blessed-pushed")


def test_not_blessed_is_a_warning_up_front() -> None:
    payload = json.loads(slack_text("tfx-not-blessed"))
    assert ":warning: *Model NOT blessed*: pushed nothing" in payload["text"]  # the notification preview
    assert any(
        block.get("text", {}).get("text") == ":warning: *Model NOT blessed*: pushed nothing"
        for block in payload["blocks"]
    )
    assert "Model NOT blessed: pushed nothing." in rendered("tfx-not-blessed", "sms")


def test_kfp_metrics_on_success_and_on_failure() -> None:
    for case in ("kfp-metrics-succeeded", "kfp-metrics-failed"):
        text = slack_text(case)
        assert "Metrics of `evaluate`: `auc` 0.9312 · `accuracy` 0.8875" in text, case
        assert "(+1 more)" in text and "`examples`" not in text
    assert "auc 0.9312, accuracy 0.8875, f1 " in rendered("kfp-metrics-succeeded", "sms")


def test_hostile_metrics_are_escaped_and_bounded() -> None:
    payload = json.loads(slack_text("hostile-metrics-strings"))
    text = json.dumps(payload)
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text
    nonfinite = slack_text("hostile-metrics-nonfinite-strings")
    assert "`auc` NaN" in nonfinite and "`accuracy` inf" in nonfinite and "`logloss` -inf" in nonfinite
    assert "(+494 more)" in slack_text("hostile-metrics-500")
    for case in ALL_CASES:
        assert len(rendered(case, "sms").rstrip("\n")) <= SMS_MAX


def test_a_hostile_push_shows_nothing_of_it() -> None:
    for kind in ("slack", "chat", "sms", "teams"):
        text = rendered("hostile-blessing-unvalidated", kind)
        assert "javascript" not in text and "evil" not in text and "1e+20" not in text, kind
        assert "Model" not in text.replace("Model results", ""), kind


def test_a_job_too_deep_for_the_client_is_sent_verified_without_its_deepest_metric() -> None:
    _, enrichment, _ = inputs("hostile-metrics-too-deep")
    assert enrichment.details is not None and not enrichment.unverified
    text = slack_text("hostile-metrics-too-deep")
    assert "Metrics of `evaluate`: `auc` 0.9312" in text and "Unverified" not in text


# --- the wording ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.9312, "0.9312"),
        (0.28741, "0.2874"),
        (18234.0, "18234"),
        (-0.0, "0"),
        (1.2e19, "1.2e+19"),
        (1e-320, "1e-320"),
        (math.nan, "NaN"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
    ],
)
def test_metric_text(value: float, text: str) -> None:
    assert metric_text(value) == text


def test_change_from_the_previous_run() -> None:
    assert change_text(0.912, 0.908) == "+0.004"
    assert change_text(0.9, 0.95) == "-0.05"
    assert change_text(1.0, 1.0) == "±0"
    assert change_text(math.nan, 0.9) == "" and change_text(0.9, math.inf) == ""


def test_the_previous_metrics_hook() -> None:
    status, enrichment, reference = inputs("kfp-metrics-succeeded")
    plain = build(status, enrichment, reference_time=reference)
    assert dict(plain.metrics)["auc"] == "0.9312"
    changed = build(
        status, enrichment, reference_time=reference, previous_metrics={"auc": 0.9272, "f1": math.nan}
    )
    assert dict(changed.metrics)["auc"] == "0.9312, +0.004"
    assert dict(changed.metrics)["f1"] == dict(plain.metrics)["f1"]  # no change against NaN


@pytest.mark.parametrize(
    ("results", "line"),
    [
        (ModelResults(), ""),
        (
            ModelResults(blessed=True, pushed=True, pushed_version="17"),
            "Model blessed and pushed (version 17)",
        ),
        (ModelResults(blessed=True, pushed=True), "Model blessed and pushed"),
        (ModelResults(blessed=True, pushed=False), "Model blessed, not pushed"),
        (ModelResults(blessed=True), "Model blessed"),
        (ModelResults(blessed=False, pushed=False), "Model NOT blessed: pushed nothing"),
        (ModelResults(blessed=False), "Model NOT blessed: pushed nothing"),
        (
            ModelResults(blessed=False, pushed=True, pushed_version="9"),
            "Model NOT blessed: pushed all the same (version 9)",
        ),
        (
            ModelResults(blessed=True, infra_blessed=False, pushed=False),
            "Model NOT blessed by the InfraValidator: pushed nothing",
        ),
        (ModelResults(pushed=True, pushed_version="3"), "Model pushed (version 3)"),
        (ModelResults(pushed=False), "Model not pushed"),
        (ModelResults(metrics=(Metric("auc", 0.9),)), ""),
    ],
)
def test_results_line(results: ModelResults, line: str) -> None:
    assert results_line(results) == line
