"""Vertex AI's own job events: a Cloud Logging entry, as a log sink publishes it to Pub/Sub.

Vertex writes an entry to ``projects/P/logs/aiplatform.googleapis.com%2Fpipeline_job_events``
when a PipelineJob changes state, on the monitored resource
``aiplatform.googleapis.com/PipelineJob`` (labels: the job id and its location) with
``jsonPayload.state`` such as ``PIPELINE_STATE_FAILED``. Nothing else in the payload is
documented, so it is read tolerantly: the resource name comes from the payload when some
field holds one, else from the resource labels and the project in ``logName``.

A job event must not pre-empt the exit-handler stub's own message, which carries the
pipeline's own settings (channel, on_failure_only). The rule, decided from the job as
Vertex AI returns it (``enrich.pipeline_spec``):

- the pipeline has the stub and its task SUCCEEDED: the stub published, its message is
  authoritative; the event is acknowledged as covered, whichever arrives first;
- the stub's task FAILED, never ran, or the pipeline has no stub: the event is reported,
  with the settings the pipeline gave the stub (when it has one) as if the stub had sent them;
- Vertex AI cannot be asked: the event is reported (a possible duplicate beats a lost run).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from notifier.errors import BadMessageError
from notifier.model import (
    FINAL_STATES,
    JOB_EVENT,
    SUCCEEDED,
    Enrichment,
    FinalStatus,
    Notice,
    normalize_state,
)
from notifier.names import JobName, NameRejectedError, Scope, job_name_from_parts, parse_job_name

log = logging.getLogger("notifier")

EVENTS_LOG = "aiplatform.googleapis.com%2Fpipeline_job_events"
RESOURCE_TYPE = "aiplatform.googleapis.com/PipelineJob"
_LOG_NAME_RE = re.compile(r"^projects/(?P<project>[^/]+)/logs/(?P<log>[^/]+)$")
# PipelineState numbers, should a sink ever carry the enum as an integer.
_STATE_NUMBERS = {4: "SUCCEEDED", 5: "FAILED", 7: "CANCELLED", 1: "QUEUED", 2: "PENDING", 3: "RUNNING"}
_JOB_ID_LABELS = ("pipeline_job_id", "job_id", "pipeline_job")
_PROJECT_LABELS = ("resource_container", "project_id")


def is_log_entry(document: Any) -> bool:
    """True for a LogEntry (what a sink publishes) rather than a stub's final status."""
    return isinstance(document, dict) and "logName" in document and "resource" in document


def _text(value: Any, limit: int = 300) -> str:
    return value[:limit].strip() if isinstance(value, str) else ""


def parse_job_event(document: Mapping[str, Any]) -> FinalStatus:
    """The run and state a pipeline job event reports, or BadMessageError saying what is missing."""
    log_name = _text(document.get("logName"), 1000)
    match = _LOG_NAME_RE.match(log_name)
    if not match or match["log"].replace("%2F", "/").replace("%2f", "/") != EVENTS_LOG.replace("%2F", "/"):
        raise BadMessageError(f"log entry is from {log_name[:200]!r}, not the {EVENTS_LOG} log")
    resource = document.get("resource")
    resource_type = resource.get("type") if isinstance(resource, Mapping) else None
    if resource_type != RESOURCE_TYPE:
        raise BadMessageError(
            f"log entry's resource type is {str(resource_type)[:100]!r}, not {RESOURCE_TYPE}"
        )
    labels = resource.get("labels") if isinstance(resource.get("labels"), Mapping) else {}
    payload = document.get("jsonPayload")
    if not isinstance(payload, Mapping):
        raise BadMessageError("pipeline job event has no jsonPayload")

    raw_state = payload.get("state")
    if isinstance(raw_state, int) and not isinstance(raw_state, bool):
        raw_state = _STATE_NUMBERS.get(raw_state, str(raw_state))
    if not isinstance(raw_state, str) or not raw_state.strip():
        raise BadMessageError("pipeline job event has no jsonPayload.state")

    error = payload.get("error")
    return FinalStatus(
        state=normalize_state(raw_state[:100]),
        pipeline_job_resource_name=_resource_name(payload, labels, match["project"]),
        error_code=_error_code(error),
        error_message=_text(error.get("message"), 5000) if isinstance(error, Mapping) else "",
        source=JOB_EVENT,
    )


def _resource_name(payload: Mapping[str, Any], labels: Mapping[str, Any], log_project: str) -> str:
    """The run's name, checked by ``names``: a payload field holding a whole name, else the labels."""
    # A full name in a top-level payload field wins (the field's name is undocumented).
    for value in payload.values():
        if isinstance(value, str) and value.startswith("projects/"):
            with contextlib.suppress(NameRejectedError):
                return parse_job_name(value).resource
    job_id = next((_text(labels.get(k)) for k in _JOB_ID_LABELS if _text(labels.get(k))), "")
    location = _text(labels.get("location"))
    project = next((_text(labels.get(k)) for k in _PROJECT_LABELS if _text(labels.get(k))), "") or log_project
    project = project.removeprefix("projects/")
    missing = [name for name, value in (("job id", job_id), ("location", location)) if not value]
    if missing:
        raise BadMessageError(f"pipeline job event's resource labels lack the {' and the '.join(missing)}")
    return job_name_from_parts(project, location, job_id).resource


def _error_code(error: Any) -> int | None:
    code = error.get("code") if isinstance(error, Mapping) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


Enrich = Callable[[FinalStatus, JobName], Enrichment]


class JobEvents:
    """Turns a job event into a notice, unless the exit-handler stub's own message covers it."""

    def __init__(self, enrich: Enrich, scope: Scope) -> None:
        self._enrich = enrich
        self._scope = scope

    def notices(self, document: Mapping[str, Any]) -> list[Notice]:
        """Zero notices (not final, or covered by the stub) or one.

        The run's name is checked and in scope before Vertex AI is asked anything
        (NameRejectedError otherwise).
        """
        status = parse_job_event(document)
        name = parse_job_name(status.pipeline_job_resource_name)
        self._scope.check(name)
        if status.state not in FINAL_STATES:
            log.info("Job event for state %s: not a final state, nothing to report", status.state)
            return []
        enrichment = self._enrich(status, name)
        details = enrichment.details
        if details is None:
            log.warning("Reporting the job event without knowing whether an exit handler covers it")
            return [Notice(status, enrichment=enrichment)]
        if details.stub_task_state == SUCCEEDED:
            log.info(
                "Covered: the pipeline's exit-handler stub succeeded, so its own message reports this run"
            )
            return []
        if details.stub_task_state:
            log.warning(
                "The pipeline's exit-handler stub %s; reporting from the job event with its settings",
                "never ran" if details.stub_task_state == "NOT_RUN" else f"ended {details.stub_task_state}",
            )
        # Vertex's own name (with the project number, as the stub has it) keys de-duplication.
        canonical = details.name or status.pipeline_job_resource_name
        status = replace(status, pipeline_job_resource_name=canonical)
        # Where it goes is the stub's settings as Vertex AI shows them (details.stub_settings).
        return [Notice(status, enrichment=enrichment)]
