"""The weekly digest's request: only from SWEEP_TOPIC, its period strict RFC 3339 or the default week."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from notifier.config import Config
from notifier.digest_rules import Period
from notifier.errors import PermanentError
from notifier.sources import Sources
from notifier.sources.digest import (
    BadPeriodError,
    DigestRefusedError,
    DigestRequest,
    Digests,
    is_digest,
    parse_time,
)
from notifier.sources.pubsub import PubSubMessage
from notifier.sources.sweep import SweepRefusedError

TOPIC = "projects/acme-ml-prod/topics/pipeline-sweep"
BASE = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_CHANNEL_ID": "C0DEFAULT1",
    "ALLOWED_PROJECTS": "acme-ml-prod",
    "ALLOWED_REGIONS": "us-central1",
}
ENV = {**BASE, "SWEEP_TOPIC": TOPIC}
NOW = datetime(2026, 11, 30, 9, 41, 12, tzinfo=timezone.utc)


def message(
    topic: str = TOPIC, publish_time: str = "2026-11-30T09:00:07.123Z", **attributes: str
) -> PubSubMessage:
    return PubSubMessage(
        "m-1", b"{}", {"action": "digest", **attributes}, publish_time=publish_time, topic=topic
    )


def digests(env: dict[str, str] | None = None, seen: list[DigestRequest] | None = None) -> Digests:
    sink = seen if seen is not None else []
    return Digests(Config.from_env(env or ENV), sink.append, clock=lambda: NOW)


def test_the_default_is_the_week_ending_at_the_publish_hour() -> None:
    request = digests().request(message())
    end = datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
    assert request.period == Period(end - timedelta(days=7), end)


def test_without_a_publish_time_the_clock_decides() -> None:
    request = digests().request(message(publish_time=""))
    assert request.period.end == datetime(2026, 11, 30, 9, tzinfo=timezone.utc)


def test_given_periods_and_days() -> None:
    request = digests().request(
        message(period_start="2026-11-01T00:00:00Z", period_end="2026-11-08T00:00:00+01:00")
    )
    assert request.period == Period(
        datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 7, 23, tzinfo=timezone.utc)
    )
    only_end = digests({**ENV, "DIGEST_DAYS": "3"}).request(message(period_end="2026-11-08T00:00:00.5Z"))
    assert only_end.period.length == timedelta(days=3)
    only_start = digests().request(message(period_start="2026-11-01T00:00:00.123456789Z"))
    assert only_start.period.start == datetime(2026, 11, 1, 0, 0, 0, 123456, tzinfo=timezone.utc)
    assert only_start.period.length == timedelta(days=7)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-01",
        "2026-11-01 00:00:00Z",
        "2026-11-01T00:00Z",
        "2026-11-01T00:00:00",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-01T24:00:00Z",
        "2026-11-01T00:00:00+25:00",
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z",
        "1700000000",
        "2026-11-01T00:00:00.1234567890Z",
        "2026-11-01T00:00:00Z" + " " * 10_000,
        "\uff12\uff10\uff12\uff16-11-01T00:00:00Z"  # full-width digits,
        "now",
        "2026-11-01T00:00:00Z\n",
    ],
)
def test_anything_but_strict_rfc3339_is_rejected_naming_the_attribute(value: str) -> None:
    with pytest.raises(BadPeriodError, match="period_start") as caught:
        digests().request(message(period_start=value, period_end="2026-11-08T00:00:00Z"))
    assert len(str(caught.value)) < 300  # a huge value is never echoed whole
    assert isinstance(caught.value, PermanentError)


def test_an_end_not_after_its_start_or_a_long_period_is_rejected() -> None:
    with pytest.raises(BadPeriodError, match="after"):
        digests().request(message(period_start="2026-11-08T00:00:00Z", period_end="2026-11-08T00:00:00Z"))
    with pytest.raises(BadPeriodError, match="at most 31"):
        digests().request(message(period_start="2026-01-01T00:00:00Z", period_end="2026-11-08T00:00:00Z"))


def test_only_the_sweep_topic_may_ask() -> None:
    with pytest.raises(SweepRefusedError, match="only SWEEP_TOPIC"):
        digests().request(message(topic="projects/acme-ml-prod/topics/pipeline-status"))
    with pytest.raises(SweepRefusedError, match="not set: digests are off"):
        digests(BASE).request(message())


def test_off_or_without_history_it_is_refused() -> None:
    with pytest.raises(DigestRefusedError, match="DIGEST_ENABLED"):
        digests({**ENV, "DIGEST_ENABLED": "false"}).request(message())
    with pytest.raises(DigestRefusedError, match="run history"):
        Digests(Config.from_env(ENV), None).request(message())


def test_sources_hand_it_over_and_yield_no_notice() -> None:
    seen: list[DigestRequest] = []
    sources = Sources(None, None, digests=digests(seen=seen))  # type: ignore[arg-type]
    assert list(sources.notices(message())) == [] and len(seen) == 1
    with pytest.raises(DigestRefusedError):
        Sources(None, None).notices(message())  # type: ignore[arg-type]


def test_is_digest() -> None:
    assert is_digest(message()) and is_digest(PubSubMessage("x", b"", {"action": " Digest "}))
    assert not is_digest(PubSubMessage("x", b"", {"action": "sweep"}))
    assert parse_time("2026-11-30T10:00:00+01:00", "period_end") == datetime(
        2026, 11, 30, 9, tzinfo=timezone.utc
    )
