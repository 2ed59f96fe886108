"""SMS: the text (pure, at most 320 GSM-safe characters, links whole) and Twilio delivery
through the official client against the Messages API stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.destinations.sms.deliver import (
    SmsRejectedError,
    SmsUnavailableError,
    TwilioSms,
    make_twilio_client,
)
from notifier.destinations.sms.render import SMS_MAX, ascii_text, render_sms
from notifier.model import Enrichment, FailedTask, FinalStatus, JobDetails
from sandbox.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, TwilioStandin
from tests.hostile import examples

JOB = "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500"
LINK = "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/churn-training-20261127061500?project=271009669852"


def enrichment(*tasks: FailedTask, link: str = LINK) -> Enrichment:
    return Enrichment(JobDetails(pipeline_name="churn-training", failed_tasks=tasks), "us-central1", link)


def test_a_failure_names_pipeline_task_and_link() -> None:
    text = render_sms(
        FinalStatus("FAILED", JOB),
        enrichment(
            FailedTask("Trainer", "ValueError: bad dtype\nTraceback ..."), FailedTask("Evaluator", "x")
        ),
    )
    assert text == (
        "Vertex pipeline churn-training FAILED (run churn-training-20261127061500). "
        f"Trainer: ValueError: bad dtype (+1 more) {LINK}"
    )


def test_long_prose_is_cut_and_the_link_kept_whole() -> None:
    text = render_sms(FinalStatus("FAILED", JOB), enrichment(FailedTask("Trainer", "E" * 2000)))
    assert len(text) == SMS_MAX
    assert text.endswith(f"... {LINK}")


def test_a_link_too_long_to_fit_whole_is_left_out() -> None:
    long_link = "https://console.cloud.google.com/" + "a" * 400
    text = render_sms(FinalStatus("FAILED", JOB), enrichment(FailedTask("T", "boom"), link=long_link))
    assert "https://" not in text and len(text) <= SMS_MAX


hostile_text = st.text(max_size=3000) | st.sampled_from(
    ["😱" * 500, "\x00\x1b[31m\u202e", "é" * 400, "\ud800"]
)


@settings(max_examples=examples(300, 2000), deadline=None)
@given(state=st.sampled_from(["FAILED", "SUCCEEDED", "CANCELLED", "RUNNING", "W\u00e9ird"]) | hostile_text,
       name=hostile_text, message=hostile_text, task=hostile_text)  # fmt: skip
def test_any_text_fits_two_gsm_segments(state: str, name: str, message: str, task: str) -> None:
    status = FinalStatus(state, f"projects/1/locations/r/pipelineJobs/{name[:50]}", error_message=message)
    details = JobDetails(display_name=name, failed_tasks=(FailedTask(task, message),) if task else ())
    text = render_sms(status, Enrichment(details, "r", LINK))
    assert len(text) <= SMS_MAX
    assert text.isascii() and text.isprintable()


def test_ascii_text_keeps_what_gsm_can_show() -> None:
    assert (
        ascii_text("Caf\u00e9 \u2013 na\u00efve \u201cq\u201d \U0001f631\n\tok\u2026")
        == 'Cafe - naive "q" ? ok...'
    )


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioStandin]:
    with TwilioStandin() as standin:
        yield standin


@pytest.fixture
def sms(twilio: TwilioStandin) -> TwilioSms:
    twilio.reset()
    return TwilioSms(lambda: make_twilio_client(ACCOUNT_SID, AUTH_TOKEN, twilio.url), "+15005550006")


def test_sent_through_the_official_client(sms: TwilioSms, twilio: TwilioStandin) -> None:
    sid = sms.send("+15551234567", "hello")
    [sent] = twilio.sent
    assert (sent.sid, sent.to, sent.from_, sent.body) == (sid, "+15551234567", "+15005550006", "hello")


def test_a_messaging_service_sender(twilio: TwilioStandin) -> None:
    twilio.reset()
    TwilioSms(lambda: make_twilio_client(ACCOUNT_SID, AUTH_TOKEN, twilio.url), "MG" + "1" * 32).send(
        "+15551234567", "x"
    )
    assert twilio.sent[0].from_ == "MG" + "1" * 32


@pytest.mark.parametrize(
    ("code", "kind"),
    [(20429, SmsUnavailableError), (20500, SmsUnavailableError), (30001, SmsUnavailableError),
     (21211, SmsRejectedError), (21610, SmsRejectedError), (20003, SmsRejectedError)],
)  # fmt: skip
def test_twilio_error_codes_are_classified(
    sms: TwilioSms, twilio: TwilioStandin, code: int, kind: type
) -> None:
    twilio.fail_next(code)
    with pytest.raises(kind, match=f"error {code}"):
        sms.send("+15551234567", "x")
    assert twilio.sent == []


def test_wrong_credentials_and_unreachable(twilio: TwilioStandin) -> None:
    with pytest.raises(SmsRejectedError, match="error 20003"):
        TwilioSms(lambda: make_twilio_client(ACCOUNT_SID, "wrong-token", twilio.url), "+15005550006").send(
            "+15551234567", "x"
        )
    with pytest.raises(SmsUnavailableError, match="unreachable") as info:
        TwilioSms(lambda: make_twilio_client(ACCOUNT_SID, AUTH_TOKEN, "http://127.0.0.1:9"), "+1500").send(
            "+1555", "x"
        )
    assert AUTH_TOKEN not in str(info.value)
