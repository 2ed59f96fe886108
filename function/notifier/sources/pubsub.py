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
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from notifier.errors import BadMessageError


@dataclass(frozen=True)
class PubSubMessage:
    """The parts of a Pub/Sub message the notifier uses."""

    message_id: str
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    publish_time: str = ""


def decode_event(event_data: Any, *, fallback_id: str = "") -> PubSubMessage:
    """Extract the Pub/Sub message from CloudEvent data, or raise BadMessageError."""
    if isinstance(event_data, (bytes, bytearray, str)):
        # A structured-mode or oddly typed event can leave the body undecoded.
        try:
            event_data = json.loads(event_data)
        except (ValueError, UnicodeDecodeError):
            raise BadMessageError("event data is not JSON") from None
    if not isinstance(event_data, Mapping):
        raise BadMessageError(f"event data is a {type(event_data).__name__}, expected an object")
    message = event_data.get("message")
    if not isinstance(message, Mapping):
        raise BadMessageError("event data has no 'message' object (is this a Pub/Sub event?)")

    message_id = message.get("messageId") or message.get("message_id") or fallback_id
    message_id = str(message_id) if message_id else ""

    raw = message.get("data")
    if raw is None or raw == "":
        raise BadMessageError(
            "Pub/Sub message has no data",
        )
    if not isinstance(raw, str):
        raise BadMessageError(f"Pub/Sub message data is a {type(raw).__name__}, expected base64 text")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadMessageError("Pub/Sub message data is not valid base64") from None

    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise BadMessageError(
            f"Pub/Sub message attributes are a {type(attributes).__name__}, expected an object"
        )
    # Pub/Sub attributes are always strings; anything else came from a hand-made body.
    clean = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in attributes.items()}

    publish_time = message.get("publishTime") or message.get("publish_time") or ""
    return PubSubMessage(
        message_id=message_id,
        data=data,
        attributes=MappingProxyType(clean),
        publish_time=publish_time if isinstance(publish_time, str) else "",
    )
