"""What a notification says, decided once for every destination: durations, secrets kept out of
every destination, the unverified mark everywhere, and any text within every limit.

The guarantees here are ``content``'s (``build`` scrubs, bounds and chooses link labels);
each is checked in what every destination renders from it, since that is what a reader sees.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.destinations.content import build, format_duration
from notifier.destinations.google_chat.render import MESSAGE_BYTES_MAX, message_bytes, render_chat
from notifier.destinations.slack.render import render
from notifier.destinations.sms.render import SMS_MAX, render_sms
from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails, LogExcerpt
from sandbox.logging_standin import LoggingStandin
from tests.support.golden import case_inputs, render_slack
from tests.support.hostile import SECRETS, examples


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(12, "12s"), (245, "4m 05s"), (3723, "1h 02m 03s"), (90061, "1d 01h 01m")],
)
def test_format_duration(seconds: int, expected: str) -> None:
    from datetime import timedelta

    assert format_duration(timedelta(seconds=seconds)) == expected


LOGS_URL = "https://console.cloud.google.com/logs/query;query=x?project=1"


@pytest.mark.parametrize("case", ["failed-secrets", "failed-secrets-job-error"])
def test_no_secret_reaches_any_destination(case: str, logging_api: LoggingStandin) -> None:
    inputs = case_inputs(case, logging_api)
    outputs = {
        "slack": json.dumps(render_slack(case, logging_api), ensure_ascii=False),
        "chat": json.dumps(render_chat(inputs.status, inputs.enrichment), ensure_ascii=False),
        "sms": render_sms(inputs.status, inputs.enrichment),
    }
    for destination, text in outputs.items():
        leaked = [secret for secret in SECRETS if secret in text]
        assert not leaked, f"{destination} shows {leaked}"
    # What was there is still said: the parameter's name, the kind of token, the host.
    name = "slack_token" if case == "failed-secrets" else "bq_password"
    assert f"`{name}`=`••••`" in outputs["slack"] and f"{name}=••••" in outputs["chat"]
    assert ("ghp_••••" if case == "failed-secrets" else "postgres://loader:••••@10.0.0.5") in outputs["slack"]


def test_an_unverified_notice_says_so_everywhere(logging_api: LoggingStandin) -> None:
    inputs = case_inputs("unverified", logging_api)
    chat = render_chat(inputs.status, inputs.enrichment)
    first = "Unverified: this status could not be confirmed with Vertex AI (Vertex AI could not be reached)."
    assert (
        chat["text"]
        == f"\u26a0\ufe0f {first}\n\U0001f631 Pipeline job *churn-training-20261127061500* failed."
    )
    card = chat["cardsV2"][0]["card"]
    assert card["header"]["subtitle"] == "Unverified"
    assert card["sections"][0]["widgets"][0]["textParagraph"]["text"] == f"\u26a0\ufe0f <b>{first}</b>"
    sms = render_sms(inputs.status, inputs.enrichment)
    assert sms.startswith(
        "Unverified (Vertex AI could not be reached): Vertex pipeline churn-training FAILED"
    )


fragments = st.sampled_from(
    ["```", "````", "`", "<!channel>", "&", "<", ">", "|", "*", "\n", "\u200b", "\ud800", "\U0001f631",
     "https://evil.example/a?b=c&d", "https://u:p@x.example/", "xoxb-1-2-leaked", " password=hunter2",
     "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "Traceback (most recent call last):",
     "The failed tasks are: [a, b]", "a" * 500]
)  # fmt: skip


hostile_texts = st.lists(fragments | st.text(max_size=40), max_size=40).map("".join)


@settings(max_examples=examples(100, 1000), deadline=None)
@given(
    error=hostile_texts, name=hostile_texts, lines=st.lists(hostile_texts, max_size=20), value=hostile_texts
)
def test_any_text_renders_within_every_limit_with_whole_links(
    error: str, name: str, lines: list[str], value: str
) -> None:
    task = FailedTask(name or "t", error, excerpt=LogExcerpt(tuple(lines), "errors"), logs_url=LOGS_URL)
    details = JobDetails(pipeline_name=name, failed_tasks=(task,) * 4, parameters=((name, value),))
    status = FinalStatus("FAILED", "projects/1/locations/us-central1/pipelineJobs/run-1", error_message=error)
    enrichment = Enrichment(
        details, "us-central1", "https://console.cloud.google.com/x", unverified=value[:50]
    )
    payload = render(status, enrichment, channel="C1", mention="<!here>").to_payload()
    slack = json.dumps(payload, ensure_ascii=False)
    assert len(payload["text"]) <= 3000 and len(payload["blocks"]) <= 50
    urls = {
        LOGS_URL,
        "https://console.cloud.google.com/x",
        "https://evil.example/a?b=c&d",
        "https://u:••••@x.example/",
    }
    for found in re.findall(r"<(https?://[^|>]*)\|", slack):
        assert found.replace("&amp;", "&") in urls or found.replace("&amp;", "&").startswith(
            ("https://evil.example/a?b=c&d", "https://u:••••@x.example/")
        )
    assert "hunter2" not in slack and "leaked" not in slack
    if build(status, enrichment).unverified:
        assert "<!here>" not in slack and payload["text"].startswith(":warning: Unverified")
    else:
        assert payload["text"].startswith("<!here> ")
    chat = render_chat(status, enrichment)
    assert message_bytes(chat) <= MESSAGE_BYTES_MAX and not re.search("hunter2|leaked", json.dumps(chat))
    sms = render_sms(status, enrichment)
    assert len(sms) <= SMS_MAX and sms.isascii() and not re.search("hunter2|leaked", sms)
