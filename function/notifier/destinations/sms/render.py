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

from notifier.model import FAILED, RUNNING_STATES, SUCCEEDED, Enrichment, FinalStatus, pipeline_name

SMS_MAX = 320
CUT = "..."
_VERB = {SUCCEEDED: "succeeded", FAILED: "FAILED", "CANCELLED": "was cancelled"}
_SPACES = re.compile(r"\s+")
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


def render_sms(status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None) -> str:
    """The SMS for one run, at most SMS_MAX characters."""
    details = enrichment.details
    name = ascii_text(pipeline_name(status, details))[:80]
    if status.state in RUNNING_STATES:
        outcome = "is still running"
    else:
        outcome = _VERB.get(status.state, f"ended {ascii_text(status.state)[:20]}")
    prose = f"Vertex pipeline {name} {outcome} (run {ascii_text(status.job_id)[:100]})."
    cause = ""
    if details and details.failed_tasks:
        task = details.failed_tasks[0]
        cause = f"{ascii_text(task.name)[:60]}: {ascii_text(_first_line(task.message)) or 'failed'}"
        if len(details.failed_tasks) > 1:
            cause += f" (+{len(details.failed_tasks) - 1} more)"
    elif status.failed_task_names:
        cause = "Failed: " + ", ".join(ascii_text(n)[:40] for n in status.failed_task_names[:3])
    elif not status.succeeded and status.error_message:
        cause = ascii_text(_first_line(status.error_message))
    if cause:
        prose += " " + cause
    link = enrichment.console_url if enrichment.console_url.isascii() else ""
    room = SMS_MAX - (len(link) + 1 if link and len(link) <= SMS_MAX // 2 else 0)
    if room == SMS_MAX:
        link = ""
    if len(prose) > room:
        prose = prose[: room - len(CUT)].rstrip() + CUT
    return f"{prose} {link}" if link else prose
