"""The weekly digest as Slack messages: golden files, Slack's limits, overflow into the thread.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
from datetime import timedelta

from notifier.destinations.digest_content import digest_content
from notifier.destinations.slack.digest_render import render_digest
from notifier.destinations.slack.render import BLOCKS_MAX, MESSAGE_TEXT_MAX, SECTION_TEXT_MAX
from notifier.digest_rules import Limits, digest
from tests.support.digestdata import CHANNEL, PERIOD, many, record, schedule_warnings, story
from tests.support.golden import golden_text
from tests.support.paths import DATA


def rendered(runs: list, limits: Limits | None = None, warnings: tuple = ()) -> list[dict]:
    result = digest(CHANNEL, PERIOD, runs, warnings, limits=limits or Limits())
    assert result is not None
    return render_digest(digest_content(result), channel="C0DEFAULT1")


def check_limits(payloads: list[dict]) -> None:
    for payload in payloads:
        assert len(payload["blocks"]) <= BLOCKS_MAX
        for block in payload["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
        assert sum(len(json.dumps(b)) for b in payload["blocks"]) < 2 * MESSAGE_TEXT_MAX


def test_golden_story() -> None:
    payloads = rendered(story(), warnings=tuple(schedule_warnings()))
    actual = json.dumps(payloads, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(DATA / "digest.slack.json", actual)) == payloads
    assert len(payloads) == 1
    text = json.dumps(payloads)
    # The hostile error line is inline code: no link, no mention, no early end of the code.
    assert "<https://evil" not in text and "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "|console.cloud.google.com>" in text  # links built by the link helper, labelled with the host


def test_golden_overflow_continues_in_the_thread() -> None:
    payloads = rendered(many(60), Limits(pipelines=60, flaky=60, streaks=60))
    actual = json.dumps(payloads, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(DATA / "digest-overflow.slack.json", actual)) == payloads
    assert len(payloads) > 1
    check_limits(payloads)
    assert "Continued in the thread" in json.dumps(payloads[0])
    assert payloads[1]["blocks"][0]["type"] == "context" and f"(2/{len(payloads)})" in payloads[1]["text"]
    # Every pipeline is in one of the messages, once.
    text = json.dumps(payloads)
    assert all(text.count(f"*pipeline-with-a-rather-long-name-{n:03d}*: 3 runs") == 1 for n in range(60))


def test_a_hostile_pipeline_name_can_neither_mention_nor_link() -> None:
    hostile = "<!here> <https://evil.example|ok> *x* `y`"
    payloads = rendered([record("h-1", hostile, "FAILED", PERIOD.end - timedelta(hours=1))])
    text = json.dumps(payloads)
    assert "<!here>" not in text and "<https://evil" not in text
    assert "&lt;!here&gt;" in text
