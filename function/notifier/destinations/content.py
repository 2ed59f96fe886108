"""What a notification says, in what order: decided once, for every destination.

A message is read in two seconds: first what happened (one line: pipeline, outcome,
duration), then why (each failed task with its own error and the tail of its traceback),
then what the run produced (the model's blessing and push, its metrics: ``results``),
then where to click (links, always whole), and everything else in one compact line.
Renderers (Slack's Block Kit in ``destinations.slack.render``; Google Chat cards and
thread replies later) turn a ``MessageContent`` into their own format: escaping and the
service's size limits are theirs, the choice and order of content is made here.

Pure: no I/O, no clock. Text here is raw (unescaped); links are ``Link`` values that a
renderer must never cut (``fit`` cuts the text around them).

Every string a ``MessageContent`` carries has been through ``notifier.scrub`` (token
shapes out, values of secret-named parameters and labels as ``••••``) and is bounded
(``TEXT_KEEP`` of an error, ``NAME_KEEP`` of a name, ``VALUE_KEEP`` of a value): renderers
read only this, never the status or the enrichment, so no destination can show a secret
or spend time in proportion to a hostile text's length. A link's label is chosen here:
the host of a link found in text, a fixed wording for the links the notifier builds;
payload text never becomes a label. A notice Vertex AI did not confirm
(``Enrichment.unverified``) says so first and mentions no one.

A schedule warning (``FinalStatus.schedule``: a missed slot, a failed run creation, an
ended schedule) is no run's story: ``schedule_content`` decides what it says, as one
line (``ScheduleContent.lead``, pieces a renderer styles as text, names and code), the
failed creation's error, a link to the schedule and the same compact context line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from notifier.model import (
    CANCELLED,
    FAILED,
    FAILED_TASKS_IN_DETAIL,
    JOB_EVENT,
    MISSED,
    RUNNING_STATES,
    SCHEDULE_ENDED,
    SCHEDULE_FAILED,
    SUCCEEDED,
    SWEEP,
    Comparison,
    Enrichment,
    FailedTask,
    FinalStatus,
    LogExcerpt,
    ModelResults,
    ScheduleEvent,
    failed_task_names,
    pipeline_name,
)
from notifier.scrub import MASK, is_secret_name, scrub_prefix

ERROR_TEXT_MAX = 300  # characters of prose from an error, links not counted
ERROR_LINES_MAX = 3
LINKS_PER_TEXT_MAX = 3
LINK_LABEL_MAX = 60
LINK_URL_MAX = 2000  # a longer URL in text stays text: no renderer could keep it whole
ELLIPSIS = "…"
# What content keeps of each untrusted string (scrubbed first, see notifier.scrub): more
# than any renderer shows, so cutting here never shows less, and a 512 KB error costs
# no more than a short one.
TEXT_KEEP = 4096  # an error message
NAME_KEEP = 256  # a pipeline, run, task, parameter or label name
VALUE_KEEP = 1024  # a parameter, label or fact value
EXCERPT_KEEP = 4096  # a log excerpt, lines joined
EXCERPT_LINES_KEEP = 40
MORE_TASKS_KEEP = 50  # failed tasks named beyond those shown in detail
PAIRS_KEEP = 100  # parameters, and labels
UNVERIFIED_KEEP = 200  # of the reason a notice is unverified
OPEN_IN_VERTEX = "Open in Vertex AI"
OPEN_SCHEDULE = "Open schedule in Vertex AI"
VIEW_LOGS = "View logs"
CRON_KEEP = 100  # of a schedule's cron text

# Linear: a literal, then one class run with nothing after it.
URL_RE = re.compile(r"https?://[^\s<>\"'`|\\^{}]+")
_URL_TRAILING = ".,;:!?)]}"
_HOST_RE = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\]")
# "module.Name: message" or a bare "Name" ending in Error/Exception/Exit/Interrupt/Warning, unindented.
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b")
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
# The emoji codes above as the characters services without Slack's codes show (Chat, Teams).
EMOJI_CHARACTERS = {
    ":tada:": "\U0001f389",
    ":scream:": "\U0001f631",
    ":no_entry_sign:": "\U0001f6ab",
    ":hourglass_flowing_sand:": "\u23f3",
    ":grey_question:": "\u2754",
    ":warning:": "\u26a0\ufe0f",
    ":white_check_mark:": "\u2705",
    ":package:": "\U0001f4e6",
    ":turtle:": "\U0001f422",
    ":alarm_clock:": "\u23f0",
    ":checkered_flag:": "\U0001f3c1",
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
    """One failed task shown in detail: its own error, its log excerpt or why there is none.

    ``logs`` is the link to its log in the Logs Explorer (labelled ``View logs``: the
    task's name is shown beside it, never inside it).
    """

    name: str
    error: Prose
    excerpt: LogExcerpt | None = None
    log_note: str = ""
    logs: Link | None = None


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
    more_count: int = 0  # how many there are (more_tasks names the first MORE_TASKS_KEEP)
    error: Prose = Prose()  # the run's own error, when no failed task explains it
    links: tuple[Link, ...] = ()
    started: datetime | None = None
    facts: tuple[tuple[str, str], ...] = ()  # (label, value) for the context line, after the start
    labels: tuple[tuple[str, str], ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # why something is missing (Vertex AI unavailable, …)
    source_note: str = ""  # where the notice came from, when not from the exit handler
    job_id: str = ""  # the run's short id, as the exit handler's wording names it
    pipeline: str = ""  # the name the pipeline keeps from run to run (model.pipeline_name)
    run_error: str = ""  # the status's own error text (notification previews, SMS)
    failed_task_names: tuple[str, ...] = ()  # as the status's DAG error lists them
    unverified: str = ""  # why Vertex AI did not confirm the notice; "" when it did
    comparison: Comparison | None = None  # slower (running: later) than usual, from run history
    # What the run produced (``results``): one line, whether it is a warning, the metrics.
    results: str = ""  # "Model blessed and pushed (version 1796276472)", or ""
    results_warning: bool = False  # the model was NOT blessed: worth reading even on success
    results_emoji: str = ""  # ":warning:" (not blessed), ":white_check_mark:" (blessed), ":package:"
    metrics: tuple[tuple[str, str], ...] = ()  # (name, "0.9312" or "0.9312, +0.004")
    metrics_more: int = 0  # metrics the run logged beyond those shown
    metrics_task: str = ""  # the task that logged them

    @property
    def unverified_line(self) -> str:
        """The first thing an unverified message says, or ''."""
        if not self.unverified:
            return ""
        return f"Unverified: this status could not be confirmed with Vertex AI ({self.unverified})."


TIMES = "\u00d7"  # the multiplication sign
SLOW_EMOJI = ":turtle:"
LATE_EMOJI = ":alarm_clock:"


def short_duration(delta: timedelta) -> str:
    """``2h 10m``, ``42m``, ``45s`` or ``3d 04h``: a duration to compare at a glance."""
    seconds = max(0, round(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def comparison_line(comparison: Comparison, times: str = TIMES) -> str:
    """The one line run history adds (raw text): "Took 2h 10m, 3.1 times its usual 42m (median of the
    last 20 runs)." for a slow run, "Running for …, … (p95 of …)." for a late one. ``times``:
    the multiplication sign the service can show (SMS: ``x``)."""
    took, usual = short_duration(comparison.took), short_duration(comparison.usual)
    how = (
        f"{comparison.ratio:.1f}{times} its usual {usual}"
        if comparison.ratio
        else f"against its usual {usual}"
    )
    runs = f"{comparison.statistic} of the last {comparison.runs} runs"
    return f"{'Running for' if comparison.running else 'Took'} {took}, {how} ({runs})."


def comparison_emoji(comparison: Comparison) -> str:
    """The emoji code before the comparison line."""
    return LATE_EMOJI if comparison.running else SLOW_EMOJI


def ended_line(content: MessageContent) -> str:
    """The reply in the thread of a "still running" warning once that run ends (raw text, no emoji):
    "churn-training has ended: it succeeded after 6h 12m 05s." """
    after = f" after {content.duration}" if content.duration else ""
    return f"{content.title} has ended: it {content.outcome}{after}."


@dataclass(frozen=True)
class Cause:
    """Why a run failed, in one line (SMS texts and pages): the first failed task and what it
    died of, else the tasks the run's error names, else the run's error."""

    task: str = ""  # the first failed task shown in detail
    reason: str = ""  # its traceback's exception line, else the first line of its error; or the run's
    more: int = 0  # failed tasks beyond ``task``
    listed: tuple[str, ...] = ()  # task names from the run's error, when no task is shown in detail


def first_line(text: str) -> str:
    """The first line of ``text`` with something on it, stripped."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def exception_line(lines: tuple[str, ...]) -> str:
    """A traceback's exception line (``KeyError: 'churned'``); frameworks may log lines after it."""
    for line in reversed(lines):
        if _EXCEPTION.match(line):
            return line.strip()
    return lines[-1].strip() if lines else ""


def first_cause(content: MessageContent) -> Cause:
    """Why the run failed, in one line's worth (raw text: each destination quotes it its own way)."""
    if content.causes:
        cause = content.causes[0]
        excerpt = cause.excerpt
        reason = exception_line(excerpt.lines) if excerpt and excerpt.kind == "traceback" else ""
        return Cause(
            task=cause.name,
            reason=reason or first_line(cause.error.plain),
            more=len(content.causes) - 1 + content.more_count,
        )
    if content.failed_task_names:
        return Cause(listed=content.failed_task_names)
    return Cause(reason=first_line(content.error.plain) if content.error else "")


def exit_handler_line(content: MessageContent, quote: Callable[[str], str]) -> str:
    """The one line users know from the original exit handler, with Slack's emoji codes.

    ``quote`` makes the untrusted parts (the job id, the state) safe for the service's text
    format; each renderer passes its own and turns the emoji codes into what it shows.
    """
    job = f"*{quote(content.job_id)}*"
    if content.state == SUCCEEDED:
        return f":tada: Pipeline job {job} completed successfully."
    if content.state == FAILED:
        return f":scream: Pipeline job {job} failed."
    if content.state == CANCELLED:
        return f":no_entry_sign: Pipeline job {job} was cancelled."
    if content.state in RUNNING_STATES:
        return f"{RUNNING_EMOJI} Pipeline job {job} is still running ({quote(content.state.lower())})."
    return f":grey_question: Pipeline job {job} ended in state *{quote(content.state)}*."


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


def host_label(url: str) -> str:
    """A link's label: the host it leads to (``evil.example``), never other text from the URL.

    The user part is dropped (``https://google.com@evil.example/`` is labelled
    ``evil.example``); a host in another script is shown as the ASCII form a browser
    would resolve (``xn--…``), so it cannot pass for a familiar name; anything that is not
    a plain host name or IP address is labelled ``link``.
    """
    rest = url.partition("://")[2]
    end = min((i for i in (rest.find(c) for c in "/?#\\") if i >= 0), default=len(rest))
    authority = rest[:end].rpartition("@")[2]
    host = authority.partition("]")[0] + "]" if authority.startswith("[") else authority.partition(":")[0]
    host = host.lower().rstrip(".")
    if len(host) > 253:
        return "link"
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return "link"
    if not _HOST_RE.fullmatch(host):
        return "link"
    return shorten(host, LINK_LABEL_MAX)


def _split_links(text: str) -> list[str | Link]:
    segments: list[str | Link] = []
    position = 0
    for match in URL_RE.finditer(text):
        url = match[0].rstrip(_URL_TRAILING)
        if len(url) > LINK_URL_MAX:
            continue  # stays text: cut like text, never shown as half a link
        segments.append(text[position : match.start()])
        segments.append(Link(host_label(url), url))
        position = match.start() + len(url)
    segments.append(text[position:])
    return [s for s in segments if s]


def fit(
    parts: Iterable[str | Link],
    limit: int,
    text: Callable[[str], str],
    link: Callable[[Link], str],
) -> tuple[str, bool]:
    """``parts`` rendered in at most ``limit`` characters, and whether anything was cut.

    ``text`` escapes a piece of text and ``link`` renders a whole link, in the service's
    format; ``text`` must escape character by character (the escape of a prefix is a
    prefix of the escape: never half an entity). Links are kept whole, in order, as long
    as they fit; text is cut, with an ellipsis where the first cut is; a link that does
    not fit is left out, never cut.
    """
    parts = [p for p in parts if p]
    rendered: list[str] = []
    used = 0
    for part in parts:
        if not isinstance(part, Link) and len(part) > limit:
            break  # escaping never shortens: this cannot fit
        piece = link(part) if isinstance(part, Link) else text(part)
        used += len(piece)
        if used > limit:
            break
        rendered.append(piece)
    else:
        return "".join(rendered), False
    room = limit - len(ELLIPSIS)
    kept: dict[int, str] = {}
    used = 0
    for index, part in enumerate(parts):
        if isinstance(part, Link) and used + len(piece := link(part)) <= room:
            kept[index] = piece
            used += len(piece)
    budget = room - used
    out: list[str] = []
    cut = False
    for index, part in enumerate(parts):
        if isinstance(part, Link):
            out.append(kept.get(index, ""))
        elif not cut:
            head, taken = _escaped_prefix(part, budget, text)
            budget -= len(head)
            out.append(head)
            if taken < len(part):
                cut = True
                out.append(ELLIPSIS)
    return "".join(out), True


def _escaped_prefix(raw: str, budget: int, text: Callable[[str], str]) -> tuple[str, int]:
    """The escape of the longest prefix of ``raw`` that fits ``budget``, and that prefix's length."""
    if budget <= 0:
        return "", 0
    head = raw[:budget]  # escaping never shortens: no longer prefix can fit
    if len(escaped := text(head)) <= budget:
        return escaped, len(head)
    low, high = 0, len(head)
    while low < high:
        middle = (low + high + 1) // 2
        if len(text(raw[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return text(raw[:low]), low


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


def clean(text: str, keep: int) -> str:
    """``text`` scrubbed (``notifier.scrub``) and cut to ``keep`` characters, with an ellipsis if cut."""
    kept, cut = scrub_prefix(text, keep)
    return kept + ELLIPSIS if cut else kept


def _pairs(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Names scrubbed; values ``••••`` when the name looks secret, else scrubbed by shape."""
    return tuple(
        (clean(name, NAME_KEEP), MASK if is_secret_name(name) else clean(value, VALUE_KEEP))
        for name, value in pairs[:PAIRS_KEEP]
    )


def _excerpt(excerpt: LogExcerpt | None) -> LogExcerpt | None:
    if excerpt is None:
        return None
    text, cut = scrub_prefix("\n".join(excerpt.lines[:EXCERPT_LINES_KEEP]), EXCERPT_KEEP)
    lines = (text + ELLIPSIS if cut else text).split("\n")[:EXCERPT_LINES_KEEP]
    return replace(excerpt, lines=tuple(lines))


def _failed_task_names(error: str) -> tuple[str, ...]:
    """Task names quoted in Vertex's DAG error, shortened and capped for a message."""
    return tuple(shorten(name, NAME_KEEP) for name in failed_task_names(error))[:MORE_TASKS_KEEP]


def _title(status: FinalStatus, enrichment: Enrichment) -> str:
    details = enrichment.details
    if details:
        return details.pipeline_name or details.display_name or status.job_id
    return status.job_id


def _outcome(state: str) -> str:
    if state == SUCCEEDED:
        return "succeeded"
    if state == FAILED:
        return "failed"
    if state == CANCELLED:
        return "was cancelled"
    if state in RUNNING_STATES:
        return f"is still running ({state.lower()})"
    return f"ended in state {state}"


def _cause(task: FailedTask) -> TaskCause:
    message = clean(task.message, TEXT_KEEP)
    logs = task.logs_url if len(task.logs_url) <= LINK_URL_MAX else ""
    return TaskCause(
        name=clean(task.name, NAME_KEEP),
        error=prose(message) if message.strip() else Prose(("no error message",)),
        excerpt=_excerpt(task.excerpt),
        log_note=clean(task.log_note, VALUE_KEEP),
        logs=Link(VIEW_LOGS, logs) if logs else None,
    )


def _facts(status: FinalStatus, enrichment: Enrichment, job_id: str, title: str) -> list[tuple[str, str]]:
    details = enrichment.details
    facts: list[tuple[str, str]] = []
    if job_id and job_id != title:
        facts.append(("Run", job_id))
    if status.project:
        facts.append(("Project", status.project))
    if enrichment.region:
        facts.append(("Region", enrichment.region))
    if status.error_code is not None and not status.succeeded:
        facts.append(("Error code", error_code_text(status.error_code)))
    if details and details.service_account:
        facts.append(("Service account", details.service_account))
    return [(label, clean(value, VALUE_KEEP)) for label, value in facts]


def metric_text(value: float) -> str:
    """A metric as a reader wants it: whole numbers whole, the rest to 4 significant digits."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def change_text(value: float, previous: float) -> str:
    """The change from the previous successful run's value (``+0.004``), or '' when either is not finite."""
    if not (math.isfinite(value) and math.isfinite(previous)):
        return ""
    difference = value - previous
    return "±0" if difference == 0 else f"{difference:+.3g}"


def results_line(results: ModelResults) -> str:
    """One line on the model: blessed or not, pushed or not (and its version); '' when unknown."""
    version = f" (version {results.pushed_version})" if results.pushed_version else ""
    if results.not_blessed:
        who = "" if results.blessed is False else " by the InfraValidator"
        return f"Model NOT blessed{who}: " + (
            f"pushed all the same{version}" if results.pushed else "pushed nothing"
        )
    if results.blessed:
        if results.pushed:
            return f"Model blessed and pushed{version}"
        return "Model blessed, not pushed" if results.pushed is False else "Model blessed"
    if results.pushed is not None:
        return f"Model pushed{version}" if results.pushed else "Model not pushed"
    return ""


def _results_emoji(results: ModelResults) -> str:
    if results.not_blessed:
        return ":warning:"
    return ":white_check_mark:" if results.blessed else ":package:"


def _metrics(results: ModelResults, previous: Mapping[str, float] | None) -> tuple[tuple[str, str], ...]:
    shown = []
    for metric in results.metrics:
        text = metric_text(metric.value)
        before = (previous or {}).get(metric.name)
        change = change_text(metric.value, before) if isinstance(before, (int, float)) else ""
        shown.append((clean(metric.name, NAME_KEEP), f"{text}, {change}" if change else text))
    return tuple(shown)


def build(
    status: FinalStatus,
    enrichment: Enrichment,
    *,
    mention: str = "",
    reference_time: datetime | None = None,
    previous_metrics: Mapping[str, float] | None = None,
) -> MessageContent:
    """Decide what the notification for ``status`` says: scrubbed, bounded, links labelled by us.

    ``previous_metrics``: the metrics of the pipeline's previous successful run, by name,
    when run history knows them; each metric shown then carries its change ("0.912, +0.004").
    """
    details = enrichment.details
    state = clean(status.state, NAME_KEEP)
    job_id = clean(status.job_id, NAME_KEEP)
    title = clean(_title(status, enrichment), NAME_KEEP)
    duration = details.duration(reference_time) if details else None
    failed = not status.succeeded
    run_error = clean(status.error_message, TEXT_KEEP)
    unverified = clean(enrichment.unverified, UNVERIFIED_KEEP).rstrip(". ")

    causes: tuple[TaskCause, ...] = ()
    more: tuple[str, ...] = ()
    more_count = 0
    error = Prose()
    if failed and details and details.failed_tasks:
        causes = tuple(_cause(task) for task in details.failed_tasks[:FAILED_TASKS_IN_DETAIL])
        rest = details.failed_tasks[FAILED_TASKS_IN_DETAIL:]
        more = tuple(clean(task.name, NAME_KEEP) for task in rest[:MORE_TASKS_KEEP])
        more_count = len(rest)
    elif failed:
        # Without failed tasks, the run's own error is the cause (the DAG error names the tasks).
        error = prose(run_error or clean(details.job_error if details else "", TEXT_KEEP))

    console = enrichment.console_url
    links = (Link(OPEN_IN_VERTEX, console),) if console and len(console) <= LINK_URL_MAX else ()
    notes = (
        (f"Pipeline details unavailable: {clean(enrichment.note, VALUE_KEEP)}",) if enrichment.note else ()
    )
    results = details.results if details else ModelResults()
    facts = _facts(status, enrichment, job_id, title)
    if results.pushed and results.pushed_destination:
        facts.append(("Pushed to", clean(results.pushed_destination, VALUE_KEEP)))
    return MessageContent(
        state=state,
        emoji=_EMOJI.get(status.state, ":grey_question:"),
        title=title,
        outcome=_outcome(state),
        duration=format_duration(duration) if duration is not None else "",
        duration_so_far=bool(details and not details.end_time),
        mention=mention if status.state == FAILED and not unverified else "",
        causes=causes,
        more_tasks=more,
        more_count=more_count,
        error=error,
        links=links,
        started=(details.start_time or details.create_time) if details else None,
        facts=tuple(facts),
        labels=_pairs(details.labels) if details else (),
        parameters=_pairs(details.parameters) if details else (),
        notes=notes,
        source_note=_SOURCE_NOTE.get(status.source, ""),
        job_id=job_id,
        pipeline=clean(pipeline_name(status, details), NAME_KEEP),
        run_error=run_error,
        failed_task_names=_failed_task_names(run_error) if failed else (),
        unverified=unverified,
        comparison=None if unverified else enrichment.comparison,
        results=results_line(results),
        results_warning=results.not_blessed,
        results_emoji=_results_emoji(results),
        metrics=_metrics(results, previous_metrics),
        metrics_more=max(0, results.metrics_total - len(results.metrics)),
        metrics_task=clean(results.metrics_task, NAME_KEEP),
    )


# --- schedule warnings ----------------------------------------------------------------------

SCHEDULE_EMOJI = {MISSED: ":alarm_clock:", SCHEDULE_FAILED: ":warning:", SCHEDULE_ENDED: ":checkered_flag:"}
SCHEDULE_NOTE = "Found by the sweep's check of Vertex AI Schedules."
NAME = "name"
CODE = "code"


@dataclass(frozen=True)
class Piece:
    """A piece of a line: text, a ``name`` (bold where the service can) or ``code`` (monospace)."""

    text: str
    style: str = ""


@dataclass(frozen=True)
class ScheduleContent:
    """Everything one schedule warning says, in reading order.

    ``lead`` is the one line that tells it (which pipeline or schedule, what happened,
    when); ``error`` a failed creation's reason as Vertex AI gave it; ``links`` the
    schedule's console page (our label). Every piece is scrubbed and bounded.
    """

    kind: str
    emoji: str
    lead: tuple[Piece, ...]
    error: Prose = Prose()
    links: tuple[Link, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    source_note: str = SCHEDULE_NOTE

    @property
    def plain(self) -> str:
        """The lead as plain text."""
        return "".join(piece.text for piece in self.lead)


def styled(
    pieces: Iterable[Piece],
    text: Callable[[str], str],
    name: Callable[[str], str],
    code: Callable[[str], str],
) -> str:
    """The pieces in a service's format: each renderer passes its escaping and styles."""
    styles = {NAME: name, CODE: code}
    return "".join(styles.get(piece.style, text)(piece.text) for piece in pieces)


def format_ago(delta: timedelta) -> str:
    """``just now``, ``45m ago``, ``2h ago``, ``2h 15m ago``, ``3d ago`` (a negative delta: ``just now``)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h ago" if hours else f"{days}d ago"
    if hours:
        return f"{hours}h {minutes:02d}m ago" if minutes else f"{hours}h ago"
    return f"{minutes}m ago"


def _utc(moment: datetime, reference: datetime | None) -> str:
    """``10:00 UTC`` on the reference's own day, else ``2026-11-26 10:00 UTC``."""
    utc = moment.astimezone(timezone.utc)
    same_day = reference is not None and reference.astimezone(timezone.utc).date() == utc.date()
    return utc.strftime("%H:%M UTC" if same_day else "%Y-%m-%d %H:%M UTC")


def _due(event: ScheduleEvent, reference: datetime | None) -> list[Piece]:
    """``due 10:00 UTC (cron `0 10 * * *`), 2h ago``."""
    if event.slot is None:
        return []
    pieces = [Piece(f"due {_utc(event.slot, reference)}")]
    cron = clean(event.cron, CRON_KEEP).strip()
    if cron:
        pieces += [Piece(" (cron "), Piece(cron, CODE), Piece(")")]
    if reference is not None:
        pieces.append(Piece(f", {format_ago(reference - event.slot)}"))
    return pieces


def _ended(event: ScheduleEvent, reference: datetime | None) -> str:
    if event.max_run_count and event.run_count >= event.max_run_count:
        runs = "run" if event.max_run_count == 1 else "runs"
        return f" ended: it reached its {event.max_run_count} {runs}"
    if event.end_time is not None and (reference is None or event.end_time <= reference):
        return f" ended: its end time, {_utc(event.end_time, None)}, passed"
    return " ended: Vertex AI marked it completed"


def schedule_content(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> ScheduleContent:
    """Decide what the schedule warning ``status`` says: scrubbed, bounded, links labelled by us."""
    event = status.schedule
    if event is None:
        raise ValueError("not a schedule warning")
    pipeline = clean(event.pipeline, NAME_KEEP)
    schedule = clean(event.display_name or event.name.schedule, NAME_KEEP)
    facts: list[tuple[str, str]] = []
    error = Prose()
    if status.state == SCHEDULE_ENDED:
        lead = [Piece("Schedule "), Piece(schedule, NAME), Piece(_ended(event, reference_time))]
        facts.append(("Pipeline", pipeline))
    else:
        due = _due(event, reference_time)
        what = " did not start" if status.state == MISSED else " could not be created"
        lead = [Piece("Scheduled run of "), Piece(pipeline, NAME), Piece(what + (": " if due else "")), *due]
        facts.append(("Schedule", schedule))
        if status.state == SCHEDULE_FAILED:
            error = (
                prose(clean(event.error, TEXT_KEEP)) if event.error.strip() else Prose(("no reason given",))
            )
    facts += [("Project", status.project), ("Region", enrichment.region)]
    console = enrichment.console_url
    details = enrichment.details
    return ScheduleContent(
        kind=status.state,
        emoji=SCHEDULE_EMOJI.get(status.state, ":grey_question:"),
        lead=tuple(lead),
        error=error,
        links=(Link(OPEN_SCHEDULE, console),) if console and len(console) <= LINK_URL_MAX else (),
        facts=tuple((label, clean(value, VALUE_KEEP)) for label, value in facts if value),
        labels=_pairs(details.labels) if details else (),
    )
