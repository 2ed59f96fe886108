"""The golden cases (tests/data/<case>.status.json + .job.json + .case.json + logs) as renderer inputs.

Every renderer (Slack, Google Chat, SMS) is golden-tested on the same cases, built the
same way: the status through the real parser, the job through the real aiplatform_v1
type and ``job_details``, its failed tasks' logs through the real log reader against the
Cloud Logging stand-in. The renderers themselves are pure.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from notifier.destinations.slack.render import render
from notifier.enrich.task_logs import TaskLogReader
from notifier.enrich.vertex import console_url, job_details
from notifier.model import Enrichment, FinalStatus
from notifier.sources.final_status import parse_status
from sandbox.logging_standin import LoggingStandin
from tests.support.logdata import case_options, load_case_logs
from tests.support.paths import DATA

REFERENCE_TIME = datetime(2026, 11, 27, 6, 42, tzinfo=timezone.utc)
CASES = sorted(p.name.removesuffix(".status.json") for p in DATA.glob("*.status.json"))


@dataclass(frozen=True)
class CaseInputs:
    """What a renderer is given for one case."""

    status: FinalStatus
    enrichment: Enrichment
    reference_time: datetime
    options: dict[str, Any]


def load_job(path: Path) -> Any:
    """Parse REST PipelineJob JSON through the real aiplatform_v1 type."""
    from google.cloud.aiplatform_v1.types import PipelineJob

    return PipelineJob.from_json(path.read_text(), ignore_unknown_fields=True)


def case_inputs(case: str, logging_api: LoggingStandin) -> CaseInputs:
    """One case through the real parsers and the real log reader."""
    status = parse_status((DATA / f"{case}.status.json").read_bytes())
    options = case_options(case)
    region = options.get("region") or status.region
    reference = (
        datetime.fromisoformat(options["reference_time"]) if "reference_time" in options else REFERENCE_TIME
    )
    job_path = DATA / f"{case}.job.json"
    details = job_details(load_job(job_path)) if job_path.exists() else None
    if details is not None and details.failed_tasks and not status.succeeded:
        load_case_logs(logging_api, case, options)
        reader = TaskLogReader(logging_api.url, 5.0, clock=lambda: reference)
        details = reader.add_logs(details, time.monotonic() + 10)
    name = status.job_name  # None for the hostile and name-less cases: no console link then
    enrichment = Enrichment(
        details,
        region or "",
        console_url(name) if name is not None else "",
        options.get("note", ""),
        unverified=options.get("unverified", ""),
    )
    return CaseInputs(status, enrichment, reference, options)


def render_slack(case: str, logging_api: LoggingStandin) -> dict:
    """A case through the real parsers and the real log reader, then the (pure) Slack renderer."""
    inputs = case_inputs(case, logging_api)
    message = render(
        inputs.status,
        inputs.enrichment,
        channel=inputs.options.get("channel", "C0123ABCD"),
        mention=inputs.options.get("mention", ""),
        reference_time=inputs.reference_time,
    )
    return message.to_payload()


def golden_text(path: Path, actual: str) -> str:
    """The golden file's text; with ``UPDATE_GOLDEN=1`` first (re)written from ``actual``."""
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    assert path.exists(), f"no golden file {path.name}; run with UPDATE_GOLDEN=1 and review it"
    return path.read_text()
