"""Why a task failed, from its own log: the traceback tail and a Logs Explorer link.

Vertex's task error is usually generic ("The replica workerpool0-0 exited with a non-zero
status of 1 ..."); the traceback is in Cloud Logging. Each failed leaf task ran a
CustomJob, whose stdout and stderr are ``ml_job`` log entries labelled with the job's
numeric id, one entry per line. For the first ``FAILED_TASKS_IN_DETAIL`` failed tasks this
reads, in parallel and within the enrichment budget:

1. the newest ``severity>=ERROR`` entries of that job (stderr is ERROR on Vertex), a small
   page at a time, until the last ``Traceback (most recent call last):`` is found;
2. when there are none, the last lines of any severity.

Excerpts are scrubbed as they are made (``notifier.scrub``): private-key blocks over all
the lines read, before any are chosen (a key printed over many lines goes whole), then
token shapes and secret assignments in the lines kept; a line cut for length is scrubbed
before the cut, so a token that starts before it is recognised whole.

Every read is bounded by the task's own start and end time: without a ``timestamp``
restriction the client library silently adds "the last 24 hours". A 403, a timeout or
an empty log leaves a short note on the task and the rest of the message intact.

The client is imported here, lazily: only a failure with tasks to read pays for it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import quote

from notifier.bounded_json import clean_text
from notifier.enrich.calls import ClientCache, describe_failure, local_credentials
from notifier.lazy_imports import import_from
from notifier.model import FAILED_TASKS_IN_DETAIL, Enrichment, FailedTask, FinalStatus, JobDetails, LogExcerpt
from notifier.names import PROJECT_ID, PROJECT_NUMBER, REGION
from notifier.scrub import scrub, scrub_lines, without_private_keys

log = logging.getLogger(__name__)

SERVICE = "Cloud Logging"
DEFAULT_ENDPOINT = "https://logging.googleapis.com"
LOGS_EXPLORER_URL = (
    "https://console.cloud.google.com/logs/query;query={query};timeRange={start}%2F{end}?project={project}"
)
READ_SCOPE = "https://www.googleapis.com/auth/logging.read"

MAX_LINES = 15  # of an excerpt
MAX_CHARS = 1500  # of an excerpt, newlines included
LINE_MAX = 500  # one pathological line is cut (with an ellipsis); the rest are whole
CUT_MARGIN = 128  # a cut line is scrubbed this far beyond the cut (longer than any fixed-size token)
PAGE_SIZE = 50  # entries per request, the API's own default
MAX_ERROR_ENTRIES = 200  # newest ERROR entries scanned for a traceback (four pages)
TAIL_ENTRIES = MAX_LINES  # the fallback: one small page of the newest lines of any severity
ENTRY_CHARS_MAX = 20_000  # of one entry's text, the end is kept (that is where errors are)
TIME_MARGIN = timedelta(minutes=1)  # around the task's own start and end

TRACEBACK_HEADER = "Traceback (most recent call last):"
_CUSTOM_JOB_RE = re.compile(
    rf"^projects/(?P<project>{PROJECT_ID}|{PROJECT_NUMBER})/locations/{REGION}/customJobs/(?P<job>[0-9]{{1,30}})$"
)
# Bounded runs of disjoint classes: linear on any line.
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]{0,64}[ -/]{0,16}[@-~]|\x1b[@-_]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A line that starts a new log record rather than continuing an exception message.
_RECORD_START_RE = re.compile(
    r"^(?:\d{4}-\d\d-\d\d|[IWEF]\d{4} |\[|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|"
    r"During handling of the above exception|The above exception was the direct cause)"
)
_EXCEPTION_LINES_MAX = 6


# --- what to read, and the link -------------------------------------------------------


def _rfc3339(moment: datetime, *, up: bool) -> str:
    utc = moment.astimezone(timezone.utc)
    if up and utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return utc.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_range(task: FailedTask, now: datetime) -> tuple[str, str]:
    """The task's own run, widened by a minute each side, as RFC 3339 UTC strings."""
    end = (task.end_time or now) + TIME_MARGIN
    start = (task.start_time or task.end_time or now) - TIME_MARGIN
    # A day at most: a task whose start is unknown must not scan the whole retention.
    start = max(start, end - timedelta(days=1) - 2 * TIME_MARGIN)
    return _rfc3339(start, up=False), _rfc3339(end, up=True)


def job_of(task: FailedTask) -> tuple[str, str] | None:
    """(project, numeric job id) of the task's CustomJob, or None when it names none."""
    match = _CUSTOM_JOB_RE.match(task.job)
    return (match["project"], match["job"]) if match else None


def explorer_query(job_id: str) -> str:
    """The Logging query for one CustomJob's log, as the Logs Explorer shows it."""
    return f'resource.type="ml_job"\nresource.labels.job_id="{job_id}"'


def logs_filter(job_id: str, start: str, end: str, *, errors_only: bool) -> str:
    """The API filter: the job, its time range (always), and optionally ERROR and above."""
    parts = [
        'resource.type="ml_job"',
        f'resource.labels.job_id="{job_id}"',
        f'timestamp>="{start}"',
        f'timestamp<="{end}"',
    ]
    if errors_only:
        parts.append("severity>=ERROR")
    return " AND ".join(parts)


def logs_explorer_url(project: str, job_id: str, start: str, end: str) -> str:
    """A Logs Explorer link with the job's query and time range, every part percent-encoded."""
    return LOGS_EXPLORER_URL.format(
        query=quote(explorer_query(job_id), safe=""),
        start=quote(start, safe=""),
        end=quote(end, safe=""),
        project=quote(project, safe=""),
    )


# --- what a reader needs from the lines ----------------------------------------------


class _Entry(Protocol):
    payload: Any


def entry_text(entry: _Entry) -> str:
    """The text of a log entry: textPayload, or jsonPayload's ``message`` (Vertex's form)."""
    payload = entry.payload
    if isinstance(payload, str):
        text = payload
    elif isinstance(payload, dict):
        message = payload.get("message")
        text = message if isinstance(message, str) else ""
        if not text:
            text = " ".join(f"{key}={value}" for key, value in sorted(payload.items()))
    else:
        text = "" if payload is None else str(payload)
    return text[-ENTRY_CHARS_MAX:]


def clean_line(line: str) -> str:
    """No colour codes, no progress-bar rewinds, no control characters or lone surrogates; tabs as spaces."""
    line = _ANSI_RE.sub("", line)
    if "\r" in line:
        line = line.rstrip("\r").rsplit("\r", 1)[-1]
    line = clean_text(_CONTROL_RE.sub("", line.expandtabs(4))).rstrip()  # surrogates: from "\ud800" escapes
    if len(line) <= LINE_MAX:
        return line
    return scrub(line[: LINE_MAX + CUT_MARGIN])[: LINE_MAX - 1] + "…"


def _lines_newest_first(entries: Iterable[_Entry], *, stop_at_traceback: bool, max_lines: int) -> list[str]:
    """Lines of newest-first entries, newest first; stops (and stops paging) once enough is read."""
    lines: list[str] = []
    for entry in entries:
        entry_lines = entry_text(entry).splitlines()
        lines.extend(reversed(entry_lines))
        if stop_at_traceback and any(TRACEBACK_HEADER in line for line in entry_lines):
            break
        if len(lines) >= max_lines:
            break
    return lines


def fit_from_end(lines: Sequence[str], max_lines: int, max_chars: int) -> list[str]:
    """The last whole lines that fit ``max_lines`` and ``max_chars`` (newlines counted)."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        if len(kept) >= max_lines or used + len(line) + 1 > max_chars:
            break
        kept.append(line)
        used += len(line) + 1
    return kept[::-1]


def _exception_block(after_frames: Sequence[str]) -> list[str]:
    """The exception line and the lines of its message, until something else starts."""
    block: list[str] = []
    for line in after_frames:
        if not line.strip() or (block and _RECORD_START_RE.match(line)) or TRACEBACK_HEADER in line:
            break
        block.append(line)
        if len(block) >= _EXCEPTION_LINES_MAX:
            break
    return block


def _traceback(lines: Sequence[str]) -> LogExcerpt | None:
    starts = [i for i, line in enumerate(lines) if TRACEBACK_HEADER in line]
    if not starts:
        return None
    rest = lines[starts[-1] :]
    header = rest[0][rest[0].index(TRACEBACK_HEADER) :]
    frames: list[str] = []
    index = 1
    while index < len(rest) and (rest[index].startswith((" ", "\t")) or not rest[index].strip()):
        if rest[index].strip():
            frames.append(rest[index])
        index += 1
    exception = _exception_block(rest[index:])
    # Budget: the header and the exception always; the innermost frames as they fit.
    fixed_chars = sum(len(line) + 1 for line in (header, *exception)) + len("  … 9999 lines omitted") + 1
    room_lines = MAX_LINES - 1 - len(exception) - 1
    kept = fit_from_end(frames, max(room_lines, 0), max(MAX_CHARS - fixed_chars, 0))
    # Start at a "File ..." line: a code line without its frame reads as noise.
    while kept and not kept[0].lstrip().startswith("File ") and len(kept) < len(frames):
        kept = kept[1:]
    omitted = len(frames) - len(kept)
    marker = [f"  … {omitted} lines omitted"] if omitted else []
    return LogExcerpt(lines=(header, *marker, *kept, *exception), kind="traceback", omitted=omitted)


def excerpt_from_lines(lines: Sequence[str], kind: str) -> LogExcerpt | None:
    """The last traceback in ``lines`` (oldest first), else their last lines as ``kind``; scrubbed."""
    cleaned = without_private_keys("\n".join(clean_line(line) for line in lines)).split("\n")
    found = _traceback(cleaned)
    if found is not None:
        return replace(found, lines=scrub_lines(found.lines))
    meaningful = [line for line in cleaned if line.strip()]
    kept = fit_from_end(meaningful, MAX_LINES, MAX_CHARS)
    if not kept:
        return None
    return LogExcerpt(lines=scrub_lines(kept), kind=kind, omitted=len(meaningful) - len(kept))


def error_excerpt(entries: Iterable[_Entry]) -> LogExcerpt | None:
    """From newest-first ERROR entries: the last traceback, else the last error lines."""
    newest_first = _lines_newest_first(entries, stop_at_traceback=True, max_lines=MAX_ERROR_ENTRIES)
    return excerpt_from_lines(newest_first[::-1], "errors")


def tail_excerpt(entries: Iterable[_Entry]) -> LogExcerpt | None:
    """From newest-first entries of any severity: the last lines (or a traceback among them)."""
    newest_first = _lines_newest_first(entries, stop_at_traceback=False, max_lines=TAIL_ENTRIES)
    return excerpt_from_lines(newest_first[::-1], "tail")


# --- reading ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _bounded_session_class() -> type:
    """``AuthorizedSession`` whose every request is bounded (the client passes 60 s)."""
    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415 - lazy: failures only

    class BoundedSession(AuthorizedSession):
        def __init__(self, credentials: Any, timeout: float) -> None:
            super().__init__(credentials, refresh_timeout=timeout)
            self.bound = timeout

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = self.bound
            kwargs["max_allowed_time"] = self.bound
            return super().request(method, url, *args, **kwargs)

    return BoundedSession


class TaskLogReader:
    """Reads failed tasks' logs with ``google.cloud.logging_v2.Client`` over HTTP/JSON.

    One client per project, created on first use. ``timeout`` bounds each request and
    the reads as a whole; ``add_logs`` never raises.
    """

    def __init__(
        self,
        endpoint: str = "",
        timeout: float = 5.0,
        *,
        enabled: bool = True,
        credentials: Any = None,
        clock: Any = None,
        projects: frozenset[str] | None = None,
    ) -> None:
        self.endpoint = endpoint or DEFAULT_ENDPOINT
        self.timeout = timeout
        self.enabled = enabled
        self._credentials = credentials
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        # The projects whose logs may be read (ALLOWED_PROJECTS); None: any (tools, tests).
        self._projects = projects
        self._clients = ClientCache(self._make_client, max_size=len(projects) if projects else 64)

    def _make_client(self, project: str) -> Any:
        # Lazy: only a failure pays for it (the whole package, its asyncio transports left out).
        client_class = import_from("google.cloud.logging_v2", "Client")
        credentials = local_credentials(self.endpoint, self._credentials)
        if credentials is None:
            import google.auth  # noqa: PLC0415

            credentials, _ = google.auth.default(scopes=[READ_SCOPE])
        return client_class(
            project=project,
            credentials=credentials,
            _http=_bounded_session_class()(credentials, self.timeout),
            _use_grpc=False,
            client_options={"api_endpoint": self.endpoint},
        )

    def read(self, project: str, job_id: str, start: str, end: str) -> tuple[LogExcerpt | None, str]:
        """One task's excerpt, or a note saying why there is none; never raises."""
        try:
            from google.cloud.logging_v2 import DESCENDING  # noqa: PLC0415

            client = self._clients.get(project)

            def newest(errors_only: bool, page_size: int, most: int) -> Iterable[Any]:
                return client.list_entries(
                    resource_names=[f"projects/{project}"],
                    filter_=logs_filter(job_id, start, end, errors_only=errors_only),
                    order_by=DESCENDING,
                    page_size=page_size,
                    max_results=most,
                )

            excerpt = error_excerpt(newest(True, PAGE_SIZE, MAX_ERROR_ENTRIES))
            if excerpt is None:
                excerpt = tail_excerpt(newest(False, TAIL_ENTRIES, TAIL_ENTRIES))
        except Exception as exc:  # noqa: BLE001 - best effort: a note, never a lost message
            log.warning("Could not read the logs of job %s: %s", job_id, exc)
            return None, describe_failure(exc, SERVICE)
        if excerpt is None:
            return None, "no log lines for this task in Cloud Logging"
        return excerpt, ""

    def add_logs(self, details: JobDetails, deadline: float) -> JobDetails:
        """``details`` with links, excerpts or notes on the tasks a message shows in detail."""
        now = self._clock()
        tasks = list(details.failed_tasks)
        reads: dict[int, tuple[str, str, str, str]] = {}
        for index, task in enumerate(tasks[:FAILED_TASKS_IN_DETAIL]):
            job = job_of(task)
            if job is None:
                continue
            project, job_id = job
            if self._projects is not None and project not in self._projects:
                log.warning(
                    "Not reading the logs of task %s: project %s is outside ALLOWED_PROJECTS",
                    task.name,
                    project,
                )
                continue
            start, end = time_range(task, now)
            tasks[index] = replace(task, logs_url=logs_explorer_url(project, job_id, start, end))
            if self.enabled:
                reads[index] = (project, job_id, start, end)
        if reads:
            for index, result in self._read_all(reads, deadline).items():
                excerpt, note = result
                tasks[index] = replace(tasks[index], excerpt=excerpt, log_note=note)
        return replace(details, failed_tasks=tuple(tasks))

    def _read_all(
        self, reads: dict[int, tuple[str, str, str, str]], deadline: float
    ) -> dict[int, tuple[LogExcerpt | None, str]]:
        late = (None, f"{SERVICE} did not answer within the enrichment budget")
        try:
            # Created here, not in the workers: the import is paid once, inside the budget.
            for project in {read[0] for read in reads.values()}:
                self._clients.get(project)
        except Exception as exc:  # noqa: BLE001 - e.g. no credentials: every task gets the note
            note = describe_failure(exc, SERVICE)
            log.warning("Cannot read task logs: %s", note)
            return dict.fromkeys(reads, (None, note))
        pool = ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="task-logs")
        try:
            futures = {pool.submit(self.read, *read): index for index, read in reads.items()}
            done, _ = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        finally:
            # Stragglers finish on their own within one request timeout; nobody waits for them.
            pool.shutdown(wait=False, cancel_futures=True)
        if len(done) < len(futures):
            log.warning("Logs of %d task(s) not read within the budget", len(futures) - len(done))
        return {index: (future.result() if future in done else late) for future, index in futures.items()}


class TaskLogEnricher:
    """Adds failed tasks' log excerpts to what Vertex AI found.

    The log reads share the enrichment budget: they get what the Vertex AI call left of
    ``budget`` seconds (counted from when the message's enrichment started), and at most
    the reader's own timeout.
    """

    def __init__(self, reader: TaskLogReader, budget: float) -> None:
        self._reader = reader
        self._budget = budget

    def add_logs(self, status: FinalStatus, enrichment: Enrichment, *, started: float) -> Enrichment:
        """``enrichment`` plus excerpts and links for a failure's tasks; never raises."""
        details = enrichment.details
        if status.succeeded or details is None or not details.failed_tasks:
            return enrichment
        deadline = min(started + self._budget, time.monotonic() + self._reader.timeout)
        return replace(enrichment, details=self._reader.add_logs(details, deadline))
