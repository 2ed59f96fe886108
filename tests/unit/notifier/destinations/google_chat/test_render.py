"""Google Chat's card: golden files (<case>.chat.json) of every case in tests/data, from the
same inputs as Slack's, escaping, and Chat's size limit whatever the card is given.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json

import pytest

from notifier.destinations.google_chat.render import (
    CHAT_BYTES_MAX,
    MESSAGE_BYTES_MAX,
    SHORTENED,
    message_bytes,
    render_chat,
)
from sandbox.logging_standin import LoggingStandin
from tests.support.golden import CASES, case_inputs, golden_text
from tests.support.hostile import huge_enrichment
from tests.support.paths import DATA


@pytest.mark.parametrize("case", CASES)
def test_chat_card(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    message = render_chat(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    text = json.dumps(message, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(DATA / f"{case}.chat.json", text)) == message
    assert (
        len(json.dumps(message, ensure_ascii=False).encode()) <= message_bytes(message) <= MESSAGE_BYTES_MAX
    )
    # Every link is a whole URL in a button; nothing cut.
    for section in message["cardsV2"][0]["card"]["sections"]:
        for widget in section["widgets"]:
            for button in widget.get("buttonList", {}).get("buttons", []):
                assert button["onClick"]["openLink"]["url"].startswith("https://")
                assert "…" not in button["onClick"]["openLink"]["url"]


def test_untrusted_text_cannot_inject_markup(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("hostile-text", logging_api)
    card = json.dumps(render_chat(inputs.status, inputs.enrichment))
    assert "<script" not in card
    assert 'href="https://evil' not in card  # the link in the error is text, its label escaped
    assert "&lt;!channel&gt;" in card


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f631" * 20_000,  # four bytes in UTF-8, twelve as the JSON deliver sends
        '<&"' * 20_000,  # HTML escapes, JSON escapes
        ("word https://evil.example/" + "a&b" * 300 + " ") * 100,  # links to keep whole
    ],
    ids=["emoji", "escapes", "links"],
)
@pytest.mark.parametrize("tasks", [3, 400])
def test_chat_stays_within_its_size_limit_whatever_it_is_given(text: str, tasks: int) -> None:
    status, enrichment = huge_enrichment(tasks, text)
    message = render_chat(status, enrichment)
    assert (
        len(json.dumps(message, ensure_ascii=False).encode()) <= message_bytes(message) <= MESSAGE_BYTES_MAX
    )
    assert MESSAGE_BYTES_MAX + 2_500 < CHAT_BYTES_MAX  # room for a 200-character thread key, escaped
    card = message["cardsV2"][0]["card"]
    assert card["header"]["title"] and message["text"].startswith("\U0001f631 Pipeline job")
    buttons = [w for s in card["sections"] for w in s["widgets"] if "buttonList" in w]
    assert buttons, "the links survive every cut"


def test_chat_drops_excerpts_then_text_then_all_but_the_lead_and_links() -> None:
    status, enrichment = huge_enrichment(3, "x" * 3000)
    card = render_chat(status, enrichment)["cardsV2"][0]["card"]
    why = next(s for s in card["sections"] if s.get("header") == "Why it failed")
    assert len(why["widgets"]) == 6 and SHORTENED not in json.dumps(card)  # three causes, three excerpts
    status, enrichment = huge_enrichment(3, "<&" * 20_000)
    card = render_chat(status, enrichment)["cardsV2"][0]["card"]
    why = next(s for s in card["sections"] if s.get("header") == "Why it failed")
    excerpts = [w for w in why["widgets"] if "<br>" in w["textParagraph"]["text"]]  # lines joined by <br>
    assert len(why["widgets"]) == 6 and 0 < len(excerpts) < 3  # the last excerpts gave way to notes
    status, enrichment = huge_enrichment(3, "\U0001f631" * 20_000)
    card = render_chat(status, enrichment)["cardsV2"][0]["card"]
    assert SHORTENED in json.dumps(card) and not any(s.get("header") for s in card["sections"])
