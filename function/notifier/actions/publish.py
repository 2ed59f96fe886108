"""Publish to one Pub/Sub topic over the REST API: a small client for a function that must answer fast.

The interactivity function publishes one message per click and must answer Slack within
3 seconds, cold starts included; the gRPC client library is not in the function's
dependencies and would cost more to import than the whole request may take. This is
``topics.publish`` over HTTPS with google-auth's credentials (made on first use), or plain
http without credentials to a loopback endpoint (the emulator).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from typing import Any

from notifier.errors import TransientError, describe

DEFAULT_ENDPOINT = "https://pubsub.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/pubsub"


class PublishFailedError(TransientError):
    """Pub/Sub did not take the message."""


class TopicPublisher:
    """Publishes to ``topic`` (a checked full name, ``projects/P/topics/T``) through ``endpoint``."""

    def __init__(
        self, topic: str, endpoint: str = "", *, timeout: float = 2.0, credentials: Any = None
    ) -> None:
        self._url = f"{(endpoint or DEFAULT_ENDPOINT).rstrip('/')}/v1/{topic}:publish"
        self._timeout = timeout
        self._credentials = credentials
        self._session: Any = None
        self._lock = threading.Lock()

    def _made(self) -> Any:
        with self._lock:
            if self._session is None:
                import requests  # noqa: PLC0415 - on first use

                if self._url.startswith("http://"):  # a loopback emulator (checked at start-up)
                    self._session = requests.Session()
                else:
                    import google.auth  # noqa: PLC0415
                    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415

                    credentials = self._credentials or google.auth.default(scopes=[SCOPE])[0]
                    self._session = AuthorizedSession(credentials)
            return self._session

    def publish(self, data: bytes, attributes: Mapping[str, str]) -> str:
        """Publish one message; returns its id, or raises PublishFailedError."""
        body = {"messages": [{"data": base64.b64encode(data).decode(), "attributes": dict(attributes)}]}
        try:
            response = self._made().post(self._url, json=body, timeout=self._timeout)
        except Exception as exc:  # noqa: BLE001 - any transport failure
            raise PublishFailedError(f"Pub/Sub unreachable: {describe(exc)}") from None
        if response.status_code != 200:
            raise PublishFailedError(f"Pub/Sub answered {response.status_code}")
        try:
            return str(response.json()["messageIds"][0])
        except (ValueError, KeyError, IndexError, TypeError):
            raise PublishFailedError("Pub/Sub's answer names no message id") from None
