"""The demo's printout of Slack payloads: mrkdwn turned into plain text, replies and root updates shown."""

from __future__ import annotations

import json

from tests.support.paths import REPO


def test_printout_turns_mrkdwn_into_plain_text() -> None:
    from sandbox.console import Style, format_payload, plain

    assert plain("<!date^1795760109^{date_short_pretty}|2026-11-27 06:15 UTC>") == "2026-11-27 06:15 UTC"
    assert plain("<https://x.example/a|the run> &amp; &lt;b&gt;") == "the run (https://x.example/a) & <b>"
    assert plain("<!subteam^S0123ABC> *job* `k`") == "@team job k"
    payload = json.loads((REPO / "tests" / "data" / "failed-traceback.slack.json").read_text())
    text = format_payload(payload, style=Style(False), width=80)
    lines = text.splitlines()
    assert lines[2] == "@team 😱 churn-training failed after ~26m 50s"
    assert lines[3].startswith("train-model: The replica workerpool0-0 exited with a non-zero status of 1.")
    assert "  ┆ Traceback (most recent call last):" in lines
    assert "  ┆ KeyError: 'churned'" in lines
    assert "Links" in lines
    assert "· View logs (https://console.cloud.google.com/logs/query;" in lines[4]
    assert "\x1b[" not in text  # no colour codes when the output is not a terminal


def test_printout_of_a_thread_reply_and_a_root_update() -> None:
    from sandbox.console import Style, format_payload, format_update

    recovery = json.loads((REPO / "tests" / "data" / "succeeded.recovery.slack.json").read_text())
    lines = format_payload(recovery, style=Style(False), width=80).splitlines()
    assert lines[1] == "to C0123ABCD, ↳ in the thread of 1795760109.000100 (also sent to the channel)"
    assert lines[2] == "✅ Recovered after 3 failed runs (failing since 2026-11-25 06:15 UTC)"
    update = json.loads((REPO / "tests" / "data" / "failed-with-tasks.root-update.slack.json").read_text())
    assert format_update(update, style=Style(False), width=80).splitlines()[1:] == [
        "✎ updated 1795760109.000100 in C0123ABCD, which now leads with:",
        "  🚨 Failing for 3 runs since 2026-11-25 06:15 UTC, last: churn-training-20261127061500",
    ]
