"""Render a final status (and what Vertex AI told us) as a Slack Block Kit message.

Pure: no I/O, no environment, no clock. Everything it needs is an argument, so the
same inputs always give the same message (tests pin it with golden files).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from notifier.model import (
    CANCELLED,
    FAILED,
    JOB_EVENT,
    RUNNING_STATES,
    SUCCEEDED,
    SWEEP,
    Enrichment,
    FinalStatus,
)

# Slack's documented limits (Block Kit reference).
HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
CONTEXT_ELEMENTS_MAX = 10
URL_MAX = 3000
FALLBACK_TEXT_MAX = 3000  # well under chat.postMessage's 40k: the fallback is a notification preview
TASKS_SHOWN = 10
TASK_MESSAGE_MAX = 300
PARAMETER_VALUE_MAX = 200
FALLBACK_ERROR_MAX = 500
ELLIPSIS = "…"

_RUNNING_EMOJI = ":hourglass_flowing_sand:"
_EMOJI = {
    SUCCEEDED: ":tada:",
    FAILED: ":scream:",
    CANCELLED: ":no_entry_sign:",
    **dict.fromkeys(RUNNING_STATES, _RUNNING_EMOJI),
}
_VERB = {
    SUCCEEDED: "succeeded",
    FAILED: "failed",
    CANCELLED: "was cancelled",
    **dict.fromkeys(RUNNING_STATES, "is still running"),
}
# Where the notice came from, when it was not the pipeline's own exit handler.
_SOURCE_NOTE = {
    JOB_EVENT: "Reported from Vertex AI's job event: the pipeline's exit handler did not report this run.",
    SWEEP: "Found by the sweep for runs that have not ended.",
}
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
# google.rpc.Code names, for the error code field.
_RPC_CODES = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}


@dataclass(frozen=True)
class SlackMessage:
    """A rendered message: fallback text plus Block Kit blocks, for one channel."""

    channel: str
    text: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def to_payload(self) -> dict[str, Any]:
        """Keyword arguments for ``WebClient.chat_postMessage`` (and the golden files)."""
        return {
            "channel": self.channel,
            "text": self.text,
            "blocks": [block.to_dict() for block in self.blocks],
            "unfurl_links": False,
            "unfurl_media": False,
        }


def escape(text: str) -> str:
    """Escape Slack's control characters so untrusted text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Budget:
    """Cuts text to a limit and remembers that it did, so the message can say so."""

    def __init__(self) -> None:
        self.truncated = False

    def cut(self, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self.truncated = True
        # Never leave half an escape such as "&am" behind.
        head = _PARTIAL_ENTITY.sub("", text[: limit - len(ELLIPSIS)])
        return head + ELLIPSIS


def format_duration(delta: timedelta) -> str:
    """``1h 02m 03s``, ``4m 05s`` or ``12s``."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def slack_date(moment: datetime) -> str:
    """A Slack date token: shown in each reader's own time zone, UTC text as fallback."""
    utc = moment.astimezone(timezone.utc)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def headline(status: FinalStatus) -> str:
    """The one-line wording users know from the original exit handler (mrkdwn, escaped)."""
    job = f"*{escape(status.job_id)}*"
    if status.state == SUCCEEDED:
        return f":tada: Pipeline job {job} completed successfully."
    if status.state == FAILED:
        return f":scream: Pipeline job {job} failed."
    if status.state == CANCELLED:
        return f":no_entry_sign: Pipeline job {job} was cancelled."
    if status.state in RUNNING_STATES:
        return f"{_RUNNING_EMOJI} Pipeline job {job} is still running ({escape(status.state.lower())})."
    return f":grey_question: Pipeline job {job} ended in state *{escape(status.state)}*."


def _quote(text: str) -> str:
    return "\n".join(f">{line}" for line in escape(text).splitlines() or [""])


def _lead(status: FinalStatus, mention: str) -> str:
    # The mention is for failures only: a cancelled or successful run pings nobody.
    if status.state == FAILED and mention:
        return f"{mention} {headline(status)}"
    return headline(status)


def _fallback_text(status: FinalStatus, mention: str, budget: _Budget) -> str:
    text = _lead(status, mention)
    if status.state == FAILED and status.error_message:
        text += "\n" + _quote(budget.cut(status.error_message, FALLBACK_ERROR_MAX))
    return budget.cut(text, FALLBACK_TEXT_MAX)


def render(
    status: FinalStatus,
    enrichment: Enrichment,
    *,
    channel: str,
    mention: str = "",
    reference_time: datetime | None = None,
) -> SlackMessage:
    """Build the Slack message for one pipeline run.

    ``mention`` is trusted configuration (it must stay live); every other string is
    escaped. ``reference_time`` stands in for the end time while the job is still
    finishing (the exit handler runs before Vertex marks the job ended).
    """
    budget = _Budget()
    fallback = _fallback_text(status, mention, budget)
    details = enrichment.details
    title_name = (details and (details.display_name or details.pipeline_name)) or status.job_id
    emoji = _EMOJI.get(status.state, ":grey_question:")
    verb = _VERB.get(status.state, f"ended: {status.state}")
    blocks: list[Block] = [
        HeaderBlock(
            text=PlainTextObject(
                text=budget.cut(f"{emoji} {escape(title_name)} {escape(verb)}", HEADER_MAX), emoji=True
            )
        )
    ]

    lead = budget.cut(_lead(status, mention), SECTION_TEXT_MAX)
    blocks.append(SectionBlock(text=MarkdownTextObject(text=lead)))

    fields = _fields(status, enrichment, reference_time, budget)
    if fields:
        blocks.append(SectionBlock(fields=fields))

    error = status.error_message or (details.job_error if details else "")
    if error and not status.succeeded:
        text = budget.cut("*Error*\n" + _quote(error), SECTION_TEXT_MAX)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))

    tasks_text = _failed_tasks(status, enrichment, budget)
    if tasks_text:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=tasks_text)))

    if details and details.parameters:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_parameters(details.parameters, budget))))

    if enrichment.console_url and len(enrichment.console_url) <= URL_MAX:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=PlainTextObject(text="Open in Vertex AI", emoji=True),
                        url=enrichment.console_url,
                        action_id="open_vertex_console",
                    )
                ]
            )
        )

    context = _context(status, enrichment, budget)
    blocks.append(DividerBlock())
    if budget.truncated:
        context.append(MarkdownTextObject(text=":scissors: Some text was shortened to fit Slack's limits."))
    blocks.append(ContextBlock(elements=context[:CONTEXT_ELEMENTS_MAX]))

    return SlackMessage(
        channel=channel,
        text=fallback,
        blocks=tuple(blocks[:BLOCKS_MAX]),
    )


def _fields(
    status: FinalStatus, enrichment: Enrichment, reference_time: datetime | None, budget: _Budget
) -> list[MarkdownTextObject]:
    details = enrichment.details
    pairs: list[tuple[str, str]] = [("State", escape(status.state))]
    if details:
        duration = details.duration(reference_time)
        if duration is not None:
            approx = "" if details.end_time else " (so far)"
            pairs.append(("Duration", format_duration(duration) + approx))
        if details.pipeline_name:
            pairs.append(("Pipeline", escape(details.pipeline_name)))
        started = details.start_time or details.create_time
        if started:
            pairs.append(("Started", slack_date(started)))
        if details.end_time:
            pairs.append(("Ended", slack_date(details.end_time)))
    project = status.project
    if project:
        pairs.append(("Project", escape(project)))
    if enrichment.region:
        pairs.append(("Region", escape(enrichment.region)))
    if status.error_code is not None and not status.succeeded:
        name = _RPC_CODES.get(status.error_code)
        pairs.append(("Error code", f"{status.error_code} ({name})" if name else str(status.error_code)))
    if details and details.service_account:
        pairs.append(("Service account", escape(details.service_account)))
    return [
        MarkdownTextObject(text=budget.cut(f"*{label}*\n{value}", FIELD_TEXT_MAX))
        for label, value in pairs[:FIELDS_MAX]
    ]


def _bounded_lines(title: str, lines: list[str], hidden: int, budget: _Budget) -> str:
    """``title`` plus as many whole lines as fit one section, then "…and N more"."""
    text = title
    for index, line in enumerate(lines):
        left = len(lines) - index + hidden
        reserve = len(f"\n…and {left} more")
        if len(text) + 1 + len(line) + reserve > SECTION_TEXT_MAX:
            budget.truncated = True
            return f"{text}\n…and {left} more"
        text += "\n" + line
    return f"{text}\n…and {hidden} more" if hidden > 0 else text


def _failed_tasks(status: FinalStatus, enrichment: Enrichment, budget: _Budget) -> str:
    details = enrichment.details
    if details and details.failed_tasks:
        lines = []
        for task in details.failed_tasks[:TASKS_SHOWN]:
            first_line = task.message.strip().splitlines()[0] if task.message.strip() else "no error message"
            message = escape(budget.cut(first_line, TASK_MESSAGE_MAX))
            lines.append(f"• *{escape(budget.cut(task.name, 200))}*: {message}")
        hidden = len(details.failed_tasks) - len(lines)
    elif status.failed_task_names and not status.succeeded:
        # Without Vertex details, the DAG error still names the failed tasks.
        lines = [f"• *{escape(budget.cut(name, 200))}*" for name in status.failed_task_names[:TASKS_SHOWN]]
        hidden = len(status.failed_task_names) - len(lines)
    else:
        return ""
    return _bounded_lines("*Failed tasks*", lines, hidden, budget)


def _parameters(parameters: tuple[tuple[str, str], ...], budget: _Budget) -> str:
    lines = [
        f"`{escape(budget.cut(key, 100))}` = `{escape(budget.cut(value, PARAMETER_VALUE_MAX))}`"
        for key, value in parameters
    ]
    return _bounded_lines("*Runtime parameters*", lines, 0, budget)


def _context(status: FinalStatus, enrichment: Enrichment, budget: _Budget) -> list[MarkdownTextObject]:
    elements: list[MarkdownTextObject] = []
    if status.pipeline_job_resource_name:
        elements.append(
            MarkdownTextObject(text=budget.cut(f"`{escape(status.pipeline_job_resource_name)}`", 500))
        )
    elif status.pipeline_task_name:
        elements.append(
            MarkdownTextObject(text=budget.cut(f"Task `{escape(status.pipeline_task_name)}`", 500))
        )
    details = enrichment.details
    if details and details.labels:
        labels = " · ".join(f"`{escape(k)}: {escape(v)}`" for k, v in details.labels)
        elements.append(MarkdownTextObject(text=budget.cut(f"Labels: {labels}", 1000)))
    if enrichment.note:
        note = budget.cut(f":warning: Pipeline details unavailable: {escape(enrichment.note)}", 500)
        elements.append(MarkdownTextObject(text=note))
    if status.source in _SOURCE_NOTE:
        elements.append(MarkdownTextObject(text=_SOURCE_NOTE[status.source]))
    if not elements:
        elements.append(MarkdownTextObject(text="Vertex AI Pipelines"))
    return elements
