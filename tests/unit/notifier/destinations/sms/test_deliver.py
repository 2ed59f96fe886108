"""SMS delivery: Twilio's official client against the Messages API stand-in, and how its errors are classified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifier.destinations.sms.deliver import (
    SmsRejectedError,
    SmsUnavailableError,
    TwilioSms,
    make_twilio_client,
)
from sandbox.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, TwilioStandin


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
