"""Render a notification as a Microsoft Teams message: one Adaptive Card (schema 1.5). Pure: no I/O.

The content and its order are ``destinations.content``'s, as for Slack: one lead line
(pipeline, outcome, duration), then each failed task with its error and the tail of its
traceback, then what the run produced (the model's blessing and push, its metrics), the
links as ``Action.OpenUrl`` buttons, then one compact context block.

Untrusted text is never Markdown: a ``TextBlock`` reads Teams' Markdown subset (bold,
lists, ``[label](url)`` links), so every string from content goes into a
``RichTextBlock``'s ``TextRun``s, which are plain text; a link inside an error is a
``TextRun`` labelled as content labels it (the host) whose ``selectAction`` opens the
whole URL. Nothing here builds a URL: links are content's, whole or left out.

Limits: a Workflows webhook accepts messages up to 28 KB and answers 202 even for a
card Teams then refuses (the flow run fails out of sight), so the card must be valid and
well within the limit. The message is measured as ``deliver`` sends it (JSON with
non-ASCII characters escaped, the largest form) and kept under ``MESSAGE_BYTES_MAX``:
first excerpts are dropped from the last task, then text gets less room, and if even
that is too long a minimal card (the lead line, the results, the links, a note) is sent,
which is small by construction.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from notifier.destinations.content import (
    EMOJI_CHARACTERS,
    Link,
    MessageContent,
    Prose,
    TaskCause,
    build,
    shorten,
)
from notifier.destinations.webhooks import fitted, json_bytes, rooms
from notifier.enrich.task_logs import fit_from_end
from notifier.model import SUCCEEDED, Enrichment, FinalStatus

TEAMS_BYTES_MAX = 28 * 1024  # "The message size limit is 28 KB."
MESSAGE_BYTES_MAX = 24_000  # what we allow ourselves, measured as sent
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
TEXT_MAX = 2_000
EXCERPT_CHARS_MAX = 1_500
PAIRS_MAX = 600
NOTE_MAX = 300
NAME_MAX = 200
ACTIONS_MAX = 6
# (text, context line) lengths, tried in turn until the message fits.
ROOMS = ((TEXT_MAX, PAIRS_MAX), (600, 300), (200, 100))
SHORTENED = "Details were left out to keep this message within Teams' size limit."
_WARNING = EMOJI_CHARACTERS[":warning:"]


def run(text: str, **style: Any) -> dict[str, Any]:
    """A plain-text run (no Markdown is read in it)."""
    return {"type": "TextRun", "text": text, **style}


def link_run(link: Link) -> dict[str, Any]:
    """A link as a run: content's label, the whole URL behind it."""
    return run(link.label, selectAction={"type": "Action.OpenUrl", "url": link.url})


def rich(*inlines: dict[str, Any], **style: Any) -> dict[str, Any]:
    """A ``RichTextBlock`` of runs; runs without text are left out (Teams refuses empty runs)."""
    return {"type": "RichTextBlock", "inlines": [i for i in inlines if i["text"]], **style}


def _prose(text: Prose, limit: int) -> list[dict[str, Any]]:
    """Prose as runs: text cut to ``limit`` characters in all, links whole (content bounds their number)."""
    runs, room = [], limit
    for segment in text.segments:
        if isinstance(segment, Link):
            runs.append(link_run(segment))
        elif room > 0:
            runs.append(run(shorten(segment, room)))
            room -= len(segment)
    return runs


def _lead(content: MessageContent) -> dict[str, Any]:
    duration = ""
    if content.duration:
        approx = "~" if content.duration_so_far else ""
        duration = f" {'in' if content.state == SUCCEEDED else 'after'} {approx}{content.duration}"
    emoji = EMOJI_CHARACTERS.get(content.emoji, "")
    return rich(
        run(f"{emoji} "),
        run(shorten(content.title, NAME_MAX), weight="Bolder"),
        run(f" {content.outcome}{duration}"),
        size="Large",
    )


def _first(content: MessageContent) -> list[dict[str, Any]]:
    """What every card starts with: that the notice is unverified, when it is, then the lead line."""
    head = []
    if content.unverified:
        head.append(rich(run(f"{_WARNING} {content.unverified_line}", weight="Bolder", color="Attention")))
    return [*head, _lead(content)]


def _cause(cause: TaskCause, with_excerpt: bool, text_max: int) -> list[dict[str, Any]]:
    logs = [run(" · "), link_run(cause.logs)] if cause.logs else []
    elements = [
        rich(
            run(shorten(cause.name, NAME_MAX), weight="Bolder"),
            run(": "),
            *_prose(cause.error, text_max),
            *logs,
        )
    ]
    if with_excerpt and cause.excerpt and cause.excerpt.lines:
        lines = cause.excerpt.lines
        kept = fit_from_end(lines, len(lines), EXCERPT_CHARS_MAX) or [
            "…" + lines[-1][-(EXCERPT_CHARS_MAX - 1) :]
        ]
        elements.append(rich(run("\n".join(kept), fontType="Monospace", size="Small")))
    elif cause.log_note:
        elements.append(rich(run(f"Logs: {shorten(cause.log_note, NOTE_MAX)}", isSubtle=True, size="Small")))
    return elements


def results(content: MessageContent, text_max: int) -> list[dict[str, Any]]:
    """What the run produced: the results line (a refusal in bold, as a warning), then the metrics."""
    elements = []
    if content.results:
        emoji = EMOJI_CHARACTERS.get(content.results_emoji, "")
        if content.results_warning:
            head, colon, tail = content.results.partition(":")
            elements.append(
                rich(run(f"{emoji} "), run(head, weight="Bolder", color="Attention"), run(colon + tail))
            )
        else:
            elements.append(rich(run(f"{emoji} {content.results}")))
    if content.metrics:
        task = f" of {shorten(content.metrics_task, NAME_MAX)}" if content.metrics_task else ""
        shown = " · ".join(f"{name} {value}" for name, value in content.metrics)
        more = f" (+{content.metrics_more} more)" if content.metrics_more else ""
        elements.append(rich(run(f"Metrics{task}: ", weight="Bolder"), run(shorten(shown + more, text_max))))
    return elements


def _pairs(pairs: tuple[tuple[str, str], ...], title: str, limit: int) -> str:
    return shorten(f"{title}: " + " · ".join(f"{key}={value}" for key, value in pairs), limit)


def _context(content: MessageContent, pairs_max: int) -> list[dict[str, Any]]:
    facts = []
    if content.started:
        facts.append(f"Started {content.started.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    facts.extend(f"{label} {value}" for label, value in content.facts)
    lines = [shorten(" · ".join(facts), pairs_max)] if facts else []
    if content.labels:
        lines.append(_pairs(content.labels, "Labels", pairs_max))
    if content.parameters:
        lines.append(_pairs(content.parameters, "Parameters", pairs_max))
    lines.extend(f"{_WARNING} {shorten(note, NOTE_MAX)}" for note in content.notes)
    if content.source_note:
        lines.append(content.source_note)
    return [rich(run("\n".join(lines), isSubtle=True, size="Small"))] if lines else []


def _actions(content: MessageContent) -> list[dict[str, Any]]:
    return [{"type": "Action.OpenUrl", "title": link.label, "url": link.url} for link in content.links][
        :ACTIONS_MAX
    ]


def _message(body: list[dict[str, Any]], content: MessageContent) -> dict[str, Any]:
    card: dict[str, Any] = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    actions = _actions(content)
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}],
    }


def _card(content: MessageContent, excerpts: int, text_max: int, pairs_max: int) -> dict[str, Any]:
    body = _first(content)
    for number, cause in enumerate(content.causes):
        body.extend(_cause(cause, number < excerpts, text_max))
    if content.more_count:
        names = ", ".join(content.more_tasks)
        body.append(rich(run(shorten(f"…and {content.more_count} more failed: {names}", text_max))))
    if content.error:
        body.append(rich(*_prose(content.error, text_max)))
    body.extend(results(content, text_max))
    body.extend(_context(content, pairs_max))
    return _message(body, content)


def _minimal_card(content: MessageContent) -> dict[str, Any]:
    """The lead line, the results, the links and a note: small whatever the content (every part is bounded)."""
    body = [
        *_first(content),
        *results(content, ROOMS[-1][0]),
        rich(run(SHORTENED, isSubtle=True, size="Small")),
    ]
    return _message(body, content)


message_bytes = json_bytes  # the message's size as ``deliver`` sends it


def render_teams(
    status: FinalStatus, enrichment: Enrichment, *, reference_time: datetime | None = None
) -> dict[str, Any]:
    """The Workflows webhook's body (``{"type": "message", "attachments": [card]}``) for one run."""
    content = build(status, enrichment, reference_time=reference_time)
    return fitted(
        rooms(len(content.causes), ROOMS),
        lambda excerpts, text_max, pairs_max: _card(content, excerpts, text_max, pairs_max),
        MESSAGE_BYTES_MAX,
        lambda: _minimal_card(content),
    )
