"""One short SMS text per run: pipeline, outcome, the failed task, a link. Pure: no I/O.

At most ``SMS_MAX`` (320) characters, which is two concatenated SMS in the GSM-7
alphabet: the text is reduced to printable ASCII (accents dropped, anything else a
``?``), so an emoji in an error message cannot silently turn it into five UCS-2 segments.
The link is never cut: the prose is shortened around it, and a link that cannot fit
whole is left out. Everything comes from ``destinations.content`` (scrubbed of secrets,
bounded); an unverified notice starts with ``Unverified (<reason>):``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from notifier.destinations.content import (
    URL_RE,
    Link,
    MessageContent,
    build,
    comparison_line,
    ended_line,
    first_cause,
    first_line,
    schedule_content,
)
from notifier.model import FAILED, Enrichment, FinalStatus

SMS_MAX = 320
SMS_METRICS = 3  # metrics a text names, at most
CUT = "..."
UNVERIFIED_MAX = 60  # of the reason an unverified notice gives
_SPACES = re.compile(r"\s+")
# Typographic punctuation that NFKD leaves alone but GSM-7 lacks.
_PUNCTUATION = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                              "\u2014": "-", "\u2026": "...", "\u2022": "*", "\u00a0": " ", "\u00b1": "+-"})  # fmt: skip


def ascii_text(text: str) -> str:
    """Printable ASCII on one line: accents dropped, other characters as '?', whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    kept = "".join(
        ch if " " <= ch <= "~" else (" " if ch.isspace() or unicodedata.category(ch)[0] == "C" else "?")
        for ch in decomposed
        if not unicodedata.combining(ch)
    )
    return _SPACES.sub(" ", kept).strip()


def _cause(content: MessageContent) -> str:
    """The first failed task and what it died of (``content.first_cause``), as plain ASCII."""
    cause = first_cause(content)
    if cause.task:
        text = f"{ascii_text(cause.task)[:60]}: {ascii_text(cause.reason[:SMS_MAX]) or 'failed'}"
        return text + (f" (+{cause.more} more)" if cause.more else "")
    if cause.listed:
        return "Failed: " + ", ".join(ascii_text(n)[:40] for n in cause.listed[:3])
    return ascii_text(cause.reason[:SMS_MAX])


def _results(content: MessageContent) -> str:
    """The results line and the first metrics: ``Model NOT blessed: pushed nothing. auc 0.9312, f1 0.83.``"""
    parts = [ascii_text(content.results) + "."] if content.results else []
    if content.metrics:
        shown = ", ".join(
            f"{ascii_text(name)[:24]} {ascii_text(value)}" for name, value in content.metrics[:SMS_METRICS]
        )
        parts.append(shown + ".")
    return " ".join(parts)


def _shorten(prose: str, room: int) -> str:
    """``prose`` within ``room`` characters; a URL the cut would halve goes whole."""
    if len(prose) <= room:
        return prose
    end = room - len(CUT)
    for match in URL_RE.finditer(prose, 0, end + 1):
        if match.end() > end:
            end = match.start()
    return prose[:end].rstrip() + CUT


def render_sms(status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None) -> str:
    """The SMS for one run, at most SMS_MAX characters."""
    if status.schedule is not None:
        return render_schedule_sms(status, enrichment, reference_time=reference_time)
    content = build(status, enrichment, reference_time=reference_time)
    name = ascii_text(content.pipeline)[:80]
    outcome = "FAILED" if content.state == FAILED else ascii_text(content.outcome)[:40]
    prose = f"Vertex pipeline {name} {outcome} (run {ascii_text(content.job_id)[:100]})."
    if content.unverified:
        prose = f"Unverified ({ascii_text(content.unverified)[:UNVERIFIED_MAX]}): {prose}"
    cause = _cause(content)
    if cause:
        prose += " " + cause
    if content.comparison:
        prose += " " + ascii_text(comparison_line(content.comparison, times="x"))
    produced = _results(content)
    if produced:
        prose += " " + produced
    return _with_link(prose, content.links)


def render_sms_reply(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> str:
    """The text once a run the sweep warned about has ended, at most SMS_MAX characters."""
    content = build(status, enrichment, reference_time=reference_time)
    prose = f"Vertex pipeline {ascii_text(ended_line(content))[:200]} Run {ascii_text(content.job_id)[:100]}."
    if content.comparison:
        prose += " " + ascii_text(comparison_line(content.comparison, times="x"))
    return _with_link(prose, content.links)


def _with_link(prose: str, links: tuple[Link, ...]) -> str:
    """``prose`` and the first link within SMS_MAX; the link whole or not at all."""
    console = links[0].url if links else ""
    link = console if console.isascii() else ""
    if len(link) > SMS_MAX // 2:
        link = ""  # a link that long would crowd out what happened
    room = SMS_MAX - (len(link) + 1 if link else 0)
    prose = _shorten(prose, room)
    return f"{prose} {link}" if link else prose


def render_schedule_sms(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> str:
    """The SMS for a schedule warning, at most SMS_MAX characters.

    The handler sends none (a text pages someone, a schedule warning never does); every
    destination renders every kind of notice all the same.
    """
    content = schedule_content(status, enrichment, reference_time=reference_time)
    prose = f"Vertex AI: {ascii_text(content.plain)}."
    if content.error:
        prose += " " + ascii_text(first_line(content.error.plain)[:SMS_MAX])
    return _with_link(prose, content.links)
