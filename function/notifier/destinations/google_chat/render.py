"""Render a notification as a Google Chat message with a card (cardsV2). Pure: no I/O.

The content and its order are ``destinations.content``'s, as for Slack: one lead line
(pipeline, outcome, duration), then each failed task with its error and the tail of its
traceback, then the links as buttons (never cut), then one compact context section.
Chat's text widgets take a small HTML subset (``<b>``, ``<font color>``, ``<a href>``,
``<br>``), so every untrusted string is HTML-escaped; the message ``text`` (what the
notification shows) keeps the original exit handler's wording.

Limits: Chat accepts messages up to 32,000 bytes; excerpts are dropped from the last task
first until the whole message stays under ``MESSAGE_BYTES_MAX``, as for Slack.
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from typing import Any

from notifier.destinations.content import (
    Link,
    MessageContent,
    Prose,
    TaskCause,
    build,
    exit_handler_line,
    shorten,
)
from notifier.enrich.task_logs import fit_from_end
from notifier.model import Enrichment, FinalStatus

MESSAGE_BYTES_MAX = 24_000  # well under Chat's 32,000: cards add JSON framing
TEXT_MAX = 4_000
EXCERPT_CHARS_MAX = 1_500
PAIRS_MAX = 600
CARD_ID = "pipeline-run"
# Slack emoji codes in the shared content, as the characters Chat shows.
_EMOJI = {
    ":tada:": "\U0001f389",
    ":scream:": "\U0001f631",
    ":no_entry_sign:": "\U0001f6ab",
    ":hourglass_flowing_sand:": "\u23f3",
    ":grey_question:": "\u2754",
    ":warning:": "\u26a0\ufe0f",
}
_GREY = "#5f6368"
_TEXT_MARKUP = re.compile(r"[<>*_~`|]")


def escape(text: str) -> str:
    """HTML-escape untrusted text for a Chat text widget."""
    return html.escape(text, quote=False)


def notification_text(status: FinalStatus) -> str:
    """The original exit handler's wording, as the notification and above the card.

    Chat's text format reads ``*bold*`` and ``<url|label>`` links: untrusted text loses
    the characters that could make either.
    """
    line = exit_handler_line(status, lambda text: _TEXT_MARKUP.sub("", text))
    for code, character in _EMOJI.items():
        line = line.replace(code, character)
    return line


def _prose_html(text: Prose) -> str:
    return "".join(
        f'<a href="{html.escape(s.url)}">{escape(s.label)}</a>'
        if isinstance(s, Link)
        else escape(s).replace("\n", "<br>")
        for s in text.segments
    )


def _paragraph(text: str) -> dict[str, Any]:
    return {"textParagraph": {"text": text}}


def _cause_widgets(cause: TaskCause, with_excerpt: bool) -> list[dict[str, Any]]:
    widgets = [_paragraph(shorten(f"<b>{escape(cause.name)}</b>: {_prose_html(cause.error)}", TEXT_MAX))]
    if with_excerpt and cause.excerpt and cause.excerpt.lines:
        # The exception line is last: keep the end.
        lines = fit_from_end(cause.excerpt.lines, len(cause.excerpt.lines), EXCERPT_CHARS_MAX)
        head = "<br>".join(escape(line) for line in lines)
        widgets.append(_paragraph(f'<font color="{_GREY}">{head}</font>'))
    elif cause.log_note:
        widgets.append(_paragraph(f'<font color="{_GREY}">{escape(shorten(cause.log_note, 300))}</font>'))
    return widgets


def _pairs(pairs: tuple[tuple[str, str], ...], title: str) -> str:
    items = " · ".join(f"{escape(key)}={escape(value)}" for key, value in pairs)
    return shorten(f"<b>{title}</b>: {items}", PAIRS_MAX)


def _card(content: MessageContent, excerpts: int) -> dict[str, Any]:
    emoji = _EMOJI.get(content.emoji, "")
    duration = (
        f" after {'~' if content.duration_so_far else ''}{content.duration}" if content.duration else ""
    )
    header = {"title": shorten(f"{emoji} {content.title} {content.outcome}{duration}".strip(), 200)}
    sections: list[dict[str, Any]] = []

    why: list[dict[str, Any]] = []
    for number, cause in enumerate(content.causes):
        why.extend(_cause_widgets(cause, number < excerpts))
    if content.more_tasks:
        names = ", ".join(escape(name) for name in content.more_tasks)
        why.append(_paragraph(shorten(f"…and {len(content.more_tasks)} more failed: {names}", TEXT_MAX)))
    if content.error:
        why.append(_paragraph(shorten(_prose_html(content.error), TEXT_MAX)))
    if why:
        sections.append({"header": "Why it failed" if content.causes else "Error", "widgets": why})

    if content.links:
        buttons = [{"text": link.label, "onClick": {"openLink": {"url": link.url}}} for link in content.links]
        sections.append({"widgets": [{"buttonList": {"buttons": buttons}}]})

    context: list[str] = []
    facts = []
    if content.started:
        facts.append(f"Started {content.started.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    facts.extend(f"{label} {escape(value)}" for label, value in content.facts)
    if facts:
        context.append(shorten(" · ".join(facts), PAIRS_MAX))
    if content.labels:
        context.append(_pairs(content.labels, "Labels"))
    if content.parameters:
        context.append(_pairs(content.parameters, "Parameters"))
    context.extend(f"\u26a0\ufe0f {escape(shorten(note, 300))}" for note in content.notes)
    if content.source_note:
        context.append(escape(content.source_note))
    if context:
        sections.append({"widgets": [_paragraph(f'<font color="{_GREY}">{"<br>".join(context)}</font>')]})
    return {"header": header, "sections": sections}


def render_chat(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> dict[str, Any]:
    """The Chat message (``text`` + ``cardsV2``) for one run; the thread key is added on delivery."""
    content = build(status, enrichment, reference_time=reference_time)
    text = notification_text(status)
    for excerpts in range(len(content.causes), -1, -1):  # fewer excerpts until it fits
        message = {
            "text": text,
            "cardsV2": [{"cardId": CARD_ID, "card": _card(content, excerpts)}],
        }
        if len(json.dumps(message, ensure_ascii=False).encode()) <= MESSAGE_BYTES_MAX:
            break
    return message
