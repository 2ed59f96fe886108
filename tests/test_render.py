"""Renderer golden pairs (tests/data/<case>.status.json → <case>.slack.json), limits and escaping.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_render.py``
and review the diff like code.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from notifier.destinations.slack.render import (
    BLOCKS_MAX,
    FIELDS_MAX,
    HEADER_MAX,
    SECTION_TEXT_MAX,
    escape,
    format_duration,
    render,
)
from notifier.enrich.vertex import console_url, job_details
from notifier.model import Enrichment
from notifier.sources.final_status import parse_status
from tests.conftest import DATA

REFERENCE_TIME = datetime(2026, 11, 27, 6, 42, tzinfo=timezone.utc)
CASES = sorted(p.name.removesuffix(".status.json") for p in DATA.glob("*.status.json"))


def load_job(path: Path):
    """Parse REST PipelineJob JSON through the real aiplatform_v1 type."""
    from google.cloud.aiplatform_v1.types import PipelineJob

    return PipelineJob.from_json(path.read_text(), ignore_unknown_fields=True)


def render_case(case: str) -> dict:
    status = parse_status((DATA / f"{case}.status.json").read_bytes())
    options_path = DATA / f"{case}.case.json"
    options = json.loads(options_path.read_text()) if options_path.exists() else {}
    region = options.get("region") or status.region
    job_path = DATA / f"{case}.job.json"
    details = job_details(load_job(job_path)) if job_path.exists() else None
    enrichment = Enrichment(details, region, console_url(status, region), options.get("note", ""))
    message = render(
        status,
        enrichment,
        channel=options.get("channel", "C0123ABCD"),
        mention=options.get("mention", ""),
        reference_time=REFERENCE_TIME,
    )
    return message.to_payload()


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    payload = render_case(case)
    golden = DATA / f"{case}.slack.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    assert golden.exists(), f"no golden file for {case}; run with UPDATE_GOLDEN=1 and review it"
    assert payload == json.loads(golden.read_text())


@pytest.mark.parametrize("case", CASES)
def test_every_case_is_within_slack_limits(case: str) -> None:
    payload = render_case(case)
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= BLOCKS_MAX
    for block in blocks:
        # slack_sdk's own validators check lengths and required fields.
        Block.parse(block).validate_json()
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_MAX
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= SECTION_TEXT_MAX
            assert len(block.get("fields", [])) <= FIELDS_MAX


def test_fallback_text_keeps_the_wording_users_know() -> None:
    assert render_case("succeeded")["text"] == (
        ":tada: Pipeline job *churn-training-20261126061500* completed successfully."
    )
    assert render_case("failed-with-tasks")["text"] == (
        "<!subteam^S0123ABC> :scream: Pipeline job *churn-training-20261127061500* failed.\n"
        ">The DAG failed because some tasks failed. The failed tasks are: [Trainer, Evaluator]."
    )
    assert "was cancelled" in render_case("cancelled")["text"]


def test_unknown_state_is_never_reported_as_success() -> None:
    payload = render_case("unknown-state")
    text = json.dumps(payload)
    assert "PAUSED" in payload["text"]
    assert "completed successfully" not in text
    assert ":tada:" not in text


def test_mention_only_on_failure() -> None:
    status = parse_status((DATA / "succeeded.status.json").read_bytes())
    message = render(status, Enrichment(None, "us-central1", ""), channel="C1", mention="<@U0123>")
    assert "<@U0123>" not in json.dumps(message.to_payload())


def test_untrusted_text_cannot_ping_or_spoof_links() -> None:
    text = json.dumps(render_case("hostile-text"))
    for live in ("<!channel>", "<https://evil.example", "<@U999>", "<!here>", "<b>"):
        assert live not in text
    assert "&lt;!channel&gt;" in text
    assert "&amp;" in text


def test_oversized_input_is_truncated_and_says_so() -> None:
    payload = render_case("oversized")
    text = json.dumps(payload, ensure_ascii=False)
    assert "…" in payload["blocks"][0]["text"]["text"]
    assert "shortened to fit Slack's limits" in text
    assert re.search(r"…and \d+ more", text), "a cut task list must say how many were left out"
    assert len(payload["text"]) <= 3000


def test_truncation_never_leaves_half_an_escape() -> None:
    status = parse_status(json.dumps({"state": "FAILED", "error": {"message": "<" * 4000}}).encode())
    message = render(status, Enrichment(None, "", ""), channel="C1")
    for block in message.to_payload()["blocks"]:
        body = block.get("text", {}).get("text", "")
        if body.endswith("…"):
            assert body[:-1].endswith("&lt;") or not body[:-1].rstrip(">").endswith("&")


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(12, "12s"), (245, "4m 05s"), (3723, "1h 02m 03s"), (90061, "1d 01h 01m")],
)
def test_format_duration(seconds: int, expected: str) -> None:
    from datetime import timedelta

    assert format_duration(timedelta(seconds=seconds)) == expected


def test_escape_is_complete() -> None:
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"
