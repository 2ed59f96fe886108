"""The weekly digest, sent: one message per channel and period, from the run history.

``sources.digest`` reads the request (``action=digest`` on ``SWEEP_TOPIC``, its period);
here it is done, in three steps:

1. **Read** the runs that ended in the period and the previous one, once for every
   target (``FirestoreHistory.runs_between``: one streamed query, one read per run), and
   the schedule warnings sent in the period (``state.schedule_warnings.sent_between``).
   Each run feeds the ``digest_rules.DigestBuilder`` of each target it was routed to that
   can take a digest: a Slack channel or a Google Chat webhook still configured
   (``Destination.takes_digest``). SMS, PagerDuty and Teams get none. A read that fails
   raises ``DigestReadError`` (transient) before anything is posted.
2. **Decide** each target's ``Digest`` (pure); a target with nothing to say gets nothing.
3. **Send** each, under a claim ``digest#<target>#<start>#<end>`` (``state.claims``): a
   redelivery of the request, or a second request for the same period, posts nothing twice.
   One target failing never stops the others: a permanent failure is logged, a transient
   one is raised after the others went out (Pub/Sub redelivers; the claims of those that
   went out keep them from going twice).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from notifier.config import Config
from notifier.destinations import Destination
from notifier.destinations.digest_content import digest_content
from notifier.digest_rules import DigestBuilder, Limits, Period, ScheduleWarning
from notifier.errors import DeferredError, PermanentError, TransientError, describe
from notifier.history_rules import RunRecord
from notifier.model import Outcome, Receipt
from notifier.sources.digest import DigestRequest
from notifier.sources.pubsub import PubSubMessage
from notifier.state.claims import digest_key

log = logging.getLogger("notifier.digest")

# The runs that ended in [start, end), oldest first (``FirestoreHistory.runs_between``).
Runs = Callable[[Period], Iterable[RunRecord]]
# The schedule warnings sent in [start, end) (``state.schedule_warnings.sent_between``).
Warnings = Callable[[Period], Iterable[ScheduleWarning]]


class DigestReadError(TransientError):
    """The run history or the schedule warnings could not be read: nothing was posted, Pub/Sub redelivers."""


class DigestClaims(Protocol):
    """One digest per key (``state.claims.FirestoreClaims`` in production)."""

    def post_digest_once(
        self, key: str, message: PubSubMessage, deliver: Callable[[], Receipt | None]
    ) -> Outcome:
        """Run ``deliver`` unless the digest ``key`` went out already."""


class DigestRun:
    """Sends the digests of one request (``run``), through the destinations that take them."""

    def __init__(
        self,
        config: Config,
        destinations: Sequence[Destination],
        runs: Runs,
        warnings: Warnings | None = None,
        claims: DigestClaims | None = None,
    ) -> None:
        self._config = config
        self._destinations = {d.name: d for d in destinations if getattr(d, "digests", False)}
        self._runs = runs
        self._warnings = warnings
        self._claims = claims
        self._limits = Limits(pipelines=config.digest.max_pipelines)

    def _target(self, target: str) -> tuple[Destination, str] | None:
        """The destination and address of ``target`` (as a run record has it), when it takes a digest."""
        name, _, address = target.partition(":")
        destination = self._destinations.get(name)
        if destination is None or not destination.takes_digest(address):
            return None
        return destination, address

    def builders(self, period: Period) -> tuple[dict[str, DigestBuilder], int, int]:
        """Every target's builder, fed with the period's runs and warnings; and how many runs were
        read and how many targets were passed over."""
        builders: dict[str, DigestBuilder] = {}
        passed: set[str] = set()

        def builder(target: str) -> DigestBuilder | None:
            found = builders.get(target)
            if found is None and target not in passed:
                if self._target(target) is None:
                    passed.add(target)
                    return None
                found = builders[target] = DigestBuilder(target, period, self._limits)
            return found

        read = 0
        try:
            for record in self._runs(Period(period.previous.start, period.end)):
                read += 1
                for target in record.targets:
                    chosen = builder(target)
                    if chosen is not None:
                        chosen.add(record)
            for warning in self._warnings(period) if self._warnings is not None else ():
                chosen = builder(warning.target)
                if chosen is not None:
                    chosen.add_warning(warning)
        except Exception as exc:  # noqa: BLE001 - nothing posted yet: all of it is tried again
            raise DigestReadError(f"could not read the digest's period: {describe(exc)}") from None
        return builders, read, len(passed)

    def run(self, request: DigestRequest) -> None:
        """Send the digests of ``request``'s period (see the module doc)."""
        period = request.period
        started = time.monotonic()
        builders, read, passed = self.builders(period)
        final_attempt = request.message.is_last_attempt(self._config.runtime.max_delivery_attempts)
        counts = {outcome: 0 for outcome in Outcome}
        quiet = 0
        retry: TransientError | None = None
        for target in sorted(builders):
            digest = builders[target].build()
            if digest is None:
                quiet += 1
                continue
            chosen = self._target(target)
            assert chosen is not None
            destination, address = chosen
            try:
                counts[self._send(destination, address, digest_content(digest), request, final_attempt)] += 1
            except PermanentError as exc:
                log.error("Digest not sent to %s: %s", target, exc)
                counts[Outcome.REJECTED] += 1
            except TransientError as exc:
                level = logging.INFO if isinstance(exc, DeferredError) else logging.WARNING
                log.log(level, "Digest not sent to %s yet: %s", target, exc)
                if retry is None or isinstance(retry, DeferredError):
                    retry = exc
        log.info(
            "Digest of %s to %s: %d posted, %d sent already, %d refused, %d with nothing to say; "
            "%d run(s) read, %d target(s) take no digest, %.2f s",
            period.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            period.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            counts[Outcome.POSTED],
            counts[Outcome.DUPLICATE],
            counts[Outcome.REJECTED],
            quiet,
            read,
            passed,
            time.monotonic() - started,
        )
        if retry is not None:
            raise retry

    def _send(
        self,
        destination: Destination,
        address: str,
        content: object,
        request: DigestRequest,
        final_attempt: bool,
    ) -> Outcome:
        with destination.admit(address, final_attempt=final_attempt) as admission:

            def deliver() -> Receipt | None:
                return destination.send_digest(content, address, admission)

            if self._claims is not None:
                key = digest_key(destination.dedup_target(address), request.period.start, request.period.end)
                return self._claims.post_digest_once(key, request.message, deliver)
            receipt = deliver()
        if receipt is None:
            return Outcome.SKIPPED
        log.info("Digest posted to %s %s (ts %s)", receipt.destination, receipt.where, receipt.ref)
        return Outcome.POSTED
