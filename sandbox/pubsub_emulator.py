"""The gcloud Pub/Sub emulator as a managed local process, plus the few admin calls we need.

Admin calls use the emulator's REST surface with plain HTTP so that test set-up does not
depend on (or warm up) the client libraries whose behaviour the tests measure.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from sandbox.gcloud_emulator import PROJECT, PUBSUB, Emulator, component_dir, http_ready

__all__ = ["INSTALL_HINT", "PROJECT", "PubSubEmulator", "gcloud_path"]

INSTALL_HINT = (
    "the Pub/Sub emulator is not installed: install the Google Cloud CLI and run "
    "`gcloud components install pubsub-emulator` (or apt-get install "
    "google-cloud-cli-pubsub-emulator), plus Java 17"
)


def gcloud_path() -> str | None:
    """The Pub/Sub emulator's folder if it (and Java) is installed, else None."""
    folder = component_dir(PUBSUB)
    return str(folder) if folder else None


def _request(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


class PubSubEmulator(Emulator):
    """A running Pub/Sub emulator, with REST helpers for topics and subscriptions."""

    component = PUBSUB
    install_hint = INSTALL_HINT

    def ready(self) -> bool:
        """True when the emulator answers HTTP (a dead process raises instead of waiting)."""
        return http_ready(self.host, self.process)

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point Google client libraries at this emulator."""
        return {"PUBSUB_EMULATOR_HOST": self.host, "PUBSUB_PROJECT_ID": self.project}

    def url(self, path: str) -> str:
        """REST URL for a resource path such as ``projects/p/topics/t``."""
        return f"http://{self.host}/v1/{path}"

    def topic_path(self, name: str) -> str:
        """Full topic path in this emulator's project."""
        return f"projects/{self.project}/topics/{name}"

    def subscription_path(self, name: str) -> str:
        """Full subscription path in this emulator's project."""
        return f"projects/{self.project}/subscriptions/{name}"

    def create_topic(self, name: str) -> str:
        """Create a topic and return its path."""
        path = self.topic_path(name)
        _request("PUT", self.url(path), {})
        return path

    def create_subscription(
        self,
        name: str,
        topic: str,
        *,
        push_endpoint: str | None = None,
        ack_deadline_seconds: int = 10,
        dead_letter_topic: str | None = None,
        max_delivery_attempts: int = 5,
        min_backoff: str | None = None,
        max_backoff: str | None = None,
    ) -> str:
        """Create a pull or push subscription (optionally with dead-lettering) and return its path."""
        path = self.subscription_path(name)
        body: dict[str, Any] = {"topic": topic, "ackDeadlineSeconds": ack_deadline_seconds}
        if push_endpoint:
            body["pushConfig"] = {"pushEndpoint": push_endpoint}
        if dead_letter_topic:
            body["deadLetterPolicy"] = {
                "deadLetterTopic": dead_letter_topic,
                "maxDeliveryAttempts": max_delivery_attempts,
            }
        if min_backoff or max_backoff:
            body["retryPolicy"] = {
                k: v for k, v in (("minimumBackoff", min_backoff), ("maximumBackoff", max_backoff)) if v
            }
        _request("PUT", self.url(path), body)
        return path

    def publish(self, topic: str, data: bytes, attributes: dict[str, str] | None = None) -> str:
        """Publish one message over REST and return its id."""
        msg: dict[str, Any] = {"data": base64.b64encode(data).decode()}
        if attributes:
            msg["attributes"] = attributes
        out = _request("POST", self.url(f"{topic}:publish"), {"messages": [msg]})
        return out["messageIds"][0]

    def pull(self, subscription: str, max_messages: int = 100) -> list[dict[str, Any]]:
        """Pull (without acknowledging) up to ``max_messages`` received messages."""
        out = _request(
            "POST",
            self.url(f"{subscription}:pull"),
            {"maxMessages": max_messages, "returnImmediately": True},
        )
        return out.get("receivedMessages", [])

    def acknowledge(self, subscription: str, ack_ids: list[str]) -> None:
        """Acknowledge received messages."""
        if ack_ids:
            _request("POST", self.url(f"{subscription}:acknowledge"), {"ackIds": ack_ids})

    def nack(self, subscription: str, ack_ids: list[str]) -> None:
        """Negatively acknowledge received messages: redelivered after the retry policy's backoff."""
        if ack_ids:
            _request(
                "POST",
                self.url(f"{subscription}:modifyAckDeadline"),
                {"ackIds": ack_ids, "ackDeadlineSeconds": 0},
            )
