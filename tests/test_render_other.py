"""Golden files for the other destinations: the Chat card (<case>.chat.json) and the SMS
text (<case>.sms.txt) of every case in tests/data, from the same inputs as Slack's.

Regenerate after an intended change with ``UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.destinations.content import build
from notifier.destinations.google_chat.render import (
    CHAT_BYTES_MAX,
    MESSAGE_BYTES_MAX,
    SHORTENED,
    message_bytes,
    render_chat,
)
from notifier.destinations.slack.render import render
from notifier.destinations.sms.render import SMS_MAX, render_sms
from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails, LogExcerpt
from sandbox.logging_standin import LoggingStandin
from tests.conftest import DATA
from tests.golden import CASES, case_inputs, golden_text, render_slack
from tests.hostile import examples

LOGS_URL = "https://console.cloud.google.com/logs/query;query=x?project=1"


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


# Every secret the two secrets cases carry (parameters, labels, task error, run error, job
# error, log lines): none may reach any destination, in any form.
SECRETS = [
    "EXAMPLEexample", "hunter2", "pg-Secret-42", "ZXRsOnBnLVNlY3JldC00Mg", "ya29.a0AfH6", "AKIAIOSFODNN7",
    "ghp_EXAMPLE", "AIzaSyEXAMPLE", "MIIEvQ", "MIIEow", "k-EXAMPLE-42", "dk-EXAMPLE-1234", "Sup3rS3cret", "s3cr3t!",
    "token=abc123", "private_key_id", "B00000000",
]  # fmt: skip


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


def test_an_sms_never_cuts_a_url_in_half() -> None:
    url = "https://api.example.com/v1/models/" + "m" * 150
    status = FinalStatus("FAILED", "projects/1/locations/us-central1/pipelineJobs/run-1")
    details = JobDetails(
        pipeline_name="p", failed_tasks=(FailedTask("train", f"{'x' * 40} failed at {url}"),)
    )
    text = render_sms(status, Enrichment(details, "us-central1", "https://console.cloud.google.com/v/run-1"))
    assert len(text) <= SMS_MAX and "https://api.example.com" not in text and "failed at..." in text


def _huge_enrichment(tasks: int, text: str) -> tuple[FinalStatus, Enrichment]:
    excerpt = LogExcerpt(tuple(text[:100] for _ in range(15)), "traceback")
    failed = tuple(
        FailedTask(
            f"{text[:300]}-{n}",
            text,
            excerpt=excerpt,
            logs_url=f"https://console.cloud.google.com/logs/{n}",
            log_note=text,
        )
        for n in range(tasks)
    )
    pairs = tuple((f"{text[:50]}{n}", text[:5000]) for n in range(500))
    details = JobDetails(pipeline_name=text[:1000], failed_tasks=failed, parameters=pairs, labels=pairs[:100])
    status = FinalStatus(
        "FAILED", "projects/1/locations/us-central1/pipelineJobs/" + text[:2000], error_message=text
    )
    return status, Enrichment(details, "us-central1", "https://console.cloud.google.com/x", note=text)


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
    status, enrichment = _huge_enrichment(tasks, text)
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
    status, enrichment = _huge_enrichment(3, "x" * 3000)
    card = render_chat(status, enrichment)["cardsV2"][0]["card"]
    why = next(s for s in card["sections"] if s.get("header") == "Why it failed")
    assert len(why["widgets"]) == 6 and SHORTENED not in json.dumps(card)  # three causes, three excerpts
    status, enrichment = _huge_enrichment(3, "<&" * 20_000)
    card = render_chat(status, enrichment)["cardsV2"][0]["card"]
    why = next(s for s in card["sections"] if s.get("header") == "Why it failed")
    excerpts = [w for w in why["widgets"] if "<br>" in w["textParagraph"]["text"]]  # lines joined by <br>
    assert len(why["widgets"]) == 6 and 0 < len(excerpts) < 3  # the last excerpts gave way to notes
    status, enrichment = _huge_enrichment(3, "\U0001f631" * 20_000)
    card = render_chat(status, enrichment)["cardsV2"][0]["card"]
    assert SHORTENED in json.dumps(card) and not any(s.get("header") for s in card["sections"])


def test_slack_stays_within_its_limits_whatever_it_is_given() -> None:
    status, enrichment = _huge_enrichment(400, "\U0001f631<&`" * 10_000)
    payload = render(status, enrichment, channel="C1", mention="<!here>").to_payload()
    assert len(payload["blocks"]) <= 50 and len(payload["text"]) <= 3000


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
