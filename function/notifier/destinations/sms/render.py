"""One short SMS text per run: pipeline, outcome, the failed task, a link. Pure: no I/O.

At most ``SMS_MAX`` (320) characters, which is two concatenated SMS in the GSM-7
alphabet: the text is reduced to printable ASCII (accents dropped, anything else a
``?``), so an emoji in an error message cannot silently turn it into five UCS-2 segments.
The link is never cut: the prose is shortened around it, and a link that cannot fit
whole is left out.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from notifier.destinations.content import MessageContent, build
from notifier.model import FAILED, Enrichment, FinalStatus, pipeline_name

SMS_MAX = 320
CUT = "..."
_SPACES = re.compile(r"\s+")
# "module.Name: message" or a bare "Name" ending in Error/Exception/Exit/Interrupt/Warning, unindented.
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)\b")
# Typographic punctuation that NFKD leaves alone but GSM-7 lacks.
_PUNCTUATION = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                              "\u2014": "-", "\u2026": "...", "\u2022": "*", "\u00a0": " "})  # fmt: skip


def ascii_text(text: str) -> str:
    """Printable ASCII on one line: accents dropped, other characters as '?', whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    kept = "".join(
        ch if " " <= ch <= "~" else (" " if ch.isspace() or unicodedata.category(ch)[0] == "C" else "?")
        for ch in decomposed
        if not unicodedata.combining(ch)
    )
    return _SPACES.sub(" ", kept).strip()


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _exception_line(lines: tuple[str, ...]) -> str:
    """The traceback's exception line (``KeyError: 'churned'``); frameworks may log lines after it."""
    for line in reversed(lines):
        if _EXCEPTION.match(line):
            return line.strip()
    return lines[-1].strip() if lines else ""


def _cause(content: MessageContent, status: FinalStatus) -> str:
    """The first failed task and what it died of: its traceback's exception line when the log
    was read, else the first line of its own error; else the run's error."""
    if content.causes:
        cause = content.causes[0]
        excerpt = cause.excerpt
        reason = _exception_line(excerpt.lines) if excerpt and excerpt.kind == "traceback" else ""
        reason = reason or _first_line(cause.error.plain)
        text = f"{ascii_text(cause.name)[:60]}: {ascii_text(reason) or 'failed'}"
        more = len(content.causes) - 1 + len(content.more_tasks)
        return text + (f" (+{more} more)" if more else "")
    if status.failed_task_names and not status.succeeded:
        return "Failed: " + ", ".join(ascii_text(n)[:40] for n in status.failed_task_names[:3])
    if not status.succeeded and status.error_message:
        return ascii_text(_first_line(status.error_message))
    return ""


def render_sms(status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None) -> str:
    """The SMS for one run, at most SMS_MAX characters."""
    content = build(status, enrichment, reference_time=reference_time)
    name = ascii_text(pipeline_name(status, enrichment.details))[:80]
    outcome = "FAILED" if status.state == FAILED else ascii_text(content.outcome)[:40]
    prose = f"Vertex pipeline {name} {outcome} (run {ascii_text(status.job_id)[:100]})."
    cause = _cause(content, status)
    if cause:
        prose += " " + cause
    link = enrichment.console_url if enrichment.console_url.isascii() else ""
    if len(link) > SMS_MAX // 2:
        link = ""  # a link that long would crowd out what happened
    room = SMS_MAX - (len(link) + 1 if link else 0)
    if len(prose) > room:
        prose = prose[: room - len(CUT)].rstrip() + CUT
    return f"{prose} {link}" if link else prose
