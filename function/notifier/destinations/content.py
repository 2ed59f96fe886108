"""What a notification says, in what order: decided once, for every destination.

A message is read in two seconds: first what happened (one line: pipeline, outcome,
duration), then why (each failed task with its own error and the tail of its traceback),
then where to click (links, always whole), and everything else in one compact line.
Renderers (Slack's Block Kit in ``destinations.slack.render``; Google Chat cards and
thread replies later) turn a ``MessageContent`` into their own format: escaping and the
service's size limits are theirs, the choice and order of content is made here.

Pure: no I/O, no clock. Text here is raw (unescaped); links are ``Link`` values that a
renderer must never cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.model import (
    CANCELLED,
    FAILED,
    FAILED_TASKS_IN_DETAIL,
    JOB_EVENT,
    RUNNING_STATES,
    SUCCEEDED,
    SWEEP,
    Enrichment,
    FailedTask,
    FinalStatus,
    LogExcerpt,
)

ERROR_TEXT_MAX = 300  # characters of prose from an error, links not counted
ERROR_LINES_MAX = 3
LINKS_PER_TEXT_MAX = 3
LINK_LABEL_MAX = 60
ELLIPSIS = "…"

_URL_RE = re.compile(r"https?://[^\s<>\"'`|\\^{}]+")
_URL_TRAILING = ".,;:!?)]}"
# google.rpc.Code names, for the error code.
RPC_CODES = {
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
RUNNING_EMOJI = ":hourglass_flowing_sand:"
_EMOJI = {
    SUCCEEDED: ":tada:",
    FAILED: ":scream:",
    CANCELLED: ":no_entry_sign:",
    **dict.fromkeys(RUNNING_STATES, RUNNING_EMOJI),
}
# Where the notice came from, when it was not the pipeline's own exit handler.
_SOURCE_NOTE = {
    JOB_EVENT: "Reported from Vertex AI's job event: the pipeline's exit handler did not report this run.",
    SWEEP: "Found by the sweep for runs that have not ended.",
}


@dataclass(frozen=True)
class Link:
    """A link to render whole (as a link or a button), never cut."""

    label: str
    url: str


@dataclass(frozen=True)
class Prose:
    """Text with links in it: the text around the links is cut, the links never are."""

    segments: tuple[str | Link, ...] = ()
    cut: bool = False

    def __bool__(self) -> bool:
        return any(isinstance(s, Link) or s.strip() for s in self.segments)

    @property
    def plain(self) -> str:
        """The text with each link's URL in place (what a plain-text renderer shows)."""
        return "".join(s.url if isinstance(s, Link) else s for s in self.segments)


@dataclass(frozen=True)
class TaskCause:
    """One failed task shown in detail: its own error, its log excerpt or why there is none."""

    name: str
    error: Prose
    excerpt: LogExcerpt | None = None
    log_note: str = ""


@dataclass(frozen=True)
class MessageContent:
    """Everything one notification says, in reading order."""

    state: str
    emoji: str
    title: str  # the pipeline's name (or the run's, when the pipeline is unknown)
    outcome: str  # "failed", "succeeded", "was cancelled", "ended in state PAUSED"
    duration: str = ""  # "26m 50s", or "" when unknown
    duration_so_far: bool = False  # Vertex has not recorded an end yet
    mention: str = ""  # trusted configuration; failures only
    causes: tuple[TaskCause, ...] = ()
    more_tasks: tuple[str, ...] = ()  # failed tasks beyond FAILED_TASKS_IN_DETAIL, named only
    error: Prose = Prose()  # the run's own error, when no failed task explains it
    links: tuple[Link, ...] = ()
    started: datetime | None = None
    facts: tuple[tuple[str, str], ...] = ()  # (label, value) for the context line, after the start
    labels: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # why something is missing (Vertex AI unavailable, …)
    source_note: str = ""  # where the notice came from, when not from the exit handler


def exit_handler_line(status: FinalStatus, quote: Callable[[str], str]) -> str:
    """The one line users know from the original exit handler, with Slack's emoji codes.

    ``quote`` makes the untrusted parts (the job id, the state) safe for the service's text
    format; each renderer passes its own and turns the emoji codes into what it shows.
    """
    job = f"*{quote(status.job_id)}*"
    if status.state == SUCCEEDED:
        return f":tada: Pipeline job {job} completed successfully."
    if status.state == FAILED:
        return f":scream: Pipeline job {job} failed."
    if status.state == CANCELLED:
        return f":no_entry_sign: Pipeline job {job} was cancelled."
    if status.state in RUNNING_STATES:
        return f"{RUNNING_EMOJI} Pipeline job {job} is still running ({quote(status.state.lower())})."
    return f":grey_question: Pipeline job {job} ended in state *{quote(status.state)}*."


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


def error_code_text(code: int) -> str:
    """``9 (FAILED_PRECONDITION)``."""
    name = RPC_CODES.get(code)
    return f"{code} ({name})" if name else str(code)


def shorten(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` - 1 characters and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _link_label(url: str) -> str:
    label = re.sub(r"^https?://", "", url).split("?", 1)[0].split(";", 1)[0].rstrip("/")
    return shorten(label, LINK_LABEL_MAX)


def _split_links(text: str) -> list[str | Link]:
    segments: list[str | Link] = []
    position = 0
    for match in _URL_RE.finditer(text):
        url = match[0].rstrip(_URL_TRAILING)
        end = match.start() + len(url)
        segments.append(text[position : match.start()])
        segments.append(Link(_link_label(url), url))
        position = end
    segments.append(text[position:])
    return [s for s in segments if s]


def prose(text: str, max_chars: int = ERROR_TEXT_MAX, max_lines: int = ERROR_LINES_MAX) -> Prose:
    """The first lines of ``text``, cut to ``max_chars`` of prose; its links kept whole."""
    lines = []
    for line in text.strip().splitlines():
        if line.strip().startswith("Traceback (most recent call last)"):
            break  # prose ends where a traceback starts: log excerpts show those whole
        if line.strip():
            lines.append(line.strip())
    cut = len(lines) > max_lines
    budget = max_chars
    out: list[str | Link] = []
    links = 0
    for number, line in enumerate(lines[:max_lines]):
        if number:
            out.append("\n")
        for segment in _split_links(line):
            if isinstance(segment, Link):
                if links < LINKS_PER_TEXT_MAX:
                    out.append(segment)
                    links += 1
                else:
                    cut = True
                continue
            if budget <= 0:
                cut = True
                continue
            if len(segment) > budget:
                head = segment[:budget].rsplit(" ", 1)[0] if " " in segment[:budget] else segment[:budget]
                segment = head.rstrip() + ELLIPSIS + " "
                cut = True
            budget -= len(segment)
            out.append(segment)
    if cut and out and isinstance(out[-1], str) and not out[-1].rstrip().endswith(ELLIPSIS):
        out[-1] = out[-1].rstrip() + " " + ELLIPSIS
    return Prose(tuple(out), cut)


def _title(status: FinalStatus, enrichment: Enrichment) -> str:
    details = enrichment.details
    if details:
        return details.pipeline_name or details.display_name or status.job_id
    return status.job_id


def _outcome(status: FinalStatus) -> str:
    if status.state == SUCCEEDED:
        return "succeeded"
    if status.state == FAILED:
        return "failed"
    if status.state == CANCELLED:
        return "was cancelled"
    if status.state in RUNNING_STATES:
        return f"is still running ({status.state.lower()})"
    return f"ended in state {status.state}"


def _cause(task: FailedTask) -> TaskCause:
    return TaskCause(
        name=task.name,
        error=prose(task.message) if task.message.strip() else Prose(("no error message",)),
        excerpt=task.excerpt,
        log_note=task.log_note,
    )


def _facts(status: FinalStatus, enrichment: Enrichment, title: str) -> list[tuple[str, str]]:
    details = enrichment.details
    facts: list[tuple[str, str]] = []
    if status.job_id and status.job_id != title:
        facts.append(("Run", status.job_id))
    if status.project:
        facts.append(("Project", status.project))
    if enrichment.region:
        facts.append(("Region", enrichment.region))
    if status.error_code is not None and not status.succeeded:
        facts.append(("Error code", error_code_text(status.error_code)))
    if details and details.service_account:
        facts.append(("Service account", details.service_account))
    return facts


def build(
    status: FinalStatus, enrichment: Enrichment, *, mention: str = "", reference_time: datetime | None = None
) -> MessageContent:
    """Decide what the notification for ``status`` says."""
    details = enrichment.details
    title = _title(status, enrichment)
    duration = details.duration(reference_time) if details else None
    failed = not status.succeeded

    causes: tuple[TaskCause, ...] = ()
    more: tuple[str, ...] = ()
    error = Prose()
    if failed and details and details.failed_tasks:
        causes = tuple(_cause(task) for task in details.failed_tasks[:FAILED_TASKS_IN_DETAIL])
        more = tuple(task.name for task in details.failed_tasks[FAILED_TASKS_IN_DETAIL:])
    elif failed:
        # Without failed tasks, the run's own error is the cause (the DAG error names the tasks).
        error = prose(status.error_message or (details.job_error if details else ""))

    links: list[Link] = []
    if enrichment.console_url:
        links.append(Link("Open in Vertex AI", enrichment.console_url))
    if failed and details:
        links.extend(
            Link(f"View logs: {task.name}", task.logs_url)
            for task in details.failed_tasks[:FAILED_TASKS_IN_DETAIL]
            if task.logs_url
        )

    notes = (f"Pipeline details unavailable: {enrichment.note}",) if enrichment.note else ()
    return MessageContent(
        state=status.state,
        emoji=_EMOJI.get(status.state, ":grey_question:"),
        title=title,
        outcome=_outcome(status),
        duration=format_duration(duration) if duration is not None else "",
        duration_so_far=bool(details and not details.end_time),
        mention=mention if status.state == FAILED else "",
        causes=causes,
        more_tasks=more,
        error=error,
        links=tuple(links),
        started=(details.start_time or details.create_time) if details else None,
        facts=tuple(_facts(status, enrichment, title)),
        labels=details.labels if details else (),
        parameters=details.parameters if details else (),
        notes=notes,
        source_note=_SOURCE_NOTE.get(status.source, ""),
    )
