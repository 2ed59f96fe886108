"""Render a notification as a Google Chat message with a card (cardsV2). Pure: no I/O.

The content and its order are ``destinations.content``'s, as for Slack: one lead line
(pipeline, outcome, duration), then each failed task with its error and the tail of its
traceback, then the links as buttons (never cut), then one compact context section.
Chat's text widgets take a small HTML subset (``<b>``, ``<font color>``, ``<a href>``,
``<br>``), so every untrusted string is HTML-escaped; the message ``text`` (what the
notification shows) keeps the original exit handler's wording.

What the card shows comes from ``content`` only: scrubbed of secrets, link labels chosen
there (a host, or our own wording), never payload text inside a link. Card text is HTML,
so backticks in an excerpt are just characters: nothing there can open or close a block.

Limits: Chat accepts messages up to 32,000 bytes (``CHAT_BYTES_MAX``). The message is
measured as ``deliver`` sends it (JSON with non-ASCII characters escaped, the largest
form) and kept under ``MESSAGE_BYTES_MAX``, which leaves room for the thread key: first
excerpts are dropped from the last task, then text paragraphs get less room, and if even
that is too long a minimal card (the lead line, the links, a note) is sent, which is small
by construction.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import Any

from notifier.destinations.content import (
    EMOJI_CHARACTERS,
    Link,
    MessageContent,
    ScheduleContent,
    TaskCause,
    build,
    comparison_emoji,
    comparison_line,
    ended_line,
    exit_handler_line,
    fit,
    schedule_content,
    shorten,
    styled,
)
from notifier.destinations.webhooks import fitted, json_bytes, rooms
from notifier.enrich.task_logs import fit_from_end
from notifier.model import Enrichment, FinalStatus

CHAT_BYTES_MAX = 32_000  # Google Chat's limit for one message
MESSAGE_BYTES_MAX = 24_000  # what we allow the message: the thread key and framing come on top
TEXT_MAX = 4_000
EXCERPT_CHARS_MAX = 1_500
PAIRS_MAX = 600
NOTE_MAX = 300
NAME_MAX = 200
# (text paragraph, context line) lengths, tried in turn until the message fits.
ROOMS = ((TEXT_MAX, PAIRS_MAX), (1_000, 300), (300, 100))
CARD_ID = "pipeline-run"
SCHEDULE_CARD_ID = "pipeline-schedule"
SHORTENED = "Details were left out to keep this message within Google Chat's size limit."
_EMOJI = EMOJI_CHARACTERS
_WARNING = _EMOJI[":warning:"]
_GREY = "#5f6368"
_TEXT_MARKUP = re.compile(r"[<>*_~`|]")
# Inside inline code only what could end it or make a link matters (a cron keeps its *).
_CODE_MARKUP = re.compile(r"[<>`|]")


def escape(text: str) -> str:
    """HTML-escape untrusted text for a Chat text widget."""
    return html.escape(text, quote=False)


def _plain(text: str) -> str:
    """Untrusted text for Chat's text format, without the characters that make bold or links."""
    return _TEXT_MARKUP.sub("", text)


def notification_text(content: MessageContent) -> str:
    """The original exit handler's wording, as the notification and above the card.

    Chat's text format reads ``*bold*`` and ``<url|label>`` links: untrusted text loses
    the characters that could make either. An unverified notice says so first; a model
    that was not blessed says so last.
    """
    line = exit_handler_line(content, _plain)
    for code, character in _EMOJI.items():
        line = line.replace(code, character)
    if content.unverified:
        line = f"{_WARNING} {_plain(content.unverified_line)}\n{line}"
    if content.results_warning:
        line = f"{line}\n{_WARNING} {_plain(content.results)}"
    return line


def _html_text(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def _html_link(link: Link) -> str:
    return f'<a href="{html.escape(link.url)}">{escape(link.label)}</a>'


def _fit_html(parts: tuple[str | Link, ...], limit: int) -> str:
    """Text and links as Chat HTML within ``limit`` characters; links whole, escapes never cut."""
    return fit(parts, limit, _html_text, _html_link)[0]


def _paragraph(text: str) -> dict[str, Any]:
    return {"textParagraph": {"text": text}}


def _grey(text: str) -> dict[str, Any]:
    return _paragraph(f'<font color="{_GREY}">{text}</font>')


def _excerpt_html(lines: tuple[str, ...]) -> str:
    # The exception line is last: keep the end.
    kept = fit_from_end(lines, len(lines), EXCERPT_CHARS_MAX)
    if not kept and lines:
        kept = ["…" + lines[-1][-(EXCERPT_CHARS_MAX - 1) :]]
    return "<br>".join(escape(line) for line in kept)


def _cause_widgets(cause: TaskCause, with_excerpt: bool, text_max: int) -> list[dict[str, Any]]:
    name = f"<b>{escape(shorten(cause.name, NAME_MAX))}</b>: "
    logs = (" · ", cause.logs) if cause.logs else ()
    widgets = [_paragraph(name + _fit_html((*cause.error.segments, *logs), text_max - len(name)))]
    if with_excerpt and cause.excerpt and cause.excerpt.lines:
        widgets.append(_grey(_excerpt_html(cause.excerpt.lines)))
    elif cause.log_note:
        widgets.append(_grey(escape(shorten(cause.log_note, NOTE_MAX))))
    return widgets


def _pairs(pairs: tuple[tuple[str, str], ...], title: str, limit: int) -> str:
    head = f"<b>{title}</b>: "
    return head + _fit_html((" · ".join(f"{key}={value}" for key, value in pairs),), limit - len(head))


def _comparison(content: MessageContent) -> str:
    """Run history's line (slower or later than usual) as the characters Chat shows, or ''."""
    comparison = content.comparison
    return f"{_EMOJI[comparison_emoji(comparison)]} {comparison_line(comparison)}" if comparison else ""


def _header(content: MessageContent) -> dict[str, Any]:
    emoji = _EMOJI.get(content.emoji, "")
    duration = (
        f" after {'~' if content.duration_so_far else ''}{content.duration}" if content.duration else ""
    )
    header = {"title": shorten(f"{emoji} {content.title} {content.outcome}{duration}".strip(), NAME_MAX)}
    if content.unverified:
        header["subtitle"] = "Unverified"
    return header


def _first_sections(content: MessageContent) -> list[dict[str, Any]]:
    """What every card starts with: that the notice is unverified, when it is; run history's line."""
    sections = []
    if content.unverified:
        sections.append({"widgets": [_paragraph(f"{_WARNING} <b>{escape(content.unverified_line)}</b>")]})
    if content.comparison:
        sections.append({"widgets": [_paragraph(escape(_comparison(content)))]})
    return sections


def _results(content: MessageContent, text_max: int) -> list[dict[str, Any]]:
    """What the run produced: the results line (the warning in bold), then the metrics."""
    widgets = []
    if content.results:
        text = escape(content.results)
        if content.results_warning:
            head, colon, tail = text.partition(":")
            text = f"<b>{head}</b>{colon}{tail}"
        widgets.append(_paragraph(f"{_EMOJI.get(content.results_emoji, '')} {text}"))
    if content.metrics:
        task = f" of {escape(shorten(content.metrics_task, NAME_MAX))}" if content.metrics_task else ""
        shown = " · ".join(f"{name} {value}" for name, value in content.metrics)
        more = f" (+{content.metrics_more} more)" if content.metrics_more else ""
        head = f"<b>Metrics</b>{task}: "
        widgets.append(_paragraph(head + _fit_html((shown + more,), text_max - len(head))))
    return [{"widgets": widgets}] if widgets else []


def _buttons(links: tuple[Link, ...]) -> list[dict[str, Any]]:
    if not links:
        return []
    buttons = [{"text": link.label, "onClick": {"openLink": {"url": link.url}}} for link in links]
    return [{"widgets": [{"buttonList": {"buttons": buttons}}]}]


def _context_sections(
    facts: list[str],
    labels: tuple[tuple[str, str], ...],
    parameters: tuple[tuple[str, str], ...],
    notes: tuple[str, ...],
    source_note: str,
    pairs_max: int,
) -> list[dict[str, Any]]:
    """The compact grey context: facts, labels, parameters, notes, where the notice came from."""
    context: list[str] = []
    if facts:
        context.append(_fit_html((" · ".join(facts),), pairs_max))
    if labels:
        context.append(_pairs(labels, "Labels", pairs_max))
    if parameters:
        context.append(_pairs(parameters, "Parameters", pairs_max))
    context.extend(f"{_WARNING} {escape(shorten(note, NOTE_MAX))}" for note in notes)
    if source_note:
        context.append(escape(source_note))
    return [{"widgets": [_grey("<br>".join(context))]}] if context else []


def _card(content: MessageContent, excerpts: int, text_max: int, pairs_max: int) -> dict[str, Any]:
    sections = _first_sections(content)

    why: list[dict[str, Any]] = []
    for number, cause in enumerate(content.causes):
        why.extend(_cause_widgets(cause, number < excerpts, text_max))
    if content.more_count:
        names = ", ".join(content.more_tasks)
        why.append(_paragraph(_fit_html((f"…and {content.more_count} more failed: {names}",), text_max)))
    if content.error:
        why.append(_paragraph(_fit_html(content.error.segments, text_max)))
    if why:
        sections.append({"header": "Why it failed" if content.causes else "Error", "widgets": why})

    sections.extend(_results(content, text_max))
    sections.extend(_buttons(content.links))

    facts = []
    if content.started:
        facts.append(f"Started {content.started.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    facts.extend(f"{label} {value}" for label, value in content.facts)
    sections += _context_sections(
        facts, content.labels, content.parameters, content.notes, content.source_note, pairs_max
    )
    return {"header": _header(content), "sections": sections}


def _minimal_card(content: MessageContent) -> dict[str, Any]:
    """The lead line, the links and a note: small whatever the content (every part is bounded)."""
    sections = [
        *_first_sections(content),
        *_results(content, ROOMS[-1][0]),
        *_buttons(content.links),
        {"widgets": [_grey(escape(SHORTENED))]},
    ]
    return {"header": _header(content), "sections": sections}


message_bytes = json_bytes  # the message's size as ``deliver`` sends it


def render_chat(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> dict[str, Any]:
    """The Chat message (``text`` + ``cardsV2``) for one run; the thread key is added on delivery."""
    if status.schedule is not None:
        return render_schedule_chat(status, enrichment, reference_time=reference_time)
    content = build(status, enrichment, reference_time=reference_time)
    text = notification_text(content)

    def message(excerpts: int, text_max: int, pairs_max: int) -> dict[str, Any]:
        card = _card(content, excerpts, text_max, pairs_max)
        return {"text": text, "cardsV2": [{"cardId": CARD_ID, "card": card}]}

    def minimal() -> dict[str, Any]:
        return {"text": text, "cardsV2": [{"cardId": CARD_ID, "card": _minimal_card(content)}]}

    return fitted(rooms(len(content.causes), ROOMS), message, MESSAGE_BYTES_MAX, minimal)


def schedule_text(content: ScheduleContent) -> str:
    """A schedule warning's line in Chat's text format: names bold, the cron as inline code."""
    line = styled(
        content.lead,
        text=_plain,
        name=lambda name: f"*{_plain(shorten(name, NAME_MAX))}*",
        code=lambda code: f"`{_CODE_MARKUP.sub('', code)}`",
    )
    return f"{_EMOJI.get(content.emoji, '')} {line}".strip()


def render_schedule_chat(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> dict[str, Any]:
    """The Chat message for a schedule warning: its line as the text and the card's title, a failed
    creation's error, the schedule's link, the context line. Small by construction."""
    content = schedule_content(status, enrichment, reference_time=reference_time)
    emoji = _EMOJI.get(content.emoji, "")
    sections: list[dict[str, Any]] = []
    if content.error:
        sections.append(
            {"header": "Error", "widgets": [_paragraph(_fit_html(content.error.segments, TEXT_MAX))]}
        )
    sections += _buttons(content.links)
    facts = [f"{label} {value}" for label, value in content.facts]
    sections += _context_sections(facts, content.labels, (), (), content.source_note, PAIRS_MAX)
    card = {"header": {"title": shorten(f"{emoji} {content.plain}", NAME_MAX)}, "sections": sections}
    return {"text": schedule_text(content), "cardsV2": [{"cardId": SCHEDULE_CARD_ID, "card": card}]}


def render_chat_reply(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> dict[str, Any]:
    """The reply, in the pipeline's thread, once a run the sweep warned about has ended: text only."""
    content = build(status, enrichment, reference_time=reference_time)
    line = f"{_EMOJI.get(content.emoji, '')} {_plain(shorten(ended_line(content), TEXT_MAX))}".strip()
    return {"text": f"{line}\n{_comparison(content)}" if content.comparison else line}
