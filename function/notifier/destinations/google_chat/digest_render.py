"""Render a weekly digest (``destinations.digest_content``) as one Google Chat card. Pure: no I/O.

The same content as Slack's: the title as the card's header, the summary, then one card
section per digest section (its lines as text paragraphs, names bold, error lines in
monospace, links ``<a href>`` labelled with their host), the note in grey. Every untrusted
string is HTML-escaped. Chat takes one message of up to 32,000 bytes: when the card is
larger than ``MESSAGE_BYTES_MAX`` as sent, each section shows fewer lines (and says how many
more there are) until it fits; the text above the card is the title and the summary.
"""

from __future__ import annotations

import html
import re
from typing import Any

from notifier.destinations.content import CODE, EMOJI_CHARACTERS, NAME, Link, shorten
from notifier.destinations.digest_content import SECTION_EMOJI, TITLE_EMOJI, DigestContent, Line, plain
from notifier.destinations.google_chat.render import MESSAGE_BYTES_MAX, NAME_MAX, escape
from notifier.destinations.webhooks import json_bytes

CARD_ID = "pipeline-digest"
THREAD_KEY = "weekly-digest"  # every digest in one thread of the space
_GREY = "#5f6368"
_TEXT_MARKUP = re.compile(r"[<>*_~`|]")  # what Chat's text format reads as bold, code or links
# Lines shown per section, tried in turn until the message fits.
LINES_TRIED = (200, 50, 20, 10, 5, 2)
_EMOJI = {**EMOJI_CHARACTERS, ":bar_chart:": "\U0001f4ca", ":game_die:": "\U0001f3b2", ":zzz:": "\U0001f4a4"}
_EMOJI.setdefault(":rotating_light:", "\U0001f6a8")
_EMOJI.setdefault(":alarm_clock:", "\u23f0")


def line_html(line: Line) -> str:
    """One line as Chat's HTML subset: names bold, code monospace, links whole."""
    out = []
    for part in line:
        if isinstance(part, Link):
            out.append(f'<a href="{html.escape(part.url)}">{escape(part.label)}</a>')
        elif part.style == NAME:
            out.append(f"<b>{escape(shorten(part.text, NAME_MAX))}</b>")
        elif part.style == CODE:
            out.append(f'<font face="monospace">{escape(part.text)}</font>')
        else:
            out.append(escape(part.text))
    return "".join(out)


def _card(content: DigestContent, lines_max: int) -> dict[str, Any]:
    sections: list[dict[str, Any]] = [{"widgets": [{"textParagraph": {"text": line_html(content.summary)}}]}]
    for section in content.sections:
        shown = section.lines[:lines_max]
        text = "<br>".join("• " + line_html(line) for line in shown)
        more = len(section.lines) - len(shown)
        if more:
            text += f"<br>… {more} more not shown (Google Chat's size limit)"
        emoji = _EMOJI.get(SECTION_EMOJI.get(section.key, ""), "")
        sections.append(
            {
                "header": f"{emoji} {escape(section.title)}".strip(),
                "widgets": [{"textParagraph": {"text": text}}],
            }
        )
    sections.append(
        {"widgets": [{"textParagraph": {"text": f'<font color="{_GREY}">{escape(content.note)}</font>'}}]}
    )
    title = f"{_EMOJI.get(TITLE_EMOJI, '')} {content.title}".strip()
    return {"header": {"title": shorten(title, NAME_MAX)}, "sections": sections}


def render_digest_chat(content: DigestContent) -> dict[str, Any]:
    """The Chat message (``text`` + ``cardsV2``) of one digest; the thread key is added on delivery."""
    text = _TEXT_MARKUP.sub("", f"{content.title}: {plain(content.summary)}")
    message: dict[str, Any] = {}
    for lines_max in LINES_TRIED:
        message = {"text": text, "cardsV2": [{"cardId": CARD_ID, "card": _card(content, lines_max)}]}
        if json_bytes(message) <= MESSAGE_BYTES_MAX:
            break
    return message
