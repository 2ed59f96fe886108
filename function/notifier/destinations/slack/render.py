"""Render a notification's content (``destinations.content``) as a Slack Block Kit message.

Pure: no I/O, no environment, no clock. Everything it needs is an argument, so the
same inputs always give the same message (tests pin it with golden files).

What the message says and in what order is decided in ``destinations.content`` (scrubbed
of secrets, bounded, link labels chosen there); this module decides how Slack shows it:
mrkdwn escaping, links as ``<url|label>`` or buttons (never cut: ``content.fit`` cuts the
text around them), code blocks for log lines that no run of backticks can close early,
inline code that no backtick can end, and Slack's size limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from notifier.actions.commands import FAILED_BLOCK, MUTE_HOURS, RUNNING_BLOCK, STATUS_BLOCK, Command
from notifier.destinations.content import (
    ELLIPSIS,
    OPEN_IN_VERTEX,
    Link,
    MessageContent,
    Prose,
    ScheduleContent,
    TaskCause,
    build,
    comparison_emoji,
    comparison_line,
    ended_line,
    exit_handler_line,
    fit,
    prose,
    schedule_content,
    shorten,
    styled,
)
from notifier.model import (
    FAILED,
    NOTHING_SAID,
    RUNNING_STATES,
    SUCCEEDED,
    Enrichment,
    FinalStatus,
    LogExcerpt,
    Quiet,
)
from notifier.names import NameRejectedError, parse_job_name

# Slack's documented limits (Block Kit reference).
SECTION_TEXT_MAX = 3000
CONTEXT_TEXT_MAX = 3000
BLOCKS_MAX = 50
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
# Slack rejects messages of about 12k characters of block text in practice (its
# documented limits are per block); this keeps a margin.
MESSAGE_TEXT_MAX = 10_000
FALLBACK_TEXT_MAX = 3000  # well under chat.postMessage's 40k: the fallback is a notification preview
FALLBACK_ERROR_MAX = 500
LEAD_MAX = 500
NAME_MAX = 200
MORE_TASKS_MAX = 500
FACTS_MAX = 1000
LABELS_MAX = 600
PARAMETERS_MAX = 1000
PARAMETER_VALUE_MAX = 200
NOTE_MAX = 300

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
# A backtick followed by another: a zero-width space goes between, so no run of backticks
# in a log line can close a code block (or open one) however long the run.
_BACKTICK_PAIR = re.compile("`(?=`)")
_ZERO_WIDTH_SPACE = "\u200b"
# What a backtick becomes inside inline code, which has no escape for it.
_INLINE_BACKTICK = "\u02cb"
_DROPPED_MARKER_MAX = len("… 99999 more lines") + 1
_CAPTIONS = {
    "errors": "Last error lines in its log:",
    "tail": "Last lines of its log (nothing logged at ERROR):",
}


@dataclass(frozen=True)
class SlackMessage:
    """A rendered message: fallback text plus Block Kit blocks, for one channel."""

    channel: str
    text: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def to_payload(self) -> dict[str, Any]:
        """Keyword arguments for ``WebClient.chat_postMessage`` (and the golden files)."""
        return {
            "channel": self.channel,
            "text": self.text,
            "blocks": [block.to_dict() for block in self.blocks],
            "unfurl_links": False,
            "unfurl_media": False,
        }


def escape(text: str) -> str:
    """Escape Slack's control characters so untrusted text cannot mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_url(url: str) -> str:
    """A URL inside ``<url|label>``: escaped as Slack asks, and unable to end the link early."""
    return escape(url).replace("|", "%7C")


def mrkdwn_link(link: Link) -> str:
    """``<url|label>``, both escaped."""
    return f"<{link_url(link.url)}|{escape(link.label)}>"


def inline_code(text: str) -> str:
    """Escaped text as inline code; a backtick inside would end it, so it becomes U+02CB."""
    return f"`{escape(text).replace('`', _INLINE_BACKTICK)}`"


def _quoted(text: str) -> str:
    return escape(text).replace("\n", "\n>")


def fit_mrkdwn(parts: Iterable[str | Link], limit: int, *, quote: bool = False) -> tuple[str, bool]:
    """Text and links as mrkdwn within ``limit`` characters (links whole); ``quote`` prefixes lines with ``>``."""
    if quote:
        body, cut = fit(parts, limit - 1, _quoted, mrkdwn_link)
        return ">" + body, cut
    return fit(parts, limit, escape, mrkdwn_link)


class _Budget:
    """Cuts text to a limit and remembers that it did, so the message can say so."""

    def __init__(self) -> None:
        self.truncated = False

    def cut(self, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self.truncated = True
        # Never leave half an escape such as "&am" behind.
        head = _PARTIAL_ENTITY.sub("", text[: limit - len(ELLIPSIS)])
        return head + ELLIPSIS


def slack_date(moment: datetime) -> str:
    """A Slack date token: shown in each reader's own time zone, UTC text as fallback."""
    utc = moment.astimezone(timezone.utc)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def headline(content: MessageContent) -> str:
    """The one-line wording users know from the original exit handler (mrkdwn, escaped)."""
    return exit_handler_line(content, escape)


def mrkdwn_prose(text: Prose, *, quote: bool = False) -> str:
    """Escaped text with its links as ``<url|label>``; ``quote`` prefixes each line with ``>``."""
    out = "".join(mrkdwn_link(s) if isinstance(s, Link) else escape(s) for s in text.segments)
    if quote:
        out = "\n".join(f">{line}" for line in out.splitlines() or [""])
    return out


def _unverified(content: MessageContent) -> str:
    return f":warning: {escape(content.unverified_line)}" if content.unverified else ""


def results_mrkdwn(content: MessageContent) -> str:
    """The results line: ``:warning: *Model NOT blessed*: pushed nothing`` (the warning in bold)."""
    if not content.results:
        return ""
    text = escape(content.results)
    if content.results_warning:
        head, colon, tail = text.partition(":")
        text = f"*{head}*{colon}{tail}"
    return f"{content.results_emoji} {text}"


def metrics_mrkdwn(content: MessageContent) -> str:
    """``Metrics of `evaluate`: `auc` 0.9312 · `accuracy` 0.8875 (+1 more)``, or ''."""
    if not content.metrics:
        return ""
    task = f" of {inline_code(shorten(content.metrics_task, NAME_MAX))}" if content.metrics_task else ""
    shown = " · ".join(f"{inline_code(name)} {escape(value)}" for name, value in content.metrics)
    more = f" (+{content.metrics_more} more)" if content.metrics_more else ""
    return f":bar_chart: Metrics{task}: {shown}{more}"


def _fallback_text(content: MessageContent, budget: _Budget) -> str:
    text = budget.cut(headline(content), LEAD_MAX)
    if content.mention:
        text = f"{content.mention} {text}"
    if content.unverified:
        text = f"{_unverified(content)}\n{text}"
    if content.comparison:
        text = f"{text}\n{_comparison(content)}"
    if content.results:
        text += "\n" + results_mrkdwn(content)
    room = FALLBACK_TEXT_MAX - len(text) - 1
    if content.state == FAILED and content.run_error and room > len(ELLIPSIS):
        error = prose(content.run_error, FALLBACK_ERROR_MAX, max_lines=5)
        body, cut = fit_mrkdwn(error.segments, room, quote=True)
        budget.truncated |= error.cut or cut
        text += "\n" + body
    return budget.cut(text, FALLBACK_TEXT_MAX)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _lead(content: MessageContent, budget: _Budget) -> str:
    duration = ""
    if content.duration:
        approx = "~" if content.duration_so_far else ""
        duration = (
            f" in {approx}{content.duration}"
            if content.state == SUCCEEDED
            else f" after {approx}{content.duration}"
        )
    text = (
        f"{content.emoji} *{escape(budget.cut(content.title, NAME_MAX))}* {escape(content.outcome)}{duration}"
    )
    if content.mention:
        text = f"{content.mention} {text}"
    return budget.cut(text, LEAD_MAX)


def code_block(lines: tuple[str, ...], limit: int, budget: _Budget) -> str:
    """Lines as a code block within ``limit`` characters: whole lines, the first and last kept.

    No two backticks are adjacent inside (a zero-width space goes between), so no run of
    them can end the block early; the closing fence is always there, however the body is cut.
    """
    escaped = [_BACKTICK_PAIR.sub("`" + _ZERO_WIDTH_SPACE, escape(line)) for line in lines]
    room = limit - len("```\n") - len("\n```")
    size = sum(len(line) + 1 for line in escaped) - 1
    dropped = 0
    if size > room:
        # The oldest lines after the first go (a traceback's header stays), until the rest
        # and a "… n more lines" marker fit.
        while len(escaped) - dropped > 2 and size + _DROPPED_MARKER_MAX > room:
            size -= len(escaped[1 + dropped]) + 1
            dropped += 1
    if dropped:
        budget.truncated = True
        escaped[1 : 1 + dropped] = [f"… {dropped} more lines"]
    return "```\n" + budget.cut("\n".join(escaped), room) + "\n```"


def _excerpt_text(excerpt: LogExcerpt, budget: _Budget) -> str:
    caption = _CAPTIONS.get(excerpt.kind, "")
    head = f"{caption}\n" if caption else ""
    return head + code_block(excerpt.lines, SECTION_TEXT_MAX - len(head), budget)


def _cause_blocks(cause: TaskCause, with_excerpt: bool, budget: _Budget) -> list[Block]:
    """The task's name, its error and its *View logs* link (whole), then its excerpt or a note."""
    name = f"*{escape(budget.cut(cause.name, NAME_MAX))}*: "
    logs = (" · ", cause.logs) if cause.logs else ()
    body, cut = fit_mrkdwn((*cause.error.segments, *logs), SECTION_TEXT_MAX - len(name))
    budget.truncated |= cause.error.cut or cut
    blocks: list[Block] = [_section(name + body)]
    note = cause.log_note
    if cause.excerpt is not None and with_excerpt:
        blocks.append(_section(_excerpt_text(cause.excerpt, budget)))
    elif cause.excerpt is not None:
        note = "log excerpt left out to keep the message within Slack's size limit"
        budget.truncated = True
    if note:
        text = budget.cut(f":warning: Logs: {escape(note)}", NOTE_MAX)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=text)]))
    return blocks


def _more_tasks(names: tuple[str, ...], count: int, budget: _Budget) -> str:
    listed = ", ".join(f"*{escape(budget.cut(name, NAME_MAX))}*" for name in names)
    noun = "task" if count == 1 else "tasks"
    return budget.cut(f"…and {count} more failed {noun}: {listed}", MORE_TASKS_MAX)


def _buttons(links: tuple[Link, ...]) -> list[ButtonElement]:
    buttons = []
    for number, link in enumerate(links):
        if not link.url or len(link.url) > URL_MAX:
            continue  # a button with half a URL would lead somewhere else: leave it out
        buttons.append(
            ButtonElement(
                text=PlainTextObject(text=shorten(link.label, BUTTON_TEXT_MAX), emoji=True),
                url=link.url,
                action_id="open_vertex_console"
                if number == 0 and link.label == OPEN_IN_VERTEX
                else f"link_{number}",
            )
        )
    return buttons[:ACTIONS_ELEMENTS_MAX]


def _pairs(pairs: tuple[tuple[str, str], ...], title: str, limit: int, budget: _Budget) -> str:
    items = " · ".join(
        f"{inline_code(budget.cut(key, 100))}={inline_code(budget.cut(value, PARAMETER_VALUE_MAX))}"
        for key, value in pairs
    )
    return budget.cut(f"{title}: {items}", limit)


def _context(content: MessageContent, budget: _Budget) -> list[MarkdownTextObject]:
    started = [f"Started {slack_date(content.started)}"] if content.started else []
    return _context_elements(
        started + _facts(content.facts),
        content.labels,
        content.parameters,
        content.notes,
        content.source_note,
        budget,
    )


def _facts(facts: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"{label} {inline_code(value)}" for label, value in facts]


def _context_elements(
    facts: list[str],
    labels: tuple[tuple[str, str], ...],
    parameters: tuple[tuple[str, str], ...],
    notes: tuple[str, ...],
    source_note: str,
    budget: _Budget,
) -> list[MarkdownTextObject]:
    """The compact context line: facts, labels, parameters, notes, where the notice came from."""
    elements: list[str] = []
    if facts:
        elements.append(budget.cut(" · ".join(facts), FACTS_MAX))
    if labels:
        elements.append(_pairs(labels, "Labels", LABELS_MAX, budget))
    if parameters:
        elements.append(_pairs(parameters, "Parameters", PARAMETERS_MAX, budget))
    for note in notes:
        elements.append(budget.cut(f":warning: {escape(note)}", NOTE_MAX))
    if source_note:
        elements.append(escape(source_note))
    if not elements:
        elements.append("Vertex AI Pipelines")
    return [MarkdownTextObject(text=text) for text in elements]


def _closing(links: tuple[Link, ...], context: list[MarkdownTextObject], budget: _Budget) -> list[Block]:
    """The buttons, then the context line (saying when something was shortened)."""
    blocks: list[Block] = []
    buttons = _buttons(links)
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    if budget.truncated:
        context.append(MarkdownTextObject(text=":scissors: Some text was shortened to fit Slack's limits."))
    blocks.append(ContextBlock(elements=context[:CONTEXT_ELEMENTS_MAX]))
    return blocks


def _error_section(error: Prose, budget: _Budget) -> SectionBlock:
    """An error as a quote, its links whole."""
    body, cut = fit_mrkdwn(error.segments, SECTION_TEXT_MAX, quote=True)
    budget.truncated |= error.cut or cut
    return _section(body)


def _comparison(content: MessageContent) -> str:
    """Run history's line (slower or later than usual), or ''."""
    comparison = content.comparison
    return f"{comparison_emoji(comparison)} {escape(comparison_line(comparison))}" if comparison else ""


def _blocks(content: MessageContent, excerpts: int, budget: _Budget) -> list[Block]:
    blocks: list[Block] = [_section(_unverified(content))] if content.unverified else []
    blocks.append(_section(_lead(content, budget)))
    if content.comparison:
        blocks.append(_section(_comparison(content)))
    for number, cause in enumerate(content.causes):
        blocks.extend(_cause_blocks(cause, number < excerpts, budget))
    if content.more_count:
        blocks.append(_section(_more_tasks(content.more_tasks, content.more_count, budget)))
    if content.error:
        blocks.append(_error_section(content.error, budget))
    produced = "\n".join(line for line in (results_mrkdwn(content), metrics_mrkdwn(content)) if line)
    if produced:
        blocks.append(_section(budget.cut(produced, SECTION_TEXT_MAX)))
    blocks += _closing(content.links, _context(content, budget), budget)
    return blocks[:BLOCKS_MAX]


def text_size(blocks: list[Block]) -> int:
    """Characters of text in ``blocks`` (what Slack's practical message size limit counts)."""

    def walk(node: Any) -> int:
        if isinstance(node, dict):
            own = len(node["text"]) if isinstance(node.get("text"), str) else 0
            return own + sum(
                walk(value) for key, value in node.items() if key != "text" or not isinstance(value, str)
            )
        if isinstance(node, list):
            return sum(walk(item) for item in node)
        return 0

    return walk([block.to_dict() for block in blocks])


def render(
    status: FinalStatus,
    enrichment: Enrichment,
    *,
    channel: str,
    mention: str = "",
    reference_time: datetime | None = None,
) -> SlackMessage:
    """Build the Slack message for one pipeline run.

    ``mention`` is trusted configuration (it must stay live, and is dropped when the notice
    is unverified); every other string is scrubbed and escaped. ``reference_time`` stands
    in for the end time while the job is still finishing (the exit handler runs before
    Vertex marks the job ended).
    """
    if status.schedule is not None:
        return render_schedule(status, enrichment, channel=channel, reference_time=reference_time)
    content = build(status, enrichment, mention=mention, reference_time=reference_time)
    # Log excerpts are the bulk of a failure message: leave out the last ones until it fits.
    for excerpts in range(len(content.causes), -1, -1):
        budget = _Budget()
        fallback = _fallback_text(content, budget)
        blocks = _blocks(content, excerpts, budget)
        if text_size(blocks) <= MESSAGE_TEXT_MAX:
            break
    return SlackMessage(channel=channel, text=fallback, blocks=tuple(blocks))


def schedule_lead(content: ScheduleContent, budget: _Budget) -> str:
    """The schedule warning's one line in mrkdwn: its emoji, names bold, the cron as code."""
    line = styled(
        content.lead,
        text=escape,
        name=lambda name: f"*{escape(budget.cut(name, NAME_MAX))}*",
        code=inline_code,
    )
    return budget.cut(f"{content.emoji} {line}", LEAD_MAX)


def render_schedule(
    status: FinalStatus, enrichment: Enrichment, *, channel: str, reference_time: datetime | None = None
) -> SlackMessage:
    """The Slack message for a schedule warning: its line, a failed creation's error, the schedule's
    link, the context line. No mention: no run failed."""
    content = schedule_content(status, enrichment, reference_time=reference_time)
    budget = _Budget()
    lead = schedule_lead(content, budget)
    blocks: list[Block] = [_section(lead)]
    if content.error:
        blocks.append(_error_section(content.error, budget))
    context = _context_elements(_facts(content.facts), content.labels, (), (), content.source_note, budget)
    blocks += _closing(content.links, context, budget)
    return SlackMessage(channel=channel, text=lead, blocks=tuple(blocks))


def render_reply(
    status: FinalStatus,
    enrichment: Enrichment,
    *,
    channel: str,
    thread_ts: str,
    reference_time: datetime | None = None,
) -> dict[str, Any]:
    """The reply in the thread ``thread_ts`` of a "still running" warning once its run has ended:
    one line (how it ended, after how long), run history's line when it was slow, the link.
    Keyword arguments for ``chat.postMessage``."""
    content = build(status, enrichment, reference_time=reference_time)
    line = f"{content.emoji} {escape(shorten(ended_line(content), LEAD_MAX))}"
    text = f"{line}\n{_comparison(content)}" if content.comparison else line
    blocks: list[Block] = [_section(text)]
    buttons = _buttons(content.links)
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return {
        **SlackMessage(channel=channel, text=text, blocks=tuple(blocks)).to_payload(),
        "thread_ts": thread_ts,
    }


# --- the buttons people act from (only with ACTIONS_TOPIC; see notifier.actions) -----------

# How the lines of what was done from a message begin (the worker writes them, a redraw keeps them).
RETRIED = ":repeat:"
CANCEL_REQUESTED = ":octagonal_sign:"
DONE_MARKS = (RETRIED, CANCEL_REQUESTED)


@dataclass(frozen=True)
class Controls:
    """The buttons of one message and the lines saying what was done from them.

    ``block`` is the kind of message (``FAILED_BLOCK``, ``RUNNING_BLOCK``: the buttons'
    block_id, which a click names); ``job`` the run's checked job name, every button's
    value; ``allowed`` the opt-in commands (``ALLOW_ACTIONS``); ``done`` lines (mrkdwn,
    built by the worker from checked values) such as "Retried by … as …".
    """

    block: str
    job: str
    allowed: frozenset[str] = frozenset()
    quiet: Quiet = NOTHING_SAID
    done: tuple[str, ...] = ()

    def spent(self, command: Command) -> bool:
        """A cancel or retry already done from this message (its line says so): no second button."""
        mark = {Command.CANCEL: CANCEL_REQUESTED, Command.RETRY: RETRIED}.get(command)
        return mark is not None and any(line.startswith(mark) for line in self.done)


def controls_for(
    status: FinalStatus, job: str, quiet: Quiet = NOTHING_SAID, allowed: frozenset[str] = frozenset()
) -> Controls | None:
    """The controls of a message about ``status``: failures and runs still going get buttons, nothing
    else does; nor does a run whose name does not parse (a button's value must be a checked name)."""
    try:
        name = parse_job_name(job)
    except NameRejectedError:
        return None
    if status.state == FAILED:
        return Controls(FAILED_BLOCK, name.resource, allowed, quiet)
    if status.state in RUNNING_STATES:
        return Controls(RUNNING_BLOCK, name.resource, allowed, quiet)
    return None


def _button(
    command: Command, label: str, job: str, *, style: str | None = None, confirm: ConfirmObject | None = None
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=label, emoji=True),
        action_id=command.action_id,
        value=job,
        style=style,
        confirm=confirm,
    )


def _confirm(title: str, text: str, yes: str) -> ConfirmObject:
    return ConfirmObject(title=title, text=MarkdownTextObject(text=text), confirm=yes, deny="Not now")


def status_lines(controls: Controls) -> list[str]:
    """What was said and done from the message: acknowledged, muted, retried …"""
    quiet, lines = controls.quiet, []
    if quiet.acknowledged and quiet.acked_at is not None:
        lines.append(f":eyes: Acknowledged by <@{quiet.acked_by}> at {slack_date(quiet.acked_at)}")
    if quiet.muted and quiet.muted_until is not None:
        lines.append(f":mute: Muted until {slack_date(quiet.muted_until)} by <@{quiet.muted_by}>")
    return [*lines, *controls.done]


def control_blocks(controls: Controls) -> list[dict[str, Any]]:
    """The context line of what was done, then the buttons (with a confirmation before cancel and retry)."""
    job_id = inline_code(controls.job.rsplit("/", 1)[-1])
    buttons: list[ButtonElement] = []
    if controls.block == FAILED_BLOCK and not controls.quiet.acknowledged:
        buttons.append(_button(Command.ACK, "Acknowledge", controls.job, style="primary"))
    if (
        controls.block == RUNNING_BLOCK
        and Command.CANCEL.value in controls.allowed
        and not controls.spent(Command.CANCEL)
    ):
        confirm = _confirm(
            "Cancel this run?", f"Vertex AI stops {job_id}; this cannot be undone.", "Cancel the run"
        )
        buttons.append(_button(Command.CANCEL, "Cancel run", controls.job, style="danger", confirm=confirm))
    if (
        controls.block == FAILED_BLOCK
        and Command.RETRY.value in controls.allowed
        and not controls.spent(Command.RETRY)
    ):
        confirm = _confirm(
            "Retry this run?",
            f"A new run of {job_id} with the same spec, parameters, labels and service account; "
            "steps that succeeded are reused from the cache.",
            "Retry",
        )
        buttons.append(_button(Command.RETRY, "Retry", controls.job, confirm=confirm))
    if controls.quiet.muted:
        buttons.append(_button(Command.UNMUTE, "Unmute", controls.job))
    else:
        buttons.append(_button(Command.MUTE, f"Mute {MUTE_HOURS} h", controls.job))
    blocks: list[Block] = []
    lines = status_lines(controls)
    if lines:
        elements = [MarkdownTextObject(text=line[:CONTEXT_TEXT_MAX]) for line in lines[:CONTEXT_ELEMENTS_MAX]]
        blocks.append(ContextBlock(elements=elements, block_id=STATUS_BLOCK))
    blocks.append(ActionsBlock(elements=buttons, block_id=controls.block))
    return [block.to_dict() for block in blocks]


def done_lines(blocks: Iterable[Any]) -> tuple[str, ...]:
    """The lines of what was done (retried, cancel requested) in a message's blocks as Slack holds
    them, to keep when the message is drawn again: at most five, each within a context element."""
    lines = []
    for block in blocks:
        if isinstance(block, dict) and block.get("block_id") == STATUS_BLOCK:
            for element in block.get("elements") or []:
                text = element.get("text") if isinstance(element, dict) else None
                if isinstance(text, str) and text.startswith(DONE_MARKS) and len(text) <= NOTE_MAX:
                    lines.append(text)
    return tuple(lines[:5])
