"""Render a weekly digest (``destinations.digest_content``) as Slack messages: a root, and replies
in its thread when it does not fit in one. Pure: no I/O, no clock.

Each section of the digest is a title and lines; the lines are packed into section blocks
of at most ``SECTION_TEXT_MAX`` characters (a line never split: each is bounded far below
it), and the blocks into messages of at most ``BLOCKS_MAX`` blocks and ``MESSAGE_TEXT_MAX``
characters of text. The first message is the root (the title, the summary, what fits, the
note); the others continue in its thread, each saying so. Names are bold and escaped, error
lines inline code, links ``<url|host>`` (built by ``digest_content``, never from text).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from notifier.destinations.content import CODE, NAME, Link, shorten
from notifier.destinations.digest_content import SECTION_EMOJI, TITLE_EMOJI, DigestContent, Line, plain
from notifier.destinations.slack.render import (
    BLOCKS_MAX,
    CONTEXT_TEXT_MAX,
    FALLBACK_TEXT_MAX,
    MESSAGE_TEXT_MAX,
    NAME_MAX,
    SECTION_TEXT_MAX,
    SlackMessage,
    escape,
    inline_code,
    mrkdwn_link,
)

CONTINUED = ":arrow_down: Continued in the thread."


def line_mrkdwn(line: Line) -> str:
    """One line in mrkdwn: names bold, code inline, links whole."""
    out = []
    for part in line:
        if isinstance(part, Link):
            out.append(mrkdwn_link(part))
        elif part.style == NAME:
            out.append(f"*{escape(shorten(part.text, NAME_MAX))}*")
        elif part.style == CODE:
            out.append(inline_code(part.text))
        else:
            out.append(escape(part.text))
    return "".join(out)


def _bullet(line: Line) -> str:
    return shorten("• " + line_mrkdwn(line), SECTION_TEXT_MAX // 2)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _blocks(content: DigestContent) -> list[tuple[SectionBlock, int]]:
    """Every section block of the digest's sections, with its size, in order."""
    blocks: list[tuple[SectionBlock, int]] = []
    for section in content.sections:
        heading = f"{SECTION_EMOJI.get(section.key, '')} *{escape(section.title)}*".strip()
        text = heading
        for line in section.lines:
            bullet = _bullet(line)
            if len(text) + 1 + len(bullet) > SECTION_TEXT_MAX:
                blocks.append((_section(text), len(text)))
                text = f"{heading} (continued)"
            text += "\n" + bullet
        blocks.append((_section(text), len(text)))
    return blocks


def render_digest(content: DigestContent, *, channel: str) -> list[dict[str, Any]]:
    """The digest's messages: the root first, then the replies in its thread (``thread_ts`` is
    the root's, added when it is known). Keyword arguments for ``chat.postMessage``."""
    title = f"{TITLE_EMOJI} *{escape(content.title)}*"
    summary = line_mrkdwn(content.summary)
    head = _section(f"{title}\n{summary}")
    note = ContextBlock(elements=[MarkdownTextObject(text=escape(content.note)[:CONTEXT_TEXT_MAX])])
    fallback = shorten(escape(f"{content.title}: {plain(content.summary)}"), FALLBACK_TEXT_MAX)
    messages: list[list[Block]] = [[head]]
    size = len(head.text.text) + len(note.elements[0].text)  # type: ignore[union-attr]
    # The root keeps room for the note and the "continued" line: two blocks.
    room = BLOCKS_MAX - 2
    for block, length in _blocks(content):
        current = messages[-1]
        if len(current) >= room or size + length > MESSAGE_TEXT_MAX - len(CONTINUED):
            messages.append([])
            current, size, room = messages[-1], 0, BLOCKS_MAX - 1
        current.append(block)
        size += length
    root = messages[0]
    if len(messages) > 1:
        root.append(_section(CONTINUED))
    root.append(note)
    payloads = []
    for number, blocks in enumerate(messages, 1):
        if number > 1:
            part = f"{content.title} ({number}/{len(messages)})"
            blocks.insert(0, ContextBlock(elements=[MarkdownTextObject(text=escape(part))]))
        text = (
            fallback
            if number == 1
            else shorten(f"{content.title} ({number}/{len(messages)})", FALLBACK_TEXT_MAX)
        )
        payloads.append(SlackMessage(channel=channel, text=text, blocks=tuple(blocks)).to_payload())
    return payloads
