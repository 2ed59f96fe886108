"""The buttons people act from (``render.control_blocks``, ``thread.with_controls``): golden files.

tests/data/failed-with-tasks.actions.slack.json: a failure with Acknowledge, Retry and Mute;
<case>.acked-muted.slack.json: the same once acknowledged, muted and retried;
<case>.root-update-actions.slack.json: a streak's root redrawn with its buttons;
succeeded.sweep-actions.slack.json: a run still going, with Cancel and Mute.
Without ``ACTIONS_TOPIC`` no message changes: every other golden file stays as it was.
Regenerate with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from slack_sdk.models.blocks import Block

from notifier.actions.commands import FAILED_BLOCK, RUNNING_BLOCK, STATUS_BLOCK
from notifier.destinations.slack import thread
from notifier.destinations.slack.render import (
    BLOCKS_MAX,
    RETRIED,
    Controls,
    controls_for,
    done_lines,
    render,
)
from notifier.model import SWEEP, FinalStatus, Quiet
from notifier.state.streak_rules import Streak
from sandbox.logging_standin import LoggingStandin
from tests.conftest import DATA
from tests.support.golden import case_inputs, golden_text, render_slack

JOB = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"
ACKED = datetime(2026, 11, 27, 10, 42, tzinfo=timezone.utc)
QUIET = Quiet(
    acked_by="U0AMY",
    acked_at=ACKED,
    muted_by="U0BOB",
    muted_until=datetime(2026, 11, 28, 10, 50, tzinfo=timezone.utc),
)
BOTH = frozenset({"cancel", "retry"})


@pytest.fixture(scope="module")
def rendered(logging_api: LoggingStandin) -> Callable[[str], dict]:
    return lambda case: render_slack(case, logging_api)


def check(name: str, payload: dict) -> None:
    for block in payload["blocks"]:
        Block.parse(block).validate_json()  # Slack's own limits, as slack_sdk knows them
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    assert payload == json.loads(golden_text(DATA / name, text))


def ids(payload: dict) -> list[str]:
    return [
        e["action_id"]
        for b in payload["blocks"]
        if b.get("block_id") in (FAILED_BLOCK, RUNNING_BLOCK)
        for e in b["elements"]
    ]


def test_a_failure_gets_acknowledge_retry_and_mute(rendered) -> None:
    payload = rendered("failed-with-tasks")
    status = FinalStatus("FAILED", JOB)
    with_buttons = thread.with_controls(payload, controls_for(status, JOB, allowed=BOTH))
    check("failed-with-tasks.actions.slack.json", with_buttons)
    assert ids(with_buttons) == ["notifier_ack", "notifier_retry", "notifier_mute"]
    # The message itself is untouched: the buttons come after it.
    assert with_buttons["blocks"][: len(payload["blocks"])] == payload["blocks"]
    retry = with_buttons["blocks"][-1]["elements"][1]
    assert retry["value"] == JOB and retry["confirm"]["confirm"]["text"] == "Retry"
    # Without the opt-in, acknowledge and mute only.
    assert ids(thread.with_controls(payload, controls_for(status, JOB))) == ["notifier_ack", "notifier_mute"]


def test_once_acknowledged_muted_and_retried_it_says_so(rendered) -> None:
    payload = rendered("failed-with-tasks")
    done = f"{RETRIED} Retried by <@U0AMY> as <https://console.cloud.google.com/x|churn-training-20261127061500-retry-1>"
    controls = Controls(FAILED_BLOCK, JOB, BOTH, QUIET, (done,))
    drawn = thread.with_controls(payload, controls)
    check("failed-with-tasks.acked-muted.slack.json", drawn)
    assert ids(drawn) == ["notifier_unmute"]  # acknowledged, retried: those buttons are spent
    [status] = [b for b in drawn["blocks"] if b.get("block_id") == STATUS_BLOCK]
    lines = [e["text"] for e in status["elements"]]
    assert lines[0].startswith(":eyes: Acknowledged by <@U0AMY> at <!date^")
    assert lines[1].startswith(":mute: Muted until <!date^") and lines[1].endswith("by <@U0BOB>")
    # Drawn again (a later click), what was done is kept and nothing is doubled.
    assert done_lines(drawn["blocks"]) == (done,)
    again = thread.with_controls(drawn, replace(controls, done=done_lines(drawn["blocks"])))
    assert again == drawn


def test_a_streak_root_keeps_its_buttons_while_open_and_drops_them_once_recovered(rendered) -> None:
    streak = Streak(open=True, failures=3, since=ACKED, last_failure="churn-training-20261127061500",
                    root_ref="1795760109.000100", root_run=JOB, root_body=thread.root_body(rendered("failed-with-tasks")))  # fmt: skip
    root = thread.root_redrawn("C0123ABCD", "churn-training", streak, frozenset(), QUIET)
    check("failed-with-tasks.root-update-actions.slack.json", _without_version(root))
    assert ids(root) == ["notifier_unmute"]
    recovered = thread.root_redrawn(
        "C0123ABCD", "churn-training", replace(streak, open=False), frozenset(), QUIET
    )
    assert ids(recovered) == [] and not any(b.get("block_id") == STATUS_BLOCK for b in recovered["blocks"])
    # Actions off: exactly the root update of before.
    plain = thread.root_redrawn("C0123ABCD", "churn-training", streak, None, QUIET)
    assert plain == thread.root_update(
        "C0123ABCD", streak.root_ref, streak.root_body, streak, "churn-training", JOB
    )


def test_a_run_still_going_gets_cancel_and_mute(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("succeeded", logging_api)
    status = FinalStatus("RUNNING", JOB, source=SWEEP)
    payload = render(
        status, inputs.enrichment, channel="C0123ABCD", reference_time=inputs.reference_time
    ).to_payload()
    drawn = thread.with_controls(payload, controls_for(status, JOB, allowed=BOTH))
    check("succeeded.sweep-actions.slack.json", drawn)
    cancel = drawn["blocks"][-1]["elements"][0]
    assert ids(drawn) == ["notifier_cancel", "notifier_mute"]
    assert cancel["style"] == "danger" and cancel["confirm"]["title"]["text"] == "Cancel this run?"


@pytest.mark.parametrize("state", ["SUCCEEDED", "CANCELLED", "UNKNOWN"])
def test_other_states_get_no_buttons(state: str) -> None:
    assert controls_for(FinalStatus(state, JOB), JOB, allowed=BOTH) is None


@pytest.mark.parametrize(
    "job", ["", "projects/x/locations/us-central1/pipelineJobs/a", JOB + "/../x", "<!channel>"]
)
def test_a_run_without_a_checked_name_gets_no_buttons(job: str) -> None:
    assert controls_for(FinalStatus("FAILED", job), job, allowed=BOTH) is None


def test_buttons_fit_within_slacks_block_limit() -> None:
    many = {
        "text": "x",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": str(n)}} for n in range(BLOCKS_MAX)
        ],
    }
    drawn = thread.with_controls(many, Controls(FAILED_BLOCK, JOB, BOTH, QUIET))
    assert len(drawn["blocks"]) == BLOCKS_MAX
    assert [b.get("block_id") for b in drawn["blocks"][-2:]] == [STATUS_BLOCK, FAILED_BLOCK]
    assert thread.with_controls(drawn, None)["blocks"] == many["blocks"][: BLOCKS_MAX - 2]


def test_done_lines_keep_only_what_was_done_and_bounded() -> None:
    blocks = [
        {"type": "context", "block_id": STATUS_BLOCK, "elements": [
            {"type": "mrkdwn", "text": ":eyes: Acknowledged by <@U0AMY>"},
            {"type": "mrkdwn", "text": ":repeat: Retried by <@U0AMY> as x"},
            {"type": "mrkdwn", "text": ":repeat: " + "x" * 400},
            {"type": "mrkdwn", "text": "<!channel> :repeat:"},
        ]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": ":repeat: not ours"}]},
    ]  # fmt: skip
    assert done_lines(blocks) == (":repeat: Retried by <@U0AMY> as x",)


def _without_version(payload: dict) -> dict:
    event = payload["metadata"]["event_payload"]
    assert event.pop("notifier_version") == thread.NOTIFIER_VERSION
    return payload
