"""Thread payloads (``destinations.slack.thread``): golden files and Slack's limits.

tests/data/<case>.root-update.slack.json: the ``chat.update`` of a failing streak's root;
<case>.root-recovered.slack.json: the same root once the pipeline recovered;
<case>.recovery.slack.json: the recovery notice, a reply shown in the channel.
Regenerate with ``UPDATE_GOLDEN=1 pytest tests/unit/notifier/destinations/slack/test_thread.py`` and review the diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from slack_sdk.models.blocks import Block

from notifier.destinations.slack import thread
from notifier.model import FAILED, SUCCEEDED
from notifier.sources.final_status import parse_status
from notifier.state.streak_rules import Line, Post, Streak
from sandbox.logging_standin import LoggingStandin
from tests.support.golden import golden_text, render_slack
from tests.support.paths import DATA

SINCE = datetime(2026, 11, 25, 6, 15, 2, tzinfo=timezone.utc)
RUN_TIME = datetime(2026, 11, 27, 6, 15, 2, tzinfo=timezone.utc)
ROOT_JOB = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261125061500"
FAILING = Streak(
    open=True,
    failures=3,
    since=SINCE,
    last_failure="churn-training-20261127061500",
    root_ref="1795760109.000100",
    root_run=ROOT_JOB,
)
RECOVERED = Streak(**{**FAILING.__dict__, "open": False})


@pytest.fixture(scope="module")
def rendered(logging_api: LoggingStandin) -> Callable[[str], dict]:
    """A golden case rendered as test_render renders it (failed tasks' logs from the stand-in)."""
    return lambda case: render_slack(case, logging_api)


def check(name: str, payload: dict) -> None:
    # The version changes with every release; the goldens say where it goes.
    event = payload["metadata"]["event_payload"]
    assert event.pop("notifier_version") == thread.NOTIFIER_VERSION
    payload = {
        **payload,
        "metadata": {**payload["metadata"], "event_payload": {**event, "notifier_version": "VERSION"}},
    }
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    assert payload == json.loads(golden_text(DATA / name, text))


def within_limits(payload: dict) -> None:
    assert 1 <= len(payload["blocks"]) <= thread.BLOCKS_MAX
    for block in payload["blocks"]:
        Block.parse(block).validate_json()
    assert len(payload["text"]) <= thread.FALLBACK_TEXT_MAX
    meta = payload["metadata"]
    assert meta["event_type"] == thread.EVENT_TYPE
    # Slack's metadata payload: string, number or boolean values (one level of objects allowed).
    assert all(isinstance(v, (str, int, float, bool)) for v in meta["event_payload"].values())


def root_update(payload: dict, streak: Streak) -> dict:
    body = thread.root_body(payload)
    return thread.root_update("C0123ABCD", streak.root_ref, body, streak, "churn-training", ROOT_JOB)


@pytest.mark.parametrize(("case", "streak", "suffix"), [
    ("failed-with-tasks", FAILING, "root-update"),
    ("failed-with-tasks", RECOVERED, "root-recovered"),
])  # fmt: skip
def test_root_update_golden(case: str, streak: Streak, suffix: str, rendered) -> None:
    payload = root_update(rendered(case), streak)
    check(f"{case}.{suffix}.slack.json", payload)
    within_limits(payload)
    assert payload["ts"] == streak.root_ref
    # The streak line leads; the message it rewrites follows unchanged.
    original = rendered(case)
    assert payload["blocks"][1:] == original["blocks"]
    assert payload["text"].endswith(original["text"])
    assert payload["metadata"]["event_payload"]["job"] == ROOT_JOB


def test_root_lines_read_in_two_seconds(rendered) -> None:
    failing = root_update(rendered("failed-with-tasks"), FAILING)
    assert failing["blocks"][0]["text"]["text"] == (
        ":rotating_light: *Failing for 3 runs* since "
        "<!date^1795587302^{date_short_pretty} {time}|2026-11-25 06:15 UTC>, "
        "last: *churn-training-20261127061500*"
    )
    assert failing["text"].startswith(
        ":rotating_light: Failing for 3 runs since 2026-11-25 06:15 UTC, last: churn-training-20261127061500\n"
    )
    recovered = root_update(rendered("failed-with-tasks"), RECOVERED)
    assert recovered["blocks"][0]["text"]["text"].startswith(
        ":white_check_mark: *Recovered after 3 failed runs*"
    )
    one = Streak(**{**RECOVERED.__dict__, "failures": 1})
    assert "after 1 failed run*" in thread.streak_line(Line.RECOVERED, one)
    assert (
        thread.streak_line(Line.FAILING, Streak(open=True, failures=1))
        == ":rotating_light: *Failing for 1 run*"
    )


def test_recovery_reply_golden(rendered) -> None:
    status = parse_status((DATA / "succeeded.status.json").read_bytes())
    meta = thread.run_metadata(status, "churn-training", Post.RECOVERY, RUN_TIME, RECOVERED)
    payload = thread.message(
        rendered("succeeded"),
        meta=meta,
        line=Line.RECOVERED,
        streak=RECOVERED,
        thread_ts=RECOVERED.root_ref,
        broadcast=True,
    )
    check("succeeded.recovery.slack.json", payload)
    within_limits(payload)
    assert payload["thread_ts"] == RECOVERED.root_ref and payload["reply_broadcast"] is True
    event = payload["metadata"]["event_payload"]
    assert event["state"] == SUCCEEDED and event["post"] == "recovery"
    assert event["streak_open"] is False and event["streak_failures"] == 3
    assert event["run_time"] == "2026-11-27T06:15:02Z"


def test_a_reply_is_the_rendered_message_in_the_thread_with_metadata(rendered) -> None:
    status = parse_status((DATA / "failed-with-tasks.status.json").read_bytes())
    message = rendered("failed-with-tasks")
    meta = thread.run_metadata(status, "churn-training", Post.REPLY, RUN_TIME, FAILING)
    payload = thread.message(message, meta=meta, streak=FAILING, thread_ts=FAILING.root_ref)
    assert payload["thread_ts"] == FAILING.root_ref and "reply_broadcast" not in payload
    assert payload["blocks"] == message["blocks"] and payload["text"] == message["text"]
    assert payload["metadata"]["event_payload"] == {
        "job": status.pipeline_job_resource_name,
        "pipeline": "churn-training",
        "state": FAILED,
        "post": "reply",
        "run_time": "2026-11-27T06:15:02Z",
        "streak_open": True,
        "streak_failures": 3,
        "streak_since": "2026-11-25T06:15:02Z",
        "streak_last_failure": "churn-training-20261127061500",
        "notifier_version": thread.NOTIFIER_VERSION,
    }


def test_a_full_message_keeps_to_fifty_blocks_and_untrusted_names_are_escaped(rendered) -> None:
    hostile = Streak(**{**FAILING.__dict__, "last_failure": "<!channel> & <https://x|y>"})
    payload = root_update(rendered("oversized"), hostile)
    within_limits(payload)
    line = payload["blocks"][0]["text"]["text"]
    assert "<!channel>" not in line and "&lt;!channel&gt; &amp; &lt;https://x|y&gt;" in line


def test_the_streak_line_shows_no_token_a_run_id_carries() -> None:
    streak = Streak(**{**FAILING.__dict__, "last_failure": "nightly-xoxb-1234567890-abcdefgh"})
    line = thread.streak_line(Line.FAILING, streak)
    assert "abcdefgh" not in line and "last: *nightly-xoxb-••••*" in line
