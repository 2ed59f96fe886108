"""Clicks on the notifier's buttons: a Pub/Sub message with the attribute ``action=slack_action``.

The interactivity function (``actions.interactivity``) publishes each request of Slack's
that it verified, as it came, to ``ACTIONS_TOPIC``; only from that topic (the CloudEvent's
source, set by the push subscription Terraform configures, never by a publisher) is one
honoured, and nothing else is read from it. Its signature is checked once more here, with
``slack_sdk.signature.SignatureVerifier`` pinned to the message's publish time (Pub/Sub's,
not the publisher's): a click must have been published within five minutes of Slack
signing it, and whoever may publish to the topic still cannot make one up without the
signing secret. The click is then read as strictly as the first time (``actions.payload``)
and handed to the worker. It carries no notice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_sdk.signature import Clock, SignatureVerifier

from notifier import bounded_json
from notifier.actions.interactivity import ACTION_ATTRIBUTE
from notifier.actions.payload import Click, read_click
from notifier.config import ActionsSettings
from notifier.errors import BadMessageError, PermanentError
from notifier.sources.pubsub import PubSubMessage


class ActionRefusedError(PermanentError):
    """An action message that is not a click Slack signed, or not from ACTIONS_TOPIC: acknowledged, not done."""


def is_action(message: PubSubMessage) -> bool:
    """True for a message that carries a click (``action=slack_action``), from whichever topic."""
    return message.attributes.get("action", "").strip().lower() == ACTION_ATTRIBUTE


class _At(Clock):
    """The verifier's clock, stopped at one moment."""

    def __init__(self, moment: datetime) -> None:
        self._now = moment.timestamp()

    def now(self) -> float:
        return self._now


class Actions:
    """Reads clicks from ACTIONS_TOPIC and hands each to ``execute`` (``actions.worker.Worker.run``)."""

    def __init__(
        self, settings: ActionsSettings, origins: frozenset[str], execute: Callable[[Click], None]
    ) -> None:
        self._settings = settings
        self._origins = origins
        self._execute = execute

    def concerns(self, message: PubSubMessage) -> bool:
        """The message is a click, or comes from the actions topic (where nothing else is honoured)."""
        return is_action(message) or bool(self._settings.topic and message.topic == self._settings.topic)

    def check_origin(self, message: PubSubMessage) -> None:
        """ActionRefusedError unless a click came from ACTIONS_TOPIC."""
        topic = self._settings.topic
        if not topic:
            raise ActionRefusedError("a click arrived, but ACTIONS_TOPIC is not set: actions are off")
        if message.topic != topic:
            raise ActionRefusedError(
                f"a click arrived on {message.topic or 'an unknown topic'!r}; only ACTIONS_TOPIC ({topic}) carries them"
            )
        if not is_action(message):
            raise ActionRefusedError("a message on ACTIONS_TOPIC that is no click (no action=slack_action)")

    def click(self, message: PubSubMessage) -> Click | None:
        """The click the message carries, its signature checked at the message's publish time."""
        try:
            document = bounded_json.loads(message.data, bounded_json.MESSAGE_DATA)
        except bounded_json.JsonInputError as exc:
            raise BadMessageError(f"click {exc}") from None
        fields = document if isinstance(document, dict) else {}
        body, timestamp, signature = (fields.get(k) for k in ("body", "timestamp", "signature"))
        if not all(isinstance(v, str) for v in (body, timestamp, signature)):
            raise BadMessageError("click without its body, timestamp and signature")
        published = message.published_at
        if published is None:
            raise ActionRefusedError("a click without a publish time: its signature's age cannot be told")
        verifier = SignatureVerifier(self._settings.signing_secret, clock=_At(published))
        if (
            not timestamp.isdigit()
            or len(timestamp) > 12
            or not verifier.is_valid(body, timestamp, signature)
        ):
            raise ActionRefusedError(
                "the click's Slack signature does not hold (made up, or published over five minutes after Slack signed it)"
            )
        return read_click(body.encode("utf-8"), self._origins)

    def run(self, message: PubSubMessage) -> None:
        """Check where the message came from and its signature, then do the click."""
        self.check_origin(message)
        click = self.click(message)
        if click is not None:
            self._execute(click)
