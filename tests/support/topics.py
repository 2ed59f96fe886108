"""A Pub/Sub topic on the emulator with a pull subscription that sees everything published to it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sandbox.pubsub_emulator import PubSubEmulator


@dataclass
class Topic:
    """A topic with a pull subscription that sees everything published to it."""

    emulator: PubSubEmulator
    topic: str
    subscription: str

    def received(self) -> list[dict[str, Any]]:
        """Pull and acknowledge everything waiting; messages decoded to data and attributes."""
        got: list[dict[str, Any]] = []
        while batch := self.emulator.pull(self.subscription):
            self.emulator.acknowledge(self.subscription, [m["ackId"] for m in batch])
            got.extend(batch)
        return [
            {"data": base64.b64decode(m["message"]["data"]), "attributes": m["message"].get("attributes", {})}
            for m in got
        ]
