"""Logging: structured JSON in Cloud Functions, readable lines locally; never the token.

Every record carries the current message's context (message id, job id, state) from a
context variable, so log lines need not repeat it and none can forget it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from notifier.lazy_imports import LazyPackage, import_from

_context: ContextVar[dict[str, str] | None] = ContextVar("notifier_log_context", default=None)
_CONTEXT_KEYS = ("message_id", "job_id", "state")
REDACTED = "[redacted]"


@contextlib.contextmanager
def log_context(**fields: str) -> Iterator[dict[str, str]]:
    """Bind fields to every log record emitted inside the block (update the dict to add more)."""
    fields_dict = {k: v for k, v in fields.items() if v}
    token = _context.set(fields_dict)
    try:
        yield fields_dict
    finally:
        _context.reset(token)


# An E.164 phone number (an SMS destination): logged masked, never whole.
_PHONE_RE = re.compile(r"(?<!\+)\+([1-9]\d)(\d{3,11})(\d{2})(?!\d)")


def mask_phones(text: str) -> str:
    """``+15551230001`` as ``+15•••••••01``: enough to tell numbers apart, not to call one."""
    if "+" not in text:
        return text
    return _PHONE_RE.sub(lambda m: f"+{m[1]}{'•' * len(m[2])}{m[3]}", text)


class ContextAndRedactionFilter(logging.Filter):
    """Adds the message context to records, removes secrets from their text and masks phone numbers."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return mask_phones(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Attach context fields; rewrite message and traceback without secrets."""
        context = dict(_context.get() or {})
        for key in _CONTEXT_KEYS:
            setattr(record, key, context.get(key, "-"))
        fields: dict[str, Any] = dict(getattr(record, "json_fields", None) or {})
        fields.update(context)
        record.json_fields = fields
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        # Another handler may have formatted the traceback already: redact that text too.
        if record.exc_info or record.exc_text:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._redact(text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [msg=%(message_id)s job=%(job_id)s state=%(state)s] %(message)s"
)


_LOGGING_PACKAGES = ("google.cloud.logging_v2", "google.cloud.logging_v2.handlers")


def structured_log_handler_class() -> type[logging.Handler]:
    """google-cloud-logging's ``StructuredLogHandler``, without the rest of its package.

    Imported only for JSON logs, and through lazy shells (``notifier.lazy_imports``): the
    package's ``__init__`` would load the whole API client (three services and their
    transports, ~0.15 s at cold start), of which the handler uses nothing. A failure's
    task-log reader still gets the whole package when it asks for the client.
    """
    handler_class = import_from(
        "google.cloud.logging_v2.handlers.structured_log", "StructuredLogHandler", shells=_LOGGING_PACKAGES
    )
    package = sys.modules["google.cloud.logging_v2"]
    if isinstance(package, LazyPackage) and "_instrumentation_emitted" not in package.__dict__:
        # The handler reads this flag of the package on every record (it writes a one-time
        # diagnostic line): set as the package's ``__init__`` sets it, so reading it does
        # not run that ``__init__``, and kept when something else does.
        package._instrumentation_emitted = False
    return handler_class


def setup_logging(level: str, *, structured: bool, secrets: Iterable[str] = ()) -> None:
    """Install one handler on the root logger: JSON for Cloud Logging, or plain text."""
    if structured:
        handler: logging.Handler = structured_log_handler_class()(stream=sys.stdout)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    # Filters on the handler (not a logger) see records from every library, slack_sdk included.
    handler.addFilter(ContextAndRedactionFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_notifier_handler", False):
            root.removeHandler(old)
    handler._notifier_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # slack_sdk logs request bodies at DEBUG; keep that out even when LOG_LEVEL=DEBUG.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
