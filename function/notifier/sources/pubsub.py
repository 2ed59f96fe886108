"""Decode the Pub/Sub message carried by a CloudEvent.

Two shapes arrive here: Eventarc's ``google.cloud.pubsub.topic.v1.messagePublished``
(``data = {"message": {...}, "subscription": ...}``) and a raw push body, which
functions-framework converts to the same shape. Only ``message.data``,
``message.attributes`` and ``message.messageId`` are read.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

from notifier import bounded_json
from notifier.errors import BadMessageError

log = logging.getLogger("notifier")
# Pub/Sub's own limits: 10 MB of data, so at most this much base64.
MAX_DATA_BASE64 = (10 * 1024 * 1024 + 2) // 3 * 4
_SCALARS = (bool, int, float, type(None))


@dataclass(frozen=True)
class PubSubMessage:
    """The parts of a Pub/Sub message the notifier uses."""

    message_id: str
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    publish_time: str = ""
    delivery_attempt: int | None = None  # Pub/Sub's count, when the subscription dead-letters
    # The topic it was published to, from the CloudEvent's source (set by the push
    # subscription's URL path, which Terraform configures; never by the publisher).
    topic: str = ""

    def is_last_attempt(self, max_delivery_attempts: int) -> bool:
        """True when Pub/Sub will dead-letter rather than redeliver this message if it fails."""
        if not max_delivery_attempts or self.delivery_attempt is None:
            return False
        return self.delivery_attempt >= max_delivery_attempts

    @property
    def published_at(self) -> datetime | None:
        """``publish_time`` as an aware datetime, or None when absent or malformed."""
        if not self.publish_time:
            return None
        try:
            moment = datetime.fromisoformat(self.publish_time.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def delivery_attempt_of(push_body: Any) -> int | None:
    """``deliveryAttempt`` of a raw push body (set when the subscription has a dead-letter policy).

    functions-framework drops it when it turns the push body into a CloudEvent, so the
    entry point reads it from the request itself.
    """
    value = push_body.get("deliveryAttempt") if isinstance(push_body, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def topic_of(source: Any) -> str:
    """The topic in a CloudEvent source ``//pubsub.googleapis.com/projects/P/topics/T``, or ''."""
    if not isinstance(source, str):
        return ""
    topic = source.removeprefix("//pubsub.googleapis.com/")
    return topic if topic != source and len(topic) <= 300 else ""


def decode_event(
    event_data: Any, *, fallback_id: str = "", delivery_attempt: int | None = None, topic: str = ""
) -> PubSubMessage:
    """Extract the Pub/Sub message from CloudEvent data, or raise BadMessageError."""
    if isinstance(event_data, (bytes, bytearray, str)):
        # A structured-mode or oddly typed event can leave the body undecoded.
        raw = bytes(event_data) if isinstance(event_data, bytearray) else event_data
        try:
            event_data = bounded_json.loads(raw, bounded_json.PUSH_BODY)
        except bounded_json.JsonInputError as exc:
            raise BadMessageError(f"event data {exc}") from None
    if not isinstance(event_data, Mapping):
        raise BadMessageError(f"event data is a {type(event_data).__name__}, expected an object")
    message = event_data.get("message")
    if not isinstance(message, Mapping):
        raise BadMessageError("event data has no 'message' object (is this a Pub/Sub event?)")

    message_id = message.get("messageId") or message.get("message_id") or fallback_id
    # Pub/Sub's ids are decimal strings; anything else is a hand-made body, kept short.
    message_id = bounded_json.clean_text(str(message_id))[:100] if isinstance(message_id, (str, int)) else ""

    raw = message.get("data")
    if raw is None or raw == "":
        raise BadMessageError(
            "Pub/Sub message has no data",
        )
    if not isinstance(raw, str):
        raise BadMessageError(f"Pub/Sub message data is a {type(raw).__name__}, expected base64 text")
    if len(raw) > MAX_DATA_BASE64:
        raise BadMessageError(
            f"Pub/Sub message data is {len(raw):,} characters of base64, over Pub/Sub's 10 MB"
        )
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadMessageError("Pub/Sub message data is not valid base64") from None

    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise BadMessageError(
            f"Pub/Sub message attributes are a {type(attributes).__name__}, expected an object"
        )
    clean = {}
    for key, value in attributes.items():
        # Pub/Sub attributes are always strings; anything else came from a hand-made body.
        if isinstance(value, str):
            clean[bounded_json.clean_text(str(key))] = bounded_json.clean_text(value)
        elif isinstance(value, _SCALARS):
            clean[bounded_json.clean_text(str(key))] = json.dumps(value)
        else:
            log.warning("Ignoring attribute %r: a %s, not a string", str(key)[:100], type(value).__name__)

    publish_time = message.get("publishTime") or message.get("publish_time") or ""
    return PubSubMessage(
        message_id=message_id,
        data=data,
        attributes=MappingProxyType(clean),
        publish_time=publish_time[:64] if isinstance(publish_time, str) else "",
        delivery_attempt=delivery_attempt,
        topic=topic,
    )
