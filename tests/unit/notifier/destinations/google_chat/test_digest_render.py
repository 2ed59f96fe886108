"""The weekly digest as a Google Chat card: golden file, escaping, Chat's size limit.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json

from notifier.destinations.digest_content import digest_content
from notifier.destinations.google_chat.digest_render import render_digest_chat
from notifier.destinations.google_chat.render import MESSAGE_BYTES_MAX
from notifier.destinations.webhooks import json_bytes
from notifier.digest_rules import Limits, digest
from tests.support.digestdata import CHANNEL, PERIOD, many, schedule_warnings, story
from tests.support.golden import golden_text
from tests.support.paths import DATA


def test_golden_story() -> None:
    result = digest(CHANNEL, PERIOD, story(), schedule_warnings())
    assert result is not None
    message = render_digest_chat(digest_content(result))
    actual = json.dumps(message, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(DATA / "digest.chat.json", actual)) == message
    text = json.dumps(message)
    assert '<a href=\\"https://evil' not in text and "&lt;https://evil.example/|click here&gt;" in text
    assert "*" not in message["text"] and "<" not in message["text"]


def test_a_large_digest_shows_fewer_lines_and_says_so() -> None:
    result = digest(CHANNEL, PERIOD, many(), limits=Limits(pipelines=200, flaky=200, streaks=200))
    assert result is not None
    message = render_digest_chat(digest_content(result))
    assert json_bytes(message) <= MESSAGE_BYTES_MAX
    assert "more not shown" in json.dumps(message)
