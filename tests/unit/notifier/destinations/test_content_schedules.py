"""Schedule warnings rendered for Slack, Google Chat and SMS: golden files beside their Schedules in
tests/data/schedules (``<case>.slack.json``, ``.chat.json``, ``.sms.txt``), and hostile text.

Each warning comes from the real path: the Schedule document through ``aiplatform_v1.Schedule``,
the reduction and the rules, at a moment it describes. Regenerate after an intended change with
``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from notifier.destinations.content import OPEN_SCHEDULE, format_ago, schedule_content
from notifier.destinations.google_chat.render import MESSAGE_BYTES_MAX, message_bytes, render_chat
from notifier.destinations.slack.render import SECTION_TEXT_MAX, render
from notifier.destinations.sms.render import SMS_MAX, render_sms
from notifier.enrich.schedules import schedule_console_url
from notifier.model import Enrichment, FinalStatus
from notifier.sources.schedule_rules import Policy, check
from tests.support.golden import golden_text
from tests.support.scheduledata import FOLDER, NOW, JobRuns, details, document

# Each case and the moment it is rendered at (an end is news for a week).
CASES = {
    "missed-slot": NOW,
    "creation-failed": NOW,
    "completed-end-time": NOW,
    "completed-max-runs": datetime(2026, 11, 16, 9, 30, tzinfo=timezone.utc),
}


def warning(raw: str | dict, now: datetime) -> tuple[FinalStatus, Enrichment]:
    schedule = details(raw)
    [status] = check(schedule, now, Policy(), JobRuns()).warnings
    return status, Enrichment(schedule.pipeline, schedule.name.region, schedule_console_url(schedule.name))


@pytest.mark.parametrize("case", sorted(CASES))
def test_slack(case: str) -> None:
    status, enrichment = warning(case, CASES[case])
    payload = render(
        status, enrichment, channel="C0DATAENG", mention="<!subteam^S0ONCALL>", reference_time=CASES[case]
    ).to_payload()
    text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(FOLDER / f"{case}.slack.json", text)) == payload
    assert "subteam" not in text  # a schedule warning mentions no one
    [actions] = [b for b in payload["blocks"] if b["type"] == "actions"]
    [button] = actions["elements"]
    assert button["text"]["text"] == OPEN_SCHEDULE and button["url"] == enrichment.console_url


@pytest.mark.parametrize("case", sorted(CASES))
def test_chat(case: str) -> None:
    status, enrichment = warning(case, CASES[case])
    message = render_chat(status, enrichment, reference_time=CASES[case])
    text = json.dumps(message, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(golden_text(FOLDER / f"{case}.chat.json", text)) == message
    assert message_bytes(message) <= MESSAGE_BYTES_MAX


@pytest.mark.parametrize("case", sorted(CASES))
def test_sms(case: str) -> None:
    status, enrichment = warning(case, CASES[case])
    text = render_sms(status, enrichment, reference_time=CASES[case])
    assert golden_text(FOLDER / f"{case}.sms.txt", text + "\n") == text + "\n"
    assert len(text) <= SMS_MAX and text.isascii() and text.endswith(enrichment.console_url)


def test_the_lines_read_in_two_seconds() -> None:
    lines = {
        case: schedule_content(*warning(case, now), reference_time=now).plain for case, now in CASES.items()
    }
    assert lines == {
        "missed-slot": "Scheduled run of feature-backfill did not start: due 10:00 UTC (cron 0 10 * * *), 2h ago",
        "creation-failed": "Scheduled run of fraud-retrain could not be created: due 08:30 UTC (cron 30 */4 * * *), 3h 30m ago",
        "completed-end-time": "Schedule holiday-forecast-daily ended: its end time, 2026-11-25 00:00 UTC, passed",
        "completed-max-runs": "Schedule ab-test-readout-weekly ended: it reached its 6 runs",
    }


def test_a_slot_of_another_day_says_its_date() -> None:
    status, enrichment = warning("missed-slot", NOW + timedelta(days=1, hours=3))
    line = schedule_content(status, enrichment, reference_time=NOW + timedelta(days=1, hours=3)).plain
    assert "due 2026-11-27 10:00 UTC (cron 0 10 * * *), 1d 5h ago" in line


@pytest.mark.parametrize(
    ("delta", "text"),
    [(timedelta(seconds=-5), "just now"), (timedelta(seconds=59), "just now"), (timedelta(minutes=45), "45m ago"),
     (timedelta(hours=2), "2h ago"), (timedelta(hours=2, minutes=5), "2h 05m ago"), (timedelta(days=3), "3d ago")],
)  # fmt: skip
def test_ago(delta: timedelta, text: str) -> None:
    assert format_ago(delta) == text


HOSTILE = (
    "<!channel> PERMISSION_DENIED: token xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx "
    "see https://evil.example/login?next=console.cloud.google.com and <https://evil.example|Vertex AI> "
    + "A"
    * 20_000
)


def hostile_warning() -> tuple[FinalStatus, Enrichment]:
    raw = document("creation-failed")
    raw["lastScheduledRunResponse"]["runResponse"] = HOSTILE
    raw["displayName"] = "*bold* <!here> `tick`"
    raw["cron"] = "30 */4 * * * `<!channel>` " + "9" * 500
    job = raw["createPipelineJobRequest"]["pipelineJob"]
    job["pipelineSpec"]["pipelineInfo"]["name"] = "<@U0ADMIN> fraud" + "x" * 1000
    return warning(raw, NOW)


def test_hostile_text_is_scrubbed_bounded_and_never_a_mention_or_a_link_label() -> None:
    status, enrichment = hostile_warning()
    slack = json.dumps(render(status, enrichment, channel="C0X", reference_time=NOW).to_payload())
    chat = render_chat(status, enrichment, reference_time=NOW)
    sms = render_sms(status, enrichment, reference_time=NOW)
    for text in (slack, json.dumps(chat), sms):
        assert "xoxb-123456789012" not in text  # token shapes scrubbed
        assert "|Vertex AI>" not in text  # payload text never labels a link
        assert "A" * 400 not in text and "9" * 150 not in text
    # Where mention syntax is live, nothing of the payload's survives: Slack's mrkdwn (escaped)
    # and Chat's text format (no < or >); a card's header and an SMS are plain text.
    assert "<!channel>" not in slack and "<!here>" not in slack and "<@U0ADMIN>" not in slack
    assert "<" not in chat["text"] and ">" not in chat["text"]
    assert len(slack) < 6000 and message_bytes(chat) < 4000 and len(sms) <= SMS_MAX
    payload = render(status, enrichment, channel="C0X", reference_time=NOW).to_payload()
    for block in payload["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
    # The one link the message offers is ours, built from the checked name.
    [button] = next(b for b in payload["blocks"] if b["type"] == "actions")["elements"]
    assert button["url"] == enrichment.console_url


def test_an_end_after_a_single_run_reads_right() -> None:
    raw = document("completed-max-runs")
    raw["maxRunCount"] = raw["startedRunCount"] = "1"
    now = CASES["completed-max-runs"]
    status, enrichment = warning(raw, now)
    line = schedule_content(status, enrichment, reference_time=now).plain
    assert line == "Schedule ab-test-readout-weekly ended: it reached its 1 run"
