"""Logging: JSON for Cloud Logging with the message context on every line; never the token."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from notifier.logs import ContextAndRedactionFilter, log_context, setup_logging

TOKEN = "xoxb-1111-2222-secretsecret"


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_structured_lines_are_json_with_context_and_no_token(restore_root, capsys) -> None:
    setup_logging("INFO", structured=True, secrets=[TOKEN])
    log = logging.getLogger("notifier.test")
    with log_context(message_id="m-1", job_id="job-7", state="FAILED"):
        log.warning("token is %s", TOKEN)
        try:
            raise RuntimeError(f"boom {TOKEN}")
        except RuntimeError:
            log.exception("failed")
    out = capsys.readouterr().out
    assert TOKEN not in out
    every = [json.loads(line) for line in out.splitlines() if line.strip()]
    # google-cloud-logging adds its own instrumentation line; ours are the test logger's.
    lines = [e for e in every if e["logging.googleapis.com/labels"]["python_logger"] == "notifier.test"]
    assert len(lines) == 2
    for entry in lines:
        assert entry["message_id"] == "m-1"
        assert entry["job_id"] == "job-7"
        assert entry["state"] == "FAILED"
        assert TOKEN not in json.dumps(entry)
    assert lines[0]["severity"] == "WARNING"
    assert "[redacted]" in lines[0]["message"]
    assert "RuntimeError" in lines[1]["message"]


def test_text_lines_carry_context(restore_root, capsys) -> None:
    setup_logging("INFO", structured=False, secrets=[TOKEN])
    with log_context(message_id="m-2", job_id="job-8", state="SUCCEEDED"):
        logging.getLogger("notifier.test").info("hello %s", TOKEN)
    err = capsys.readouterr().err
    assert "msg=m-2 job=job-8 state=SUCCEEDED" in err
    assert TOKEN not in err and "hello [redacted]" in err


def test_setup_is_idempotent(restore_root) -> None:
    setup_logging("INFO", structured=False)
    setup_logging("DEBUG", structured=False)
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_notifier_handler", False)]
    assert len(ours) == 1
    assert logging.getLogger("slack_sdk").level == logging.INFO  # never its DEBUG request dumps


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Posted to sms +15551230001 (ts SM1)", "Posted to sms +15•••••••01 (ts SM1)"),
        ("to +447700900123 and +33612345678.", "to +44••••••••23 and +33•••••••78."),
        ("ids 12345678901 stay, x+15551230001y does not", "ids 12345678901 stay, x+15•••••••01y does not"),
        ("+1555123 is short", "+15•••23 is short"),
    ],
)
def test_phone_numbers_are_masked_in_every_log_line(text: str, shown: str) -> None:
    record = logging.LogRecord("twilio", logging.INFO, __file__, 1, "%s", (text,), None)
    ContextAndRedactionFilter().filter(record)
    assert record.getMessage() == shown
