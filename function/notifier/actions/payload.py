"""Read a Slack interactivity request into a frozen ``Click``, trusting nothing in it.

Slack posts ``application/x-www-form-urlencoded`` with one field, ``payload``, a JSON
``block_actions`` document. Everything in it is hostile until checked here: the user,
team and channel ids against Slack's id grammars, the message timestamps, the button's
``action_id`` (one of ours, ``commands.Command``), its ``block_id`` (the kind of message)
and its ``value`` (a job name, through ``names.parse_job_name``), and the ``response_url``
(Slack's own host and path, or the loopback stand-in's that ``SLACK_API_URL`` names).
Nothing of it is ever used to build a URL; the clicked message's blocks are kept, bounded,
only to draw that same message again.

A click on one of our link buttons (*Open in Vertex AI*) is a ``block_actions`` request too:
it reads as None, answered and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from notifier import bounded_json
from notifier.actions.commands import FAILED_BLOCK, RUNNING_BLOCK, Command
from notifier.errors import BadMessageError
from notifier.names import (
    JobName,
    is_slack_channel_id,
    is_slack_ts,
    is_slack_user,
    parse_job_name,
    quoted,
)

# A request's body: Slack's payload with the clicked message in it (a message is at most
# about 10,000 characters of block text, which URL-encoding may triple).
MAX_BODY = 128 * bounded_json.KIB
PAYLOAD = bounded_json.Limits(max_bytes=MAX_BODY, max_depth=24)
SLACK_HOOKS = "https://hooks.slack.com"
_TEAM_RE = re.compile(r"[TE][A-Z0-9]{2,20}")
_RESPONSE_PATH_RE = re.compile(r"/actions/[TE][A-Z0-9]{2,20}/[0-9]{1,20}/[A-Za-z0-9]{8,64}")
_BLOCKS_MAX = 50
_TEXT_MAX = 40_000
# Which kind of message each command's button is drawn on (render.control_blocks).
_BLOCKS_OF = {
    Command.ACK: {FAILED_BLOCK},
    Command.RETRY: {FAILED_BLOCK},
    Command.CANCEL: {RUNNING_BLOCK},
    Command.MUTE: {FAILED_BLOCK, RUNNING_BLOCK},
    Command.UNMUTE: {FAILED_BLOCK, RUNNING_BLOCK},
}


class PayloadError(BadMessageError):
    """The request is not a block_actions payload we can read; it changes nothing."""


@dataclass(frozen=True)
class Click:
    """One click on one of our buttons, every part checked."""

    command: Command
    job: JobName
    block: str  # the kind of message clicked: FAILED_BLOCK or RUNNING_BLOCK
    user: str  # the Slack user id of who clicked
    team: str
    channel: str
    message_ts: str
    thread_ts: str  # the thread the message is in ('' for a top-level message)
    action_ts: str
    response_url: str
    message_text: str = ""
    message_blocks: tuple[Mapping[str, Any], ...] = ()

    @property
    def thread(self) -> str:
        """Where a reply about this click goes: the message's thread, or a new one under it."""
        return self.thread_ts or self.message_ts


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{what} is not an object")
    return value


def _text(value: Any, what: str, check: Any) -> str:
    if not isinstance(value, str) or not check(value):
        shown = quoted(value) if isinstance(value, str) else type(value).__name__
        raise PayloadError(f"{what} {shown} is malformed")
    return value


def response_origins(slack_api_url: str) -> frozenset[str]:
    """Where a response_url may point: Slack's hooks host, and a loopback stand-in ``SLACK_API_URL`` names."""
    origins = {SLACK_HOOKS}
    if slack_api_url.startswith("http://"):  # checked at start-up: http only to loopback
        origins.add("/".join(slack_api_url.split("/", 3)[:3]))
    return frozenset(origins)


def checked_response_url(value: Any, origins: frozenset[str]) -> str:
    """``value`` when it is a response_url of Slack's (or the stand-in's), else PayloadError."""
    if isinstance(value, str) and len(value) <= 300:
        for origin in origins:
            if value.startswith(origin) and _RESPONSE_PATH_RE.fullmatch(value[len(origin) :]):
                return value
    raise PayloadError("response_url is not one of Slack's")


def form_payload(body: bytes) -> Any:
    """The parsed JSON of the body's one ``payload`` field; PayloadError when it is anything else."""
    if len(body) > MAX_BODY:
        raise PayloadError(f"body of {len(body):,} bytes, over {MAX_BODY:,}")
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=4)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body is not a form with a payload field") from None
    values = fields.get("payload")
    if set(fields) != {"payload"} or not values or len(values) != 1:
        raise PayloadError("body is not a form with one payload field")
    try:
        return bounded_json.loads(values[0], PAYLOAD)
    except bounded_json.JsonInputError as exc:
        raise PayloadError(f"payload {exc}") from None


def _blocks(message: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    blocks = message.get("blocks") or []
    if not isinstance(blocks, Sequence) or isinstance(blocks, str) or len(blocks) > _BLOCKS_MAX:
        raise PayloadError("message blocks are not a list of at most 50")
    if not all(isinstance(block, Mapping) and isinstance(block.get("type"), str) for block in blocks):
        raise PayloadError("message blocks are not all blocks")
    return tuple(blocks)


def parse_click(document: Any, origins: frozenset[str]) -> Click | None:
    """The click in a ``block_actions`` payload; None when the button is not one of ours."""
    payload = _object(document, "payload")
    if payload.get("type") != "block_actions":
        raise PayloadError(f"payload type {quoted(str(payload.get('type')))} is not block_actions")
    actions = payload.get("actions")
    if not isinstance(actions, Sequence) or isinstance(actions, str) or not 1 <= len(actions) <= 5:
        raise PayloadError("actions is not a list of one click")
    action = _object(actions[0], "the action")
    command = Command.from_action_id(str(action.get("action_id", "")))
    if command is None:
        return None  # a link button, or nothing of ours
    block = action.get("block_id")
    if block not in _BLOCKS_OF[command]:
        raise PayloadError(f"{command.value} clicked in block {quoted(str(block))}")
    value = action.get("value")
    job = parse_job_name(value, "button value")
    user = _object(payload.get("user"), "user")
    container = _object(payload.get("container"), "container")
    if container.get("type") != "message" or container.get("is_ephemeral") is True:
        raise PayloadError("the click is not on a message of the channel")
    message = _object(payload.get("message"), "message")
    message_ts = _text(container.get("message_ts"), "message ts", is_slack_ts)
    if message.get("ts") != message_ts:
        raise PayloadError("the message and its container disagree")
    thread_ts = message.get("thread_ts") or ""
    if thread_ts:
        _text(thread_ts, "thread ts", is_slack_ts)
    text = message.get("text") or ""
    if not isinstance(text, str) or len(text) > _TEXT_MAX:
        raise PayloadError("message text is not text")
    team = user.get("team_id") or _object(payload.get("team"), "team").get("id")
    return Click(
        command=command,
        job=job,
        block=str(block),
        user=_text(user.get("id"), "user id", is_slack_user),
        team=_text(team, "team id", _TEAM_RE.fullmatch),
        channel=_text(container.get("channel_id"), "channel id", is_slack_channel_id),
        message_ts=message_ts,
        thread_ts="" if thread_ts == message_ts else thread_ts,
        action_ts=_text(action.get("action_ts"), "action ts", is_slack_ts),
        response_url=checked_response_url(payload.get("response_url"), origins),
        message_text=text,
        message_blocks=_blocks(message),
    )


def read_click(body: bytes, origins: frozenset[str]) -> Click | None:
    """The click a request's body carries (None: not one of our buttons); PayloadError otherwise."""
    return parse_click(form_payload(body), origins)
