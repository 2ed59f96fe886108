"""The Teams card (tests/data/<case>.teams.json) of every golden case, from the same inputs as
Slack's; valid Adaptive Cards within the size limit, links whole, no untrusted text read as Markdown.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from notifier.destinations.content import build
from notifier.destinations.teams.render import (
    MESSAGE_BYTES_MAX,
    SHORTENED,
    TEAMS_BYTES_MAX,
    VERSION,
    message_bytes,
    render_teams,
)
from sandbox.logging_standin import LoggingStandin
from sandbox.teams_standin import MAX_BYTES, message_problem
from tests.conftest import DATA
from tests.support.golden import CASES, case_inputs, golden_text
from tests.support.hostile import SECRETS, huge_enrichment


def walk(node: Any) -> Any:
    """Every dict in a JSON tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def card_of(message: dict[str, Any]) -> dict[str, Any]:
    [attachment] = message["attachments"]
    return attachment["content"]


@pytest.mark.parametrize("case", CASES)
def test_teams_card(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    message = render_teams(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    text = json.dumps(message, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(DATA / f"{case}.teams.json", text)) == message
    assert message_problem(message) == ""  # what the workflow would post (it answers 202 either way)
    assert message_bytes(message) <= MESSAGE_BYTES_MAX < TEAMS_BYTES_MAX == MAX_BYTES
    card = card_of(message)
    assert card["version"] == VERSION and card["type"] == "AdaptiveCard"
    # No element reads Markdown: every text is a TextRun, plain.
    assert not any(node.get("type") == "TextBlock" for node in walk(card))
    # Every link is one of content's, whole.
    content = build(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    known = {link.url for link in content.links}
    known |= {cause.logs.url for cause in content.causes if cause.logs}
    known |= {s.url for cause in content.causes for s in cause.error.segments if hasattr(s, "url")}
    known |= {s.url for s in content.error.segments if hasattr(s, "url")}
    urls = [node["url"] for node in walk(card) if node.get("type") == "Action.OpenUrl"]
    assert set(urls) <= known and all("…" not in url for url in urls)


def test_the_oversized_case_is_shortened_not_refused(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("oversized", logging_api)
    message = render_teams(inputs.status, inputs.enrichment, reference_time=inputs.reference_time)
    assert message_bytes(message) <= MESSAGE_BYTES_MAX and message_problem(message) == ""


@pytest.mark.parametrize(("tasks", "text"), [(1, "x" * 100_000), (40, "é😱" * 20_000), (3, "a" * 500)])
def test_huge_inputs_always_fit(tasks: int, text: str) -> None:
    status, enrichment = huge_enrichment(tasks, text)
    message = render_teams(status, enrichment)
    assert message_bytes(message) <= MESSAGE_BYTES_MAX and message_problem(message) == ""
    # The link to the console survives whatever had to go.
    assert card_of(message)["actions"][0]["url"] == "https://console.cloud.google.com/x"


def test_the_minimal_card_says_it_was_shortened() -> None:
    status, enrichment = huge_enrichment(200, "🎉" * 200_000)
    card = json.dumps(render_teams(status, enrichment), ensure_ascii=False)
    assert SHORTENED in card or len(card.encode()) <= MESSAGE_BYTES_MAX


def test_untrusted_text_is_plain_and_cannot_link(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("hostile-text", logging_api)
    card = card_of(render_teams(inputs.status, inputs.enrichment))
    runs = [node for node in walk(card) if node.get("type") == "TextRun"]
    # A link in the error is labelled by its host and opens the whole URL; nothing else links.
    for node in runs:
        action = node.get("selectAction")
        if action:
            assert action["url"].startswith(("https://", "http://")) and "/" not in node["text"].strip("/")


@pytest.mark.parametrize("case", ["failed-secrets", "failed-secrets-job-error"])
def test_no_secret_reaches_teams(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    text = json.dumps(render_teams(inputs.status, inputs.enrichment), ensure_ascii=False)
    assert not [secret for secret in SECRETS if secret in text]


def test_an_unverified_notice_says_so_first(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("unverified", logging_api)
    first = card_of(render_teams(inputs.status, inputs.enrichment))["body"][0]
    assert first["inlines"][0]["text"].startswith(
        "\u26a0\ufe0f Unverified: this status could not be confirmed"
    )
    assert first["inlines"][0]["color"] == "Attention"
