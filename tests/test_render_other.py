"""Golden files for the other destinations: the Chat card (<case>.chat.json) and the SMS
text (<case>.sms.txt) of every case in tests/data, from the same inputs as Slack's.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json

import pytest

from notifier.destinations.google_chat.render import MESSAGE_BYTES_MAX, render_chat
from notifier.destinations.sms.render import SMS_MAX, render_sms
from sandbox.logging_standin import LoggingStandin
from tests.conftest import DATA
from tests.golden import CASES, case_inputs, golden_text


@pytest.mark.parametrize("case", CASES)
def test_chat_card(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    message = render_chat(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    text = json.dumps(message, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(DATA / f"{case}.chat.json", text)) == message
    assert len(json.dumps(message, ensure_ascii=False).encode()) <= MESSAGE_BYTES_MAX
    # Every link is a whole URL in a button; nothing cut.
    for section in message["cardsV2"][0]["card"]["sections"]:
        for widget in section["widgets"]:
            for button in widget.get("buttonList", {}).get("buttons", []):
                assert button["onClick"]["openLink"]["url"].startswith("https://")
                assert "…" not in button["onClick"]["openLink"]["url"]


@pytest.mark.parametrize("case", CASES)
def test_sms_text(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    text = render_sms(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    assert golden_text(DATA / f"{case}.sms.txt", text + "\n") == text + "\n"
    assert len(text) <= SMS_MAX and text.isascii()
    if inputs.enrichment.console_url:
        assert text.endswith(inputs.enrichment.console_url)


def test_untrusted_text_cannot_inject_markup(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("hostile-text", logging_api)
    card = json.dumps(render_chat(inputs.status, inputs.enrichment))
    assert "<script" not in card
    assert 'href="https://evil' not in card  # the link in the error is text, its label escaped
    assert "&lt;!channel&gt;" in card
