"""Publishing through the exit-handler stub, and the Pub/Sub clients replay uses.

Every message goes through ``tfx_exit_stub.publish_final_status`` so a replay is what a
pipeline sends: a raw status gets the stub's own attributes; a saved message keeps its
saved attributes through a publisher wrapper that the stub hands the data to unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from typing import Any

from google.api_core.retry import Retry
from google.auth.exceptions import DefaultCredentialsError
from google.cloud import pubsub_v1

from replay.errors import BadInputError, RuntimeFailure
from replay.inputs import Message
from sandbox.stub_message import as_pipeline_message
from tfx_exit_stub import PublishError, publish_final_status, validate_topic

DEFAULT_TIMEOUT = 30.0
SUBSCRIPTION_RE = re.compile(
    r"^projects/(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]"
    r"/subscriptions/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$"
)


def check_topic(topic: str, flag: str = "--topic") -> str:
    """The topic path, or BadInputError naming the flag and the stub's reason."""
    try:
        return validate_topic(topic)
    except ValueError as exc:
        raise BadInputError(f"{flag}: {exc}") from None


def check_subscription(subscription: str, flag: str = "--subscription") -> str:
    """The subscription path, or BadInputError naming the flag."""
    if not SUBSCRIPTION_RE.match(subscription) or subscription.rsplit("/", 1)[-1].startswith("goog"):
        raise BadInputError(f"{flag} {subscription!r}: expected 'projects/<project-id>/subscriptions/<name>'")
    return subscription


def using_emulator() -> bool:
    """True when the Google clients will talk to a local emulator instead of Pub/Sub."""
    return bool(os.environ.get("PUBSUB_EMULATOR_HOST", "").strip())


def where() -> str:
    """Where messages go, for error messages."""
    host = os.environ.get("PUBSUB_EMULATOR_HOST", "").strip()
    return f"the Pub/Sub emulator at {host}" if host else "Pub/Sub"


def make_publisher(timeout: float) -> Any:
    """A PublisherClient whose retries give up after ``timeout`` seconds (not the default 600)."""
    options = pubsub_v1.types.PublisherOptions(retry=Retry(timeout=timeout), timeout=timeout)
    try:
        return pubsub_v1.PublisherClient(publisher_options=options)
    except DefaultCredentialsError:
        raise RuntimeFailure(no_credentials()) from None


def make_subscriber() -> Any:
    """A SubscriberClient (credentials from the environment, or none for the emulator)."""
    try:
        return pubsub_v1.SubscriberClient()
    except DefaultCredentialsError:
        raise RuntimeFailure(no_credentials()) from None


def no_credentials() -> str:
    """The one-line hint for a machine with neither credentials nor an emulator."""
    return (
        "no Google credentials found: run `gcloud auth application-default login`, "
        "or set PUBSUB_EMULATOR_HOST to use the emulator"
    )


class ExactAttributes:
    """A publisher for the stub that replaces its attributes with a saved message's own.

    The stub passes the data through unchanged, so data and attributes both arrive as
    they were saved.
    """

    def __init__(self, publisher: Any, attributes: dict[str, str]) -> None:
        self._publisher = publisher
        self._attributes = attributes

    def publish(self, topic: str, data: bytes, **_stub_attributes: str) -> Any:
        """Publish ``data`` with the saved attributes."""
        return self._publisher.publish(topic, data, **self._attributes)


def resolve(message: Message, *, region: str) -> tuple[bytes, dict[str, str]]:
    """Data and attributes to send: the stub's for a raw status, the saved ones otherwise."""
    if message.attributes is None:
        return as_pipeline_message(message.data, gcp_region=region)
    return message.data, dict(message.attributes)


def publish_all(
    messages: list[Message],
    topic: str,
    *,
    region: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    report: Callable[[Message, str], None] = lambda message, message_id: None,
) -> list[str]:
    """Publish each message through the stub, in order; returns the message ids.

    A failure raises RuntimeFailure saying how many were published before it, so the
    user knows exactly which files to publish again.
    """
    publisher = make_publisher(timeout)
    ids: list[str] = []
    try:
        for message in messages:
            target = (
                publisher if message.is_raw_status else ExactAttributes(publisher, message.attributes or {})
            )
            try:
                message_id = publish_final_status(
                    message.data,
                    topic,
                    gcp_region=region if message.is_raw_status else "",
                    publisher=target,
                    timeout=timeout,
                )
            except (PublishError, ValueError) as exc:
                done = (
                    f"published {len(ids)} of {len(messages)} before this; " if ids else "nothing published; "
                )
                raise RuntimeFailure(f"{message.source}: {done}{short(exc)} ({where()})") from None
            ids.append(message_id)
            report(message, message_id)
    finally:
        close(publisher)
    return ids


def short(exc: BaseException) -> str:
    """An exception as one line of reasonable length."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:299] + "…"


def close(client: Any) -> None:
    """Stop a Pub/Sub client so the command exits promptly; never masks the real outcome."""
    for method in ("stop", "close"):
        call = getattr(client, method, None)
        if call is not None:
            with contextlib.suppress(Exception):
                call()
            return
