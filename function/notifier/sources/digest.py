"""The weekly digest's request: a Pub/Sub message with the attribute ``action=digest``.

Cloud Scheduler publishes it to the sweep topic (Terraform's ``digest`` job), and it is
honoured only from ``SWEEP_TOPIC``, as the sweep is (``sweep.require_topic``); from any other
topic, or with ``DIGEST_ENABLED`` off, it is acknowledged and logged as rejected.

Its period is ``[period_start, period_end)`` when the message carries those attributes
(to re-send or test a period), each strict RFC 3339 (``2026-11-30T09:00:00Z``,
``2026-11-30T10:00:00+01:00``): anything else is rejected naming the attribute, as is an
end not after its start, a period longer than ``PERIOD_MAX`` or a time outside 2015-2100.
One of them alone: the other is ``DIGEST_DAYS`` away. Neither: the ``DIGEST_DAYS`` ending at
the message's publish time floored to the hour (so that each redelivery of one request
asks for the same period, and its claims keep it from posting twice).

The digest itself (reading the history, the rules, rendering, delivering once per target)
is ``notifier.digest``'s; this module only reads the request and hands it over.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from notifier.config import Config
from notifier.errors import BadMessageError, PermanentError
from notifier.model import Period
from notifier.names import quoted
from notifier.sources.pubsub import PubSubMessage
from notifier.sources.sweep import require_topic

DIGEST_ACTION = "digest"
START, END = "period_start", "period_end"
# RFC 3339's date-time: a date, "T", a time with seconds, a fraction of up to 9 digits, "Z" or an offset.
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
TIME_MAX = 40  # characters: the longest RFC 3339 time is 35
EARLIEST = datetime(2015, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
PERIOD_MAX = timedelta(days=31)  # the longest period a request may ask for


class DigestRefusedError(PermanentError):
    """A digest was asked for where none may be (another topic, digests off): acknowledged, not run."""


class BadPeriodError(BadMessageError):
    """The request's period attributes are not a period (acknowledged, logged with the reason)."""


@dataclass(frozen=True)
class DigestRequest:
    """One digest to send: its period, and the message that asked (for the claims)."""

    period: Period
    message: PubSubMessage


def is_digest(message: PubSubMessage) -> bool:
    """True for a message that asks for a digest (``action=digest``), from whichever topic."""
    return message.attributes.get("action", "").strip().lower() == DIGEST_ACTION


def parse_time(value: str, attribute: str) -> datetime:
    """A strict RFC 3339 date-time, in UTC; BadPeriodError naming ``attribute`` otherwise."""
    if len(value) > TIME_MAX or not (match := _RFC3339.fullmatch(value)):
        raise BadPeriodError(
            f"{attribute} {quoted(value)} is not an RFC 3339 time such as 2026-11-30T09:00:00Z"
        )
    fraction = (match.group(7) or "")[:7]  # Python keeps microseconds: six digits
    zone = match.group(8).upper()
    text = "{}-{}-{}T{}:{}:{}{}{}".format(
        *match.group(1, 2, 3, 4, 5, 6), fraction, "+00:00" if zone == "Z" else zone
    )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadPeriodError(f"{attribute} {quoted(value)} is not a valid date and time") from None
    if abs(moment.utcoffset() or timedelta(0)) >= timedelta(hours=24):
        raise BadPeriodError(f"{attribute} {quoted(value)} has an offset of a day or more")
    moment = moment.astimezone(timezone.utc)
    if not EARLIEST <= moment < LATEST:
        raise BadPeriodError(f"{attribute} {quoted(value)} is outside 2015-2100")
    return moment


def period_of(message: PubSubMessage, days: float, now: datetime) -> Period:
    """The period the request asks for (see the module doc); BadPeriodError when it asks for none."""
    length = timedelta(days=days)
    raw_start = message.attributes.get(START, "")
    raw_end = message.attributes.get(END, "")
    start = parse_time(raw_start, START) if raw_start else None
    end = parse_time(raw_end, END) if raw_end else None
    if start is None and end is None:
        published = message.published_at or now
        end = published.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if start is None:
        assert end is not None
        start = end - length
    if end is None:
        end = start + length
    if end <= start:
        raise BadPeriodError(f"{END} must come after {START}")
    if end - start > PERIOD_MAX:
        raise BadPeriodError(
            f"the period is {(end - start) / timedelta(days=1):.1f} days; at most {PERIOD_MAX.days}"
        )
    return Period(start, end)


class Digests:
    """Reads a digest request and hands it to ``run`` (``notifier.digest.DigestRun.run``)."""

    def __init__(
        self,
        config: Config,
        run: Callable[[DigestRequest], None] | None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._config = config
        self._run = run
        self._clock = clock

    def request(self, message: PubSubMessage) -> DigestRequest:
        """The request ``message`` makes; DigestRefusedError or BadPeriodError when it may make none."""
        require_topic(message, self._config.sweep.topic, "a digest")
        if not self._config.digest.enabled:
            raise DigestRefusedError("a digest was asked for, but DIGEST_ENABLED is off")
        if self._run is None:
            raise DigestRefusedError(
                "a digest was asked for, but there is no run history to make it from: "
                "it needs DEDUP_COLLECTION and RUN_HISTORY_DAYS above 0"
            )
        return DigestRequest(period_of(message, self._config.digest.days, self._clock()), message)

    def run(self, message: PubSubMessage) -> None:
        """Read the request and send its digests (errors as ``notifier.digest`` raises them)."""
        request = self.request(message)
        assert self._run is not None
        self._run(request)
