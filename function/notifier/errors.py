"""One error root with two kinds of children.

``PermanentError``: retrying cannot help (bad input, Slack rejected the token or channel).
The entry point logs it at ERROR and returns normally so Pub/Sub acknowledges the message.

``TransientError``: retrying may help (Slack unreachable, still rate limited). The entry
point re-raises it so the function answers non-2xx and Pub/Sub redelivers with backoff,
until the subscription's dead-letter policy takes over. ``DeferredError`` is the transient
kind that is no failure at all: a busy channel hands the message back to come later.
"""

from __future__ import annotations


class NotifierError(Exception):
    """Root of every error the notifier raises on purpose."""


class PermanentError(NotifierError):
    """Acknowledge and log: redelivering this message would fail the same way."""


class TransientError(NotifierError):
    """Raise so that Pub/Sub redelivers the message later."""


class DeferredError(TransientError):
    """Not a failure: the destination cannot take this message soon, so it goes back to Pub/Sub.

    The entry point answers 429 without a traceback; the push subscription's backoff brings
    the message back once the destination (a busy Slack channel) has room.
    """


class BadMessageError(PermanentError):
    """The Pub/Sub message or its payload cannot be decoded into a final status."""


class SlackRejectedError(PermanentError):
    """Slack answered with an error that no retry will fix (auth, channel, blocks)."""


class SlackUnavailableError(TransientError):
    """Slack could not be reached, or still answered 5xx/429 after the client's retries."""


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def describe(exc: BaseException) -> str:
    """A one-line account of an unexpected failure for a log line: its type and the start of its text."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"
