"""The interactivity function: verify a request of Slack's, answer at once, publish it for the worker.

Every request, in this order, each refusal changing nothing:

1. at most ``MAX_BODY`` bytes (413), read no further;
2. signed: ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` present and well formed,
   and ``slack_sdk.signature.SignatureVerifier`` satisfied: the v0 HMAC-SHA256 of
   ``v0:{timestamp}:{body}`` under the signing secret, compared in constant time, the
   timestamp within five minutes of now (401);
3. UTF-8, and a ``block_actions`` payload that reads (``payload.read_click``; 400); a click on a link
   button is answered 200 and goes no further;
4. never seen before: the (timestamp, signature) pair is claimed for the signature's
   window (``state.once``; 401 for a replay, 503 when the claim cannot be asked);
5. published to ``ACTIONS_TOPIC`` as it came, still signed, for the worker to verify again
   (503 if Pub/Sub does not take it, and the claim is given back so Slack's user may click
   again), then 200 with an empty body: Slack's acknowledgement, well within its 3 seconds.

What happens next (who may do what, and doing it) is the worker's (``actions.worker``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.signature import SignatureVerifier

from notifier.actions.payload import MAX_BODY, Click, read_click
from notifier.errors import BadMessageError, TransientError

log = logging.getLogger("notifier.actions")

SIGNATURE_WINDOW = 300  # seconds: slack_sdk's SignatureVerifier, as Slack documents it
ACTION_ATTRIBUTE = "slack_action"  # the published message's ``action`` attribute
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_SIGNATURE_RE = re.compile(r"v0=[0-9a-f]{64}")


class Once(Protocol):
    """Claims (``state.once``): None when ``key`` is taken now, else what its claim kept."""

    def claim(self, key: str, record: Mapping[str, Any] | None = None) -> Mapping[str, Any] | None:
        """Take ``key``; OnceUnavailableError when that cannot be asked."""

    def release(self, key: str) -> None:
        """Give ``key`` back."""


class Publisher(Protocol):
    """Publishes to the actions topic (``publish.TopicPublisher``)."""

    def publish(self, data: bytes, attributes: Mapping[str, str]) -> str:
        """Returns the message id; PublishFailedError when Pub/Sub does not take it."""


@dataclass(frozen=True)
class Answer:
    """The HTTP answer: status and a short body (never anything of the request)."""

    status: int
    body: str = ""


def signed_request(body: bytes, timestamp: str, signature: str) -> bytes:
    """What is published for the worker: the request exactly as Slack signed it."""
    return json.dumps({"body": body.decode("utf-8"), "timestamp": timestamp, "signature": signature}).encode()


class Interactivity:
    """Answers Slack's interactivity requests; ``answer`` takes the raw request."""

    def __init__(
        self,
        signing_secret: str,
        replays: Once,
        publisher: Publisher,
        origins: frozenset[str],
        verifier: SignatureVerifier | None = None,
    ) -> None:
        self._verifier = verifier or SignatureVerifier(signing_secret)
        self._replays = replays
        self._publisher = publisher
        self._origins = origins

    def answer(self, method: str, headers: Mapping[str, str], read: Any, length: int | None) -> Answer:
        """One request: ``read(n)`` reads at most n bytes of its body, ``length`` its Content-Length."""
        if method != "POST":
            return Answer(405, "POST only")
        if length is not None and length > MAX_BODY:
            return self._refused(413, f"a body of {length:,} bytes, over {MAX_BODY:,}")
        body = read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return self._refused(413, f"a body over {MAX_BODY:,} bytes")
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not _TIMESTAMP_RE.fullmatch(timestamp) or not _SIGNATURE_RE.fullmatch(signature):
            return self._refused(401, "no Slack signature, or a malformed one")
        try:
            body.decode("utf-8")  # Slack's bodies are; the verifier cannot take anything else
        except UnicodeDecodeError:
            return self._refused(400, "a body that is not UTF-8 text")
        if not self._verifier.is_valid(body, timestamp, signature):
            # The verifier decided; this only says which of its checks it was, for the log.
            stale = abs(self._verifier.clock.now() - int(timestamp)) > SIGNATURE_WINDOW
            return self._refused(
                401, "a stale request (over five minutes old)" if stale else "a wrong signature"
            )
        try:
            click = read_click(body, self._origins)
        except BadMessageError as exc:
            return self._refused(400, f"a payload that does not read: {exc}")
        if click is None:
            return Answer(200)  # a link button's click: nothing to do
        key = f"slack-request#{timestamp}#{signature}"
        try:
            if self._replays.claim(key, {"user": click.user}) is not None:
                return self._refused(401, "a replay of a request already taken", click)
        except TransientError as exc:
            log.error("Click refused for now: the replay guard cannot be asked (%s)", exc)
            return Answer(503, "try again")
        try:
            message_id = self._publisher.publish(
                signed_request(body, timestamp, signature), {"action": ACTION_ATTRIBUTE}
            )
        except TransientError as exc:
            self._give_back(key)
            log.error("Click not passed on: %s", exc)
            return Answer(503, "try again")
        log.info(
            "Click accepted: %s of %s by %s in %s (message %s)",
            click.command.value,
            click.job.resource,
            click.user,
            click.channel,
            message_id,
        )
        return Answer(200)

    def _give_back(self, key: str) -> None:
        try:
            self._replays.release(key)
        except TransientError as exc:
            log.warning("Could not give the request's claim back (%s); it expires with the window", exc)

    @staticmethod
    def _refused(status: int, why: str, click: Click | None = None) -> Answer:
        who = f" ({click.command.value} by {click.user})" if click else ""
        log.warning("Request refused with %d: %s%s", status, why, who)
        return Answer(status, "refused")
