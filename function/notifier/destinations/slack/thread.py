"""Slack threads for failing streaks: the streak line, the root's rewrite, replies, metadata.

Pure, like ``render``: it takes a rendered message as its ``chat.postMessage`` payload
and returns payloads (golden-tested: ``tests/data/<case>.root-update.slack.json`` and
``<case>.recovery.slack.json``). ``streaks`` decides what goes where; this module only
says it in Block Kit.

Every payload carries message metadata (``event_type`` ``vertex_pipeline_run``) naming the
job, the pipeline, the state and where the message sits in its streak, so the streak
state can be rebuilt from the channel's history should Firestore lose it (``rebuild``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from notifier.actions.commands import BLOCK_IDS, STATUS_BLOCK
from notifier.destinations.content import NAME_KEEP, clean
from notifier.destinations.slack.render import (
    BLOCKS_MAX,
    FALLBACK_TEXT_MAX,
    Controls,
    control_blocks,
    controls_for,
    escape,
    slack_date,
)
from notifier.model import FAILED, SUCCEEDED, FinalStatus, Quiet
from notifier.state.streak_rules import Line, Mark, Post, Streak
from notifier.version import __version__ as NOTIFIER_VERSION

EVENT_TYPE = "vertex_pipeline_run"
_FAILING_EMOJI = ":rotating_light:"
_RECOVERED_EMOJI = ":white_check_mark:"


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def streak_line(line: Line, streak: Streak) -> str:
    """The streak line (mrkdwn): how long the pipeline has been failing, or that it recovered."""
    since = f" since {slack_date(streak.since)}" if streak.since else ""
    if line == Line.FAILING:
        run = clean(streak.last_failure, NAME_KEEP)  # a run id, from a status: scrubbed like all content
        last = f", last: *{escape(run)}*" if run else ""
        return f"{_FAILING_EMOJI} *Failing for {_runs(streak.failures)}*{since}{last}"
    if line == Line.RECOVERED:
        failed = "failed run" if streak.failures == 1 else "failed runs"
        was = f" (failing{since})" if since else ""
        return f"{_RECOVERED_EMOJI} *Recovered after {streak.failures} {failed}*{was}"
    return ""


def _plain(mrkdwn: str) -> str:
    """The line as notification text: Slack date tokens to their fallback, no bold."""
    out, rest = [], mrkdwn
    while "<!date^" in rest:
        head, _, tail = rest.partition("<!date^")
        token, _, rest = tail.partition(">")
        out.append(head + token.rpartition("|")[2])
    return ("".join(out) + rest).replace("*", "")


def with_line(payload: Mapping[str, Any], line: Line, streak: Streak) -> dict[str, Any]:
    """``payload`` with the streak line as its first block and at the head of its fallback text."""
    text = streak_line(line, streak)
    result = dict(payload)
    if not text:
        return result
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    result["blocks"] = [block, *list(payload.get("blocks") or [])][:BLOCKS_MAX]
    result["text"] = f"{_plain(text)}\n{payload.get('text', '')}"[:FALLBACK_TEXT_MAX]
    return result


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else ""


def metadata(
    *,
    job: str,
    pipeline: str,
    state: str,
    post: Post,
    run_time: datetime | None = None,
    streak: Streak | None = None,
) -> dict[str, Any]:
    """Slack message metadata for one message: flat scalars, as Slack's payload schema wants."""
    payload: dict[str, Any] = {"job": job, "pipeline": pipeline, "state": state, "post": post.value}
    if run_time is not None:
        payload["run_time"] = _iso(run_time)
    if streak is not None and streak.failures:
        payload.update(
            streak_open=streak.open,
            streak_failures=streak.failures,
            streak_since=_iso(streak.since),
            streak_last_failure=streak.last_failure,
        )
    payload["notifier_version"] = NOTIFIER_VERSION
    return {"event_type": EVENT_TYPE, "event_payload": payload}


def run_metadata(
    status: FinalStatus, pipeline: str, post: Post, run_time: datetime | None, streak: Streak | None = None
) -> dict[str, Any]:
    """Metadata for the message of the run ``status`` reports."""
    return metadata(
        job=status.pipeline_job_resource_name or status.job_id,
        pipeline=pipeline,
        state=status.state,
        post=post,
        run_time=run_time,
        streak=streak,
    )


def message(
    payload: Mapping[str, Any],
    *,
    meta: Mapping[str, Any],
    line: Line = Line.NONE,
    streak: Streak | None = None,
    thread_ts: str = "",
    broadcast: bool = False,
) -> dict[str, Any]:
    """A ``chat.postMessage`` payload: the rendered message, its streak line, thread and metadata."""
    result = with_line(payload, line, streak) if streak is not None else dict(payload)
    if thread_ts:
        result["thread_ts"] = thread_ts
        if broadcast:
            result["reply_broadcast"] = True
    result["metadata"] = dict(meta)
    return result


_CONTROL_BLOCKS = BLOCK_IDS | {STATUS_BLOCK}


def with_controls(payload: Mapping[str, Any], controls: Controls | None) -> dict[str, Any]:
    """``payload`` with its buttons and the line of what was done from them drawn anew from
    ``controls`` (None: none at all), at its end; the message's own blocks are kept, the last
    of them left out should Slack's block limit require it."""
    blocks = [
        block
        for block in payload.get("blocks") or []
        if not (isinstance(block, Mapping) and block.get("block_id") in _CONTROL_BLOCKS)
    ]
    extra = control_blocks(controls) if controls is not None else []
    if len(blocks) + len(extra) > BLOCKS_MAX:
        blocks = blocks[: BLOCKS_MAX - len(extra)]
    return {**payload, "blocks": [*blocks, *extra]}


def root_body(payload: Mapping[str, Any]) -> str:
    """What the streak store keeps of the root, to rewrite it later: its text and blocks."""
    return json.dumps({"text": payload.get("text", ""), "blocks": payload.get("blocks") or []})


def root_update(
    channel: str, ts: str, body: str, streak: Streak, pipeline: str, root_run: str
) -> dict[str, Any]:
    """The ``chat.update`` payload rewriting the root: its streak line on top of what it said."""
    original = json.loads(body) if body else {}
    line = Line.FAILING if streak.open else Line.RECOVERED
    mark = streak.mark(root_run)
    updated = with_line(
        {"text": original.get("text", ""), "blocks": original.get("blocks") or []}, line, streak
    )
    return {
        "channel": channel,
        "ts": ts,
        "text": updated["text"],
        "blocks": updated["blocks"],
        "metadata": metadata(
            job=root_run,
            pipeline=pipeline,
            state=FAILED,
            post=Post.ROOT,
            run_time=mark.time if mark else None,
            streak=streak,
        ),
    }


def root_redrawn(
    channel: str, pipeline: str, streak: Streak, actions: frozenset[str] | None, quiet: Quiet
) -> dict[str, Any]:
    """The ``chat.update`` of a streak's root as things stand: its streak line (``root_update``)
    and, with actions on (``actions``: the opt-in ones allowed), its buttons while the streak is
    open and none once it has recovered."""
    payload = root_update(channel, streak.root_ref, streak.root_body, streak, pipeline, streak.root_run)
    if actions is None:
        return payload
    controls = controls_for(FinalStatus(FAILED, streak.root_run), streak.root_run, quiet, actions)
    return with_controls(payload, controls if streak.open else None)


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class _Event:
    ts: float
    message: Mapping[str, Any]
    payload: Mapping[str, Any]
    post: Post

    @property
    def run_time(self) -> datetime | None:
        return _parse_time(self.payload.get("run_time"))


def _events(messages: Iterable[Mapping[str, Any]]) -> list[_Event]:
    events = []
    for item in messages:
        meta = item.get("metadata")
        payload = meta.get("event_payload") if isinstance(meta, Mapping) else None
        if not isinstance(payload, Mapping) or meta.get("event_type") != EVENT_TYPE:
            continue
        try:
            events.append(_Event(float(item.get("ts") or 0), item, payload, Post(payload.get("post"))))
        except ValueError:
            continue  # not one of ours after all
    return sorted(events, key=lambda event: event.ts)


def rebuild(messages: Iterable[Mapping[str, Any]]) -> dict[str, Streak]:
    """The streak state per pipeline, read back from one channel's messages and their metadata.

    ``messages`` are what ``conversations.history`` and ``conversations.replies`` return
    with ``include_all_metadata`` (``ts``, ``thread_ts``, ``metadata``, ``text``, ``blocks``).
    The newest root of a pipeline holds its streak (the root's metadata is rewritten with
    every update), its thread the runs already counted; the root's own words, without its
    streak line, are what later updates rewrite.
    """
    events = _events(messages)
    streaks: dict[str, Streak] = {}
    for pipeline in {str(event.payload.get("pipeline", "")) for event in events}:
        mine = [event for event in events if event.payload.get("pipeline") == pipeline]
        successes = [
            when for event in mine if event.payload.get("state") == SUCCEEDED and (when := event.run_time)
        ]
        roots = [event for event in mine if event.post == Post.ROOT and not event.message.get("thread_ts")]
        if not roots:
            streaks[pipeline] = Streak(last_success_time=max(successes, default=None))
            continue
        root = roots[-1]
        thread = [e for e in mine if e.ts == root.ts or e.message.get("thread_ts") == root.message.get("ts")]
        marks = tuple(
            Mark(
                str(event.payload.get("job", "")),
                str(event.payload.get("state", "")),
                when,
                event.post,
                Line.RECOVERED if event.post == Post.RECOVERY else Line.NONE,
            )
            for event in thread
            if (when := event.run_time)
        )
        failures = [mark.time for mark in marks if mark.counted]
        summary = root.payload
        streak = Streak(
            open=summary.get("streak_open", True) is True,
            failures=int(summary.get("streak_failures") or 1),
            since=_parse_time(summary.get("streak_since")) or min(failures, default=None),
            last_failure=str(summary.get("streak_last_failure") or ""),
            last_failure_time=max(failures, default=None),
            last_success_time=max(successes, default=None),
            root_ref=str(root.message.get("ts", "")),
            # A message's ts is when Slack took it: the root's age, for the streak's expiry.
            root_at=datetime.fromtimestamp(root.ts, timezone.utc),
            root_run=str(summary.get("job", "")),
            marks=marks,
        )
        streaks[pipeline] = replace(streak, root_body=_without_line(root.message, streak))
    return streaks


def _without_line(root: Mapping[str, Any], streak: Streak) -> str:
    """The root's body as ``root_body`` keeps it: what it said before its streak line was added."""
    line = streak_line(Line.FAILING if streak.open else Line.RECOVERED, streak)
    blocks = list(root.get("blocks") or [])
    text = str(root.get("text", ""))
    first = blocks[0].get("text") if blocks and isinstance(blocks[0], Mapping) else None
    if isinstance(first, Mapping) and first.get("text") == line:
        blocks, text = blocks[1:], text.partition("\n")[2]
    return json.dumps({"text": text, "blocks": blocks})
