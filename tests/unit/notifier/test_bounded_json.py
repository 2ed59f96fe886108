"""``bounded_json``: JSON from outside parsed with bounded cost, each refusal naming its cause.

Property-based over ``tests.support.hostile`` (deep nesting, huge numbers, lone surrogates,
NUL bytes, megabyte strings, duplicate keys, BOMs), thousands of examples under CI. Every
parser of outside input is run against the same inputs beside its own tests (the final
status, the Pub/Sub envelope, the routing table, Chat's webhooks, replay's input files),
and the handler with them (tests/unit/notifier/test_handler.py): its "unexpected error"
branch is for bugs only, no generated input may reach it.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings

from notifier import bounded_json
from tests.support.hostile import SLOW_OK, encodable, examples, hostile_bytes


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
