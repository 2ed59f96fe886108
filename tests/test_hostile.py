"""Hostile payloads: every parser of outside input refuses them with its own permanent error.

Property-based over ``tests.hostile`` (deep nesting, huge numbers, lone surrogates, NUL
bytes, megabyte strings, duplicate keys, BOMs), thousands of examples under CI. The
handler's "unexpected error" branch is for bugs only: no generated input may reach it.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from notifier import bounded_json
from notifier.errors import BadMessageError, ConfigError
from notifier.handler import Notifier
from notifier.model import FinalStatus, Outcome
from notifier.rules import parse_routes
from notifier.settings import webhooks
from notifier.sources.final_status import parse_status
from notifier.sources.pubsub import decode_event
from replay.errors import BadInputError
from replay.inputs import load_file
from sandbox.slack_standin import SlackStandin
from tests.hostile import RESOURCE, attribute_maps, examples, hostile_bytes, json_values
from tests.inprocess import Standins, make_notifier

SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


def encodable(value: object) -> bool:
    """True when every string in ``value`` can be written as UTF-8 (Firestore, logs, Slack)."""
    json.dumps(value, ensure_ascii=False).encode("utf-8")
    return True


def status_fields(status: FinalStatus) -> list[str]:
    return [status.state, status.pipeline_job_resource_name, status.pipeline_task_name, status.error_message]


# --- bounded_json: each limit names its cause ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        (b"[" * 5000 + b"]" * 5000, "nests deeper than 64 levels"),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "nests deeper than 64 levels"),
        (b'{"code": ' + b"1" * 5000 + b"}", "a number of 5,000 characters"),
        (b'{"code": 1e999999}', "out of range"),
        (b'{"code": NaN}', "uses NaN, which is not JSON"),
        (b'{"code": -Infinity}', "uses -Infinity"),
        (b"\xff\xfe{}", "not UTF-8 text (invalid byte at offset 0)"),
        (b'{"m": "\xed\xa0\x80"}', "not UTF-8 text"),
        (b"", "is empty"),
        (b"\xef\xbb\xbf  ", "is empty"),
        (b'{"state": "x"', "is not JSON (Expecting ',' delimiter at line 1 column 14)"),
        (b'{"m": "' + b"x" * (512 * 1024) + b'"}', "bytes, over the 524,288-byte limit"),
    ],
)
def test_each_refusal_names_its_cause(raw: bytes, cause: str) -> None:
    with pytest.raises(bounded_json.JsonInputError, match=re.escape(cause)):
        bounded_json.loads(raw, bounded_json.MESSAGE_DATA)


def test_what_is_accepted() -> None:
    assert bounded_json.loads(b'\xef\xbb\xbf{"a": 1}', bounded_json.MESSAGE_DATA) == {"a": 1}  # BOM dropped
    assert bounded_json.loads(b'{"a": 1, "a": 2}', bounded_json.MESSAGE_DATA) == {"a": 2}  # last key wins
    assert bounded_json.loads(b'["\\ud800", {"\\udfff": "\\ud83d\\ude00"}]', bounded_json.MESSAGE_DATA) == [
        "\ufffd",
        {"\ufffd": "\U0001f600"},
    ]
    assert bounded_json.loads('"[[[[" ', bounded_json.MESSAGE_DATA) == "[[[["  # brackets in strings
    deepest = b"[" * 64 + b"]" * 64
    assert bounded_json.loads(deepest, bounded_json.MESSAGE_DATA) is not None


@settings(max_examples=examples(500, 5000), deadline=None, suppress_health_check=SLOW_OK)
@given(raw=hostile_bytes)
def test_loads_returns_encodable_json_or_refuses(raw: bytes) -> None:
    try:
        value = bounded_json.loads(raw, bounded_json.MESSAGE_DATA)
    except bounded_json.JsonInputError as exc:
        assert str(exc)
        return
    assert encodable(value)


# --- each parser of outside input ------------------------------------------------------


@settings(max_examples=examples(500, 5000), deadline=None, suppress_health_check=SLOW_OK)
@given(raw=hostile_bytes)
def test_final_status_parser(raw: bytes) -> None:
    try:
        status = parse_status(raw)
    except BadMessageError as exc:
        assert str(exc).startswith("final status ")
        return
    assert all(encodable(field) for field in status_fields(status))
    assert status.state


odd_ids = st.none() | st.integers() | st.text(max_size=20) | json_values
envelopes = st.one_of(
    hostile_bytes,
    hostile_bytes.map(lambda raw: raw.decode("latin-1")),
    json_values,
    st.builds(
        lambda data, attrs, mid, when: {
            "message": {"data": data, "attributes": attrs, "messageId": mid, "publishTime": when}
        },
        hostile_bytes.map(lambda raw: base64.b64encode(raw).decode()) | json_values,
        attribute_maps | json_values,
        odd_ids,
        odd_ids,
    ),
)


@settings(max_examples=examples(500, 5000), deadline=None, suppress_health_check=SLOW_OK)
@given(event_data=envelopes)
def test_pubsub_envelope_parser(event_data: object) -> None:
    try:
        message = decode_event(event_data, fallback_id="fallback")
    except BadMessageError as exc:
        assert str(exc)
        return
    assert encodable([message.message_id, message.publish_time, dict(message.attributes)])
    assert all(isinstance(v, str) for v in message.attributes.values())


saved_files = st.one_of(
    hostile_bytes,
    st.lists(
        st.builds(
            lambda raw, attrs: {"message": {"data": base64.b64encode(raw).decode(), "attributes": attrs}},
            hostile_bytes,
            attribute_maps,
        ),
        max_size=3,
    ).map(lambda items: json.dumps(items).encode()),
)


@settings(max_examples=examples(300, 3000), deadline=None, suppress_health_check=SLOW_OK)
@given(raw=saved_files)
def test_replay_input_files(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(raw)
    try:
        messages = load_file(str(path))
    except BadInputError as exc:
        assert str(exc).startswith(str(path))  # names the file (and the item in it)
        return
    assert messages
    for message in messages:
        assert isinstance(message.data, bytes)


def test_replay_refuses_an_oversized_file_before_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(bounded_json.REPLAY_FILE.max_bytes + 1)  # sparse: no disk, no memory
    with pytest.raises(BadInputError, match="over the 67,108,864-byte limit"):
        load_file(str(path))


route_tables = st.one_of(
    hostile_bytes.map(lambda raw: raw.decode("utf-8", "replace")),
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "channel": st.sampled_from(["C0123", "x y", ""]) | json_values,
                "match": st.fixed_dictionaries(
                    {},
                    optional={
                        "pipeline": json_values,
                        "labels": st.dictionaries(st.text(max_size=5), json_values),
                    },
                )
                | json_values,
                "mention": json_values,
                "on_failure_only": json_values,
                "stuck_after_hours": json_values,
            },
        )
        | json_values,
        max_size=4,
    ).map(json.dumps),
)


@settings(max_examples=examples(300, 3000), deadline=None, suppress_health_check=SLOW_OK)
@given(text=route_tables)
def test_routing_table_parser(text: str) -> None:
    try:
        rules = parse_routes(text)
    except ConfigError as exc:
        assert str(exc).startswith("ROUTES")
        return
    assert all(rule.targets for rule in rules)


webhook_maps = st.one_of(
    hostile_bytes.map(lambda raw: raw.decode("utf-8", "replace")),
    st.dictionaries(
        st.text(max_size=12) | st.sampled_from(["ml-alerts", "a" * 70]),
        json_values
        | st.sampled_from(
            ["https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=SECRET1", "ftp://x?token=SECRET1"]
        ),
        max_size=3,
    ).map(json.dumps),
)


@settings(max_examples=examples(300, 2000), deadline=None, suppress_health_check=SLOW_OK)
@given(text=webhook_maps)
def test_chat_webhook_parser(text: str) -> None:
    try:
        parsed = webhooks().parse(text, "GOOGLE_CHAT_WEBHOOKS")
    except ConfigError as exc:
        assert str(exc).startswith("GOOGLE_CHAT_WEBHOOKS")
        assert "SECRET1" not in str(exc)  # a webhook's URL is its credential: never echoed
        return
    assert all(url.startswith(("https://chat.googleapis.com/", "http://")) for _, url in parsed)


# --- the handler: no generated input reaches "unexpected error" --------------------------


@pytest.fixture(scope="module")
def notifier(standins: Standins) -> Notifier:
    return make_notifier(standins, SLACK_MAX_PER_SECOND="0", VERTEX_TIMEOUT_SECONDS="2")


class _Unexpected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Unexpected" in record.getMessage():
            self.records.append(record)


push_bodies = st.builds(
    lambda raw, attrs, mid: {
        "message": {"data": base64.b64encode(raw).decode(), "attributes": attrs, "messageId": mid},
        "subscription": "projects/p/subscriptions/s",
    },
    hostile_bytes,
    attribute_maps,
    st.text(max_size=10) | st.just("\ud800"),
)


def handle_watched(notifier: Notifier, slack: SlackStandin, body: object) -> None:
    """Run one body through the handler: one of the three outcomes, never the "unexpected" branch."""
    watcher = _Unexpected()
    logger = logging.getLogger("notifier")
    logger.addHandler(watcher)
    before = len(slack.messages())
    try:
        outcome = notifier.handle(body, event_id="hyp")
    finally:
        logger.removeHandler(watcher)
    assert watcher.records == []
    event(outcome.value)  # --hypothesis-show-statistics shows the mix of outcomes
    assert outcome in {Outcome.POSTED, Outcome.SKIPPED, Outcome.REJECTED}
    assert len(slack.messages()) - before == (1 if outcome is Outcome.POSTED else 0)


@settings(max_examples=examples(300, 2000), deadline=None, suppress_health_check=SLOW_OK)
@given(body=push_bodies)
def test_handler_with_hostile_data(notifier: Notifier, standins, body: object) -> None:
    handle_watched(notifier, standins[0], body)


@settings(max_examples=examples(200, 1000), deadline=None, suppress_health_check=SLOW_OK)
@given(body=envelopes)
def test_handler_with_hostile_envelopes(notifier: Notifier, standins, body: object) -> None:
    handle_watched(notifier, standins[0], body)


def test_a_status_with_lone_surrogates_is_posted_readably(notifier: Notifier, standins) -> None:
    slack, _ = standins
    raw = (
        '{"state": "FAILED", "pipelineJobResourceName": "'
        + RESOURCE
        + '", "error": {"message": "bad \\ud800 byte"}}'
    ).encode()
    body = {"message": {"data": base64.b64encode(raw).decode(), "messageId": "s-1"}}
    assert notifier.handle(body) is Outcome.POSTED
    assert "bad \ufffd byte" in json.dumps(slack.messages()[-1].body, ensure_ascii=False)
