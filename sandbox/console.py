"""Show a Slack ``chat.postMessage`` payload readably in a terminal.

The demo's Slack stand-in calls this for every message it accepts: the lead line, each
failed task with its log excerpt, errors, links and context, with
Slack's mrkdwn turned into plain text (dates to their fallback text, links to
"text (url)", escapes undone), buttons as ``[Acknowledge]``. A reply says which thread it
is in (and whether the channel sees it too); a root's update shows the line it now leads with.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Mapping
from typing import Any, TextIO

_EMOJI = {
    ":tada:": "🎉",
    ":scream:": "😱",
    ":no_entry_sign:": "🚫",
    ":grey_question:": "❔",
    ":scissors:": "✂️",
    ":warning:": "⚠️",
    ":rotating_light:": "🚨",
    ":white_check_mark:": "✅",
    ":eyes:": "👀",
    ":mute:": "🔇",
    ":loud_sound:": "🔊",
    ":repeat:": "🔁",
    ":octagonal_sign:": "🛑",
    ":no_entry:": "⛔",
    ":hourglass_flowing_sand:": "⏳",
}
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]*)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^>]+)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_MENTION = re.compile(r"<([@#][A-Z0-9]+)(?:\|([^>]*))?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]*)`")


class Style:
    """ANSI styles, or none at all when the output is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        """Bold text."""
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        """Dimmed text."""
        return self._wrap("2", text)

    def accent(self, text: str) -> str:
        """Cyan text, for section titles and links."""
        return self._wrap("36", text)


def plain(mrkdwn: str, style: Style | None = None) -> str:
    """Slack mrkdwn as terminal text (bold kept as ANSI bold when ``style`` is enabled)."""
    style = style or Style(False)
    text = _DATE.sub(r"\1", mrkdwn)
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _SUBTEAM.sub(lambda m: f"@{m[1] or 'team'}", text)
    text = _MENTION.sub(lambda m: m[2] or m[1], text)
    text = _BOLD.sub(lambda m: style.bold(m[1]), text)
    text = _CODE.sub(r"\1", text)
    for code, symbol in _EMOJI.items():
        text = text.replace(code, symbol)
    # Last: the payload escapes these three so that text cannot form links or mentions.
    return _unescape(text)


def _unescape(text: str) -> str:
    """Undo Slack's escaping of ``<``, ``>`` and ``&`` (``&amp;`` last, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, Mapping) else ""


def _code_lines(text: str, style: Style) -> list[str]:
    """A section holding a code block (a log excerpt): its caption, then the lines as they are."""
    out: list[str] = []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            out.append("  ┆ " + _unescape(line.replace("\u200b", "")))
        else:
            out.append(style.dim(plain(line, style)))
    return out


def _section_lines(text: str, style: Style) -> list[str]:
    if "```" in text:
        return _code_lines(text, style)
    lines = plain(text, style).splitlines() or [""]
    title, *rest = lines
    if title.startswith(">"):  # a section that is only a quote (an error message)
        return ["  │ " + line[1:].lstrip() if line.startswith(">") else "  " + line for line in lines]
    if not rest:
        return [title]
    out = [style.accent(title)]
    for line in rest:
        # Slack block quotes ("> text") hold error messages: show them as an indented bar.
        out.append("  │ " + line[1:].lstrip() if line.startswith(">") else "  " + line)
    return out


def _field_lines(fields: list[Any], style: Style, width: int) -> list[str]:
    cells = []
    for field in fields:
        label, _, value = plain(_text_of(field)).partition("\n")
        cells.append(f"{style.bold(label + ':')} {value}" if value else label)
    if len(cells) % 2:
        cells.append("")
    column = max(24, width // 2 - 2)
    out = []
    for left, right in zip(cells[0::2], cells[1::2], strict=True):
        # Padding must ignore the invisible ANSI codes that bold adds.
        pad = column - len(re.sub(r"\x1b\[[0-9;]*m", "", left))
        out.append("  " + left + " " * max(pad, 2) + right if right else "  " + left)
    return out


def format_payload(payload: Mapping[str, Any], *, style: Style | None = None, width: int = 88) -> str:
    """The whole message as lines of terminal text."""
    style = style or Style(False)
    where = f"to {payload.get('channel', '?')}"
    if payload.get("thread_ts"):
        where += f", ↳ in the thread of {payload['thread_ts']}"
        if payload.get("reply_broadcast"):
            where += " (also sent to the channel)"
    lines = [style.dim("─" * width), style.dim(where)]
    blocks = payload.get("blocks") or []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(style.bold(plain(_text_of(block.get("text")))))
        elif kind == "section":
            if block.get("text"):
                lines.extend(_section_lines(_text_of(block["text"]), style))
            if block.get("fields"):
                lines.extend(_field_lines(block["fields"], style, width))
        elif kind == "actions":
            links = [
                f"  {plain(_text_of(e.get('text')))}: {style.accent(e['url'])}"
                for e in block.get("elements", [])
                if e.get("url")
            ]
            lines.extend([style.accent("Links"), *links] if links else [])
            # Buttons that act (acknowledge, mute, retry …) rather than link.
            buttons = [
                f"[{plain(_text_of(e.get('text')))}]" for e in block.get("elements", []) if not e.get("url")
            ]
            lines.extend(["  " + " ".join(buttons)] if buttons else [])
        elif kind == "context":
            lines.extend(style.dim("  " + plain(_text_of(e))) for e in block.get("elements", []))
    if not blocks:
        lines.append(plain(str(payload.get("text", "")), style))
    return "\n".join(lines)


def format_update(payload: Mapping[str, Any], *, style: Style | None = None, width: int = 88) -> str:
    """A ``chat.update``: which message, and the line it now leads with."""
    style = style or Style(False)
    blocks = payload.get("blocks") or []
    first = _text_of(blocks[0].get("text")) if blocks else str(payload.get("text", "")).partition("\n")[0]
    return "\n".join(
        [
            style.dim("─" * width),
            style.dim(
                f"✎ updated {payload.get('ts', '?')} in {payload.get('channel', '?')}, which now leads with:"
            ),
            "  " + plain(first, style),
        ]
    )


class Printer:
    """Prints each message as it arrives; safe to call from the stand-in's server threads."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._style = Style(stream.isatty())
        self._width = min(100, shutil.get_terminal_size((88, 24)).columns)

    def show(self, payload: Mapping[str, Any]) -> None:
        """Print one Slack payload."""
        text = format_payload(payload, style=self._style, width=self._width)
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()

    def show_update(self, payload: Mapping[str, Any]) -> None:
        """Print one ``chat.update``."""
        text = format_update(payload, style=self._style, width=self._width)
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()

    def say(self, line: str) -> None:
        """Print one line of the demo's own narration."""
        with self._lock:
            self._stream.write(self._style.dim("» ") + line + "\n")
            self._stream.flush()
