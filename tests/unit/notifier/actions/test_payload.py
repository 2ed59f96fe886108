"""Reading Slack's block_actions payload (``actions.payload``): every part checked, nothing trusted.

tests/data/actions/block_actions.json is a click on a failure message's Acknowledge, shaped
as Slack sends it; each test changes one thing in it.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from notifier.actions.commands import Command
from notifier.actions.payload import (
    MAX_BODY,
    PayloadError,
    checked_response_url,
    read_click,
    response_origins,
)
from notifier.errors import BadMessageError
from tests.conftest import DATA

PAYLOAD = json.loads((DATA / "actions" / "block_actions.json").read_text())
ORIGINS = response_origins("https://slack.com/api/")
JOB = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"


def body(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def changed(path: str, value: Any) -> dict:
    """The sample with one value (``a.b.0.c``) replaced; ``...`` removes it."""
    payload = copy.deepcopy(PAYLOAD)
    *parents, last = path.split(".")
    node: Any = payload
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return payload


def test_the_sample_reads_into_a_checked_click() -> None:
    click = read_click(body(PAYLOAD), ORIGINS)
    assert click is not None
    assert (click.command, click.job.resource, click.block) == (Command.ACK, JOB, "notifier_failed")
    assert (click.user, click.team, click.channel) == ("U0AMY0001", "T0ACME001", "C0ALERTS1")
    assert (click.message_ts, click.thread_ts, click.thread) == ("1796409650.000005", "", "1796409650.000005")
    assert click.response_url.startswith("https://hooks.slack.com/actions/T0ACME001/")
    assert len(click.message_blocks) == 2


def test_a_reply_keeps_its_thread_and_a_root_is_its_own() -> None:
    reply = read_click(body(changed("message.thread_ts", "1796400000.000001")), ORIGINS)
    assert reply is not None and reply.thread == "1796400000.000001"
    root = read_click(body(changed("message.thread_ts", "1796409650.000005")), ORIGINS)
    assert root is not None and root.thread_ts == "" and root.thread == root.message_ts


def test_a_link_button_or_another_apps_action_reads_as_none() -> None:
    assert read_click(body(changed("actions.0.action_id", "open_vertex_console")), ORIGINS) is None
    assert read_click(body(changed("actions.0.action_id", "notifier_reboot")), ORIGINS) is None


@pytest.mark.parametrize(("path", "value"), [
    ("type", "view_submission"),
    ("actions", []),
    ("actions", "notifier_ack"),
    ("actions.0.block_id", "notifier_running"),  # acknowledge is drawn on failures only
    ("actions.0.block_id", ...),
    ("actions.0.value", "projects/271009669852/locations/us-central1/pipelineJobs/../../x"),
    ("actions.0.value", "https://evil.example/"),
    ("actions.0.value", JOB + "\n"),
    ("actions.0.value", 7),
    ("actions.0.action_ts", "soon"),
    ("user.id", "<!channel>"),
    ("user.id", "U0AMY0001|x"),
    ("user", "U0AMY0001"),
    ("container.channel_id", "#general"),
    ("container.type", "view"),
    ("container.is_ephemeral", True),
    ("container.message_ts", "1796409650"),
    ("message.ts", "1796409651.000005"),
    ("message.thread_ts", "yesterday"),
    ("message.blocks", [{"text": "no type"}]),
    ("message.blocks", [{"type": "section"}] * 51),
    ("message.text", {"a": 1}),
    ("response_url", "https://evil.example/actions/T0ACME001/1/abcdefgh"),
    ("response_url", "https://hooks.slack.com.evil.example/actions/T0ACME001/1/abcdefgh"),
    ("response_url", "http://hooks.slack.com/actions/T0ACME001/1/abcdefgh"),
    ("response_url", "https://hooks.slack.com/actions/T0ACME001/1/abcdefgh/../../../api"),
    ("response_url", "https://hooks.slack.com/services/T0ACME001/B1/abcdefgh"),
    ("response_url", ...),
    ("user.team_id", "acme"),
])  # fmt: skip
def test_anything_malformed_is_refused(path: str, value: Any) -> None:
    payload = changed(path, value)
    if path == "user.team_id":
        payload["team"]["id"] = "acme"
    with pytest.raises(BadMessageError):
        read_click(body(payload), ORIGINS)


@pytest.mark.parametrize("raw", [
    b"",
    b"payload=",
    b"payload=%7Bnot+json",
    b"payload=%5B1%5D",
    b"payload=1&payload=2",
    b"payload=%7B%7D&token=x",
    b"\xff\xfe",
    b"payload=" + b"%5B" * 1000 + b"%5D" * 1000,
])  # fmt: skip
def test_a_body_that_is_no_form_with_one_payload_is_refused(raw: bytes) -> None:
    with pytest.raises(PayloadError):
        read_click(raw, ORIGINS)


def test_an_oversized_body_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadError, match="over"):
        read_click(b"payload=" + b"x" * MAX_BODY, ORIGINS)


def test_a_loopback_response_url_only_when_slack_api_url_names_that_stand_in() -> None:
    local = "http://127.0.0.1:8123/actions/T0ACME001/1/abcdefgh"
    assert checked_response_url(local, response_origins("http://127.0.0.1:8123/api/")) == local
    with pytest.raises(PayloadError):
        checked_response_url(local, ORIGINS)
    with pytest.raises(PayloadError):
        checked_response_url(local, response_origins("http://127.0.0.1:9999/api/"))
