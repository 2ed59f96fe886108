"""Render a PagerDuty Events API v2 event from a notification's content. Pure: no I/O.

A trigger says in its ``summary`` (at most ``SUMMARY_MAX``, PagerDuty's 1,024 characters,
on one line) which pipeline failed, how many runs in a row, and why (the first failed
task and what it died of); ``custom_details`` hold the rest a responder reads first (the
failed tasks, the facts, the labels, the model's results), each value bounded; ``links``
lead to the Vertex AI console, the streak's Slack thread when it is known, and each
failed task's logs, whole (never cut: a link that is too long is left out). A resolve
carries only the incident's key.

Everything comes from ``destinations.content`` (scrubbed of secrets, bounded). The routing
key is the service's credential: ``deliver`` adds it, so no rendered event (nor golden
file) ever holds one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from typing import Any

from notifier.destinations.content import (
    LINK_URL_MAX,
    OPEN_IN_VERTEX,
    MessageContent,
    first_cause,
    shorten,
)

SUMMARY_MAX = 1024  # PagerDuty's limit for payload.summary
DETAIL_MAX = 1000  # characters of any one custom detail
ITEM_MAX = 200  # characters of one item of a detail's list or map (a task, a label)
SOURCE_MAX = 255
LABELS_MAX = 20
TASKS_MAX = 20
LINKS_MAX = 6
CLIENT = "Vertex AI pipeline notifier"
EVENT_CLASS = "vertex-ai-pipeline-run"
SLACK_THREAD = "Slack thread"
_SPACES = re.compile(r"\s+")


def one_line(text: str) -> str:
    """``text`` on one line: control, formatting and separator characters as spaces, runs of space as one."""
    kept = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return _SPACES.sub(" ", kept).strip()


def summary(content: MessageContent, failures: int = 0) -> str:
    """``churn-training failed (run …; 3 failed runs in a row): Trainer: KeyError: 'churned'``."""
    cause = first_cause(content)
    if cause.task:
        why = f"{cause.task}: {cause.reason or 'failed'}" + (f" (+{cause.more} more)" if cause.more else "")
    elif cause.listed:
        why = "failed tasks " + ", ".join(cause.listed[:5])
    else:
        why = cause.reason
    streak = f"; {failures} failed runs in a row" if failures > 1 else ""
    head = f"{content.title} {content.outcome} (run {content.job_id}{streak})"
    return shorten(one_line(f"{head}: {why}" if why else head), SUMMARY_MAX)


def _details(content: MessageContent, failures: int) -> dict[str, Any]:
    details: dict[str, Any] = {"pipeline": content.pipeline, "run": content.job_id, "state": content.state}
    if failures:
        details["failed runs in a row"] = failures
    if content.duration:
        details["duration"] = content.duration
    tasks = [cause.name for cause in content.causes] + list(content.more_tasks)
    if tasks:
        details["failed tasks"] = tasks[:TASKS_MAX]
    cause = first_cause(content)
    if cause.reason:
        details["error"] = cause.reason
    for label, value in content.facts:
        details[label.lower()] = value
    if content.labels:
        details["labels"] = dict(content.labels[:LABELS_MAX])
    if content.results:
        details["model"] = content.results
    if content.metrics:
        details["metrics"] = dict(content.metrics)
    return {key: _bounded(value) for key, value in details.items()}


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return shorten(value, DETAIL_MAX)
    if isinstance(value, list):
        return [shorten(item, ITEM_MAX) for item in value]
    if isinstance(value, dict):
        return {shorten(k, ITEM_MAX): shorten(v, ITEM_MAX) for k, v in value.items()}
    return value


def _links(content: MessageContent, slack_thread: str) -> list[dict[str, str]]:
    links = [(link.url, link.label) for link in content.links]
    if slack_thread:
        links.append((slack_thread, SLACK_THREAD))
    links += [
        (cause.logs.url, f"View logs: {shorten(cause.name, 60)}") for cause in content.causes if cause.logs
    ]
    return [{"href": url, "text": text} for url, text in links if url and len(url) <= LINK_URL_MAX][
        :LINKS_MAX
    ]


def trigger(
    content: MessageContent,
    *,
    dedup_key: str,
    severity: str,
    when: datetime,
    failures: int = 0,
    slack_thread: str = "",
) -> dict[str, Any]:
    """A trigger event (without its routing key) for a failed run."""
    project = dict(content.facts).get("Project", "")
    region = dict(content.facts).get("Region", "")
    console = next((link.url for link in content.links if link.label == OPEN_IN_VERTEX), "")
    event: dict[str, Any] = {
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": summary(content, failures),
            "source": shorten(
                one_line(" ".join(filter(None, ("Vertex AI Pipelines", project, region)))), SOURCE_MAX
            ),
            "severity": severity,
            "timestamp": when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "component": shorten(one_line(content.pipeline), SOURCE_MAX),
            "group": shorten(one_line(project), SOURCE_MAX),
            "class": EVENT_CLASS,
            "custom_details": _details(content, failures),
        },
        "links": _links(content, slack_thread),
        "client": CLIENT,
    }
    if console:
        event["client_url"] = console
    return event


def resolve(dedup_key: str) -> dict[str, Any]:
    """A resolve event (without its routing key) for the incident ``dedup_key``."""
    return {"event_action": "resolve", "dedup_key": dedup_key}
