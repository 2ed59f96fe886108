"""Decoding the Pub/Sub message out of Eventarc and push-converted CloudEvent data."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings

from notifier.errors import BadMessageError
from notifier.sources.pubsub import decode_event, delivery_attempt_of
from tests.support.hostile import SLOW_OK, encodable, envelopes, examples


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_eventarc_shape() -> None:
    data = {
        "message": {"data": b64(b"{}"), "attributes": {"gcp_region": "us-east1"}, "messageId": "42",
                    "message_id": "42", "publishTime": "2026-11-27T06:00:00Z"},
        "subscription": "projects/p/subscriptions/eventarc-x",
    }  # fmt: skip
    message = decode_event(data)
    assert message.data == b"{}"
    assert message.message_id == "42"
    assert message.attributes == {"gcp_region": "us-east1"}
    assert message.publish_time == "2026-11-27T06:00:00Z"


def test_push_converted_shape_uses_event_id_when_message_has_none() -> None:
    # functions-framework's conversion of a raw push body keeps data and attributes.
    data = {"message": {"@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage", "data": b64(b"x")}}
    message = decode_event(data, fallback_id="ev-1")
    assert message.message_id == "ev-1"
    assert message.attributes == {}


def test_undecoded_json_body_is_accepted() -> None:
    message = decode_event(b'{"message": {"data": "eA==", "messageId": "1"}}')
    assert message.data == b"x"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "expected an object"),
        ([], "expected an object"),
        (b"\x00garbage", "not JSON"),
        ({"foo": 1}, "no 'message'"),
        ({"message": {}}, "no data"),
        ({"message": {"data": 5}}, "expected base64"),
        ({"message": {"data": "***"}}, "not valid base64"),
        ({"message": {"data": "eA==", "attributes": [1]}}, "attributes"),
    ],
)
def test_bad_events(data: object, reason: str) -> None:
    with pytest.raises(BadMessageError, match=reason):
        decode_event(data)


def test_attribute_values_are_strings() -> None:
    message = decode_event({"message": {"data": "eA==", "attributes": {"on_failure_only": True, "n": 1}}})
    assert message.attributes == {"on_failure_only": "true", "n": "1"}
    with pytest.raises(TypeError):
        message.attributes["x"] = "y"  # type: ignore[index]


# The push body Pub/Sub sends when the subscription has a dead-letter policy (the
# "maximum values" example of https://cloud.google.com/pubsub/docs/push).
PUSH_WITH_ATTEMPT = {
    "deliveryAttempt": 5,
    "message": {
        "attributes": {"key": "value"},
        "data": "SGVsbG8gQ2xvdWQgUHViL1N1YiEgSGVyZSBpcyBteSBtZXNzYWdlIQ==",
        "messageId": "2070443601311540",
        "message_id": "2070443601311540",
        "orderingKey": "key",
        "publishTime": "2021-02-26T19:13:55.749Z",
        "publish_time": "2021-02-26T19:13:55.749Z",
    },
    "subscription": "projects/myproject/subscriptions/mysubscription",
}


def test_delivery_attempt_is_read_from_the_push_body() -> None:
    attempt = delivery_attempt_of(PUSH_WITH_ATTEMPT)
    assert attempt == 5
    message = decode_event(PUSH_WITH_ATTEMPT, delivery_attempt=attempt)
    assert message.is_last_attempt(5) and not message.is_last_attempt(6)
    assert not message.is_last_attempt(0)  # the limit is unknown: never treated as last


@pytest.mark.parametrize(
    "body", [{}, {"deliveryAttempt": "5"}, {"deliveryAttempt": 0}, {"deliveryAttempt": True}, [], None]
)
def test_a_missing_or_odd_delivery_attempt_is_unknown(body: object) -> None:
    assert delivery_attempt_of(body) is None
    assert not decode_event(PUSH_WITH_ATTEMPT).is_last_attempt(5)


# --- hostile envelopes (tests.support.hostile) -------------------------------------------------


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
