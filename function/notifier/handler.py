"""Run one Pub/Sub message through the flow, and decide: acknowledge or redeliver.

The flow, once per notice a source reads from the message: check the run's name and
scope, ask Vertex AI, verify the claim, route, then for each (destination, address): a
place in its queue, the de-duplication claim, the failed tasks' logs (once), render and
deliver. ``wiring`` builds the ``Notifier``; nothing here knows which destinations exist.

This is the one place that turns errors into outcomes: a ``PermanentError`` is logged at
ERROR and the message is acknowledged; a ``TransientError`` (or a bug) is re-raised so
that the function answers non-2xx and Pub/Sub redelivers, up to the dead-letter policy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from notifier.config import Config
from notifier.destinations import Delivery, Destination
from notifier.enrich.pipeline_spec import STUB_SETTINGS
from notifier.errors import BadMessageError, DeferredError, PermanentError, TransientError
from notifier.history_rules import (
    Baseline,
    Policy,
    RunRecord,
    routing_label_keys,
    run_record,
    slower_than_usual,
)
from notifier.logs import log_context
from notifier.model import (
    AFTER_WARNING,
    EXIT_HANDLER,
    FINAL_STATES,
    JOB_EVENT,
    Enrichment,
    FinalStatus,
    JobDetails,
    Notice,
    Outcome,
    Quiet,
    Receipt,
    Route,
    pipeline_name,
)
from notifier.names import JobName, parse_job_name, quoted
from notifier.routing import route_for, unconfirmed_route
from notifier.sources import Sources
from notifier.sources.pubsub import PubSubMessage, decode_event, topic_of
from notifier.sources.sweep import earliest_warning
from notifier.verify import verify

log = logging.getLogger("notifier")


class JobLookup(Protocol):
    """What Vertex AI says about a run (``enrich.vertex.VertexEnricher`` in production)."""

    def enrich(self, status: FinalStatus, name: JobName) -> Enrichment:
        """Details, or a note (and ``not_found`` on a 404); never raises."""


class LogReader(Protocol):
    """Adds the failed tasks' log lines (``enrich.task_logs.TaskLogEnricher`` in production)."""

    def add_logs(self, status: FinalStatus, enrichment: Enrichment, *, started: float) -> Enrichment:
        """``enrichment`` with excerpts and links, within the budget counted from ``started``; never raises."""


class Claims(Protocol):
    """De-duplication: runs ``deliver`` at most once per notification."""

    def post_once(
        self,
        status: FinalStatus,
        message: PubSubMessage,
        deliver: Callable[[], Receipt | None],
        target: str = "",
        *,
        unverified: bool = False,
    ) -> Outcome:
        """Deliver unless already delivered to ``target``; returns POSTED, SKIPPED (nothing sent) or DUPLICATE.

        ``unverified`` notices claim a key of their own: never the one the confirmed notice needs.
        """

    def warnings(self, run: str, targets: Sequence[str]) -> dict[str, Receipt]:
        """The sweep's warnings about ``run`` that went out, by target (their refs); never raises."""


class History(Protocol):
    """Run history (``state.history.FirestoreHistory`` in production); never raises."""

    def record(self, record: RunRecord) -> bool:
        """Write the run unless it is there already."""

    def baseline(self, key: str, before: datetime, policy: Policy) -> Baseline | None:
        """The usual time of the pipeline ``key`` from runs that ended before ``before``."""


class Mutes(Protocol):
    """Acknowledgements and mutes (``state.mutes.FirestoreMutes`` in production)."""

    def for_notice(self, pipeline: str, state: str, run_time: datetime | None) -> Quiet:
        """What holds for a notice of ``pipeline`` now; MutesUnavailableError when it cannot be read."""


class ClaimRefutedError(PermanentError):
    """Vertex AI contradicts what the notice claims: acknowledged and logged, nothing posted."""


@dataclass
class Notifier:
    """The notifier with its collaborators; ``handle`` is what the entry point calls."""

    config: Config
    vertex: JobLookup
    destinations: tuple[Destination, ...]
    sources: Sources
    logs: LogReader | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    claims: Claims | None = None  # de-duplication (notifier.dedup), when configured
    history: History | None = None  # run history (state.history), when configured
    mutes: Mutes | None = None  # acknowledgements and mutes (state.mutes), with ACTIONS_TOPIC

    def handle(
        self,
        event_data: Any,
        *,
        event_id: str = "",
        delivery_attempt: int | None = None,
        source: str = "",
    ) -> Outcome:
        """Process one event. Returns the outcome, or raises to have Pub/Sub redeliver.

        ``delivery_attempt`` is Pub/Sub's count for this message (None when unknown); on the
        last attempt the destination waits for a busy channel instead of handing it back.
        ``source`` is the CloudEvent's source: the topic the message was published to.
        """
        with log_context(message_id=event_id) as ctx:
            try:
                return self._process(event_data, event_id, delivery_attempt, source, ctx)
            except PermanentError as exc:
                log.error("Message acknowledged without a notification (rejected): %s", exc)
                return Outcome.REJECTED
            except DeferredError as exc:
                # Routine when a channel is busy: INFO, and no claim or log read was spent.
                log.info("Not now: %s", exc)
                raise
            except TransientError as exc:
                log.warning("Delivery failed, Pub/Sub will redeliver: %s", exc)
                raise
            except Exception:
                # A bug, not bad input: redeliver, so the dead-letter topic keeps the message
                # for a replay once it is fixed.
                log.exception("Unexpected error, Pub/Sub will redeliver")
                raise

    def _process(
        self, event_data: Any, event_id: str, delivery_attempt: int | None, source: str, ctx: dict[str, str]
    ) -> Outcome:
        message = decode_event(
            event_data, fallback_id=event_id, delivery_attempt=delivery_attempt, topic=topic_of(source)
        )
        ctx["message_id"] = message.message_id or event_id
        outcomes: list[Outcome] = []
        for notice in self.sources.notices(message):
            try:
                outcomes.append(self._notify(notice, message, ctx))
            except PermanentError as exc:
                # One notice of a sweep's many that cannot be sent never stops the others.
                log.error("Message acknowledged without a notification (rejected): %s", exc)
                outcomes.append(Outcome.REJECTED)
        return _combined(outcomes)

    def _lookup(self, notice: Notice) -> Enrichment:
        """Check the run's name and scope, then ask Vertex AI: nothing unchecked reaches a request."""
        name = parse_job_name(notice.status.pipeline_job_resource_name)
        self.config.scope.check(name)
        region_attribute = notice.attributes.get("gcp_region", "").strip()
        if region_attribute and region_attribute != name.region:
            log.warning(
                "Ignoring the gcp_region attribute %s: the run's name says %s",
                quoted(region_attribute),
                name.region,
            )
        return self.vertex.enrich(notice.status, name)

    def _route(self, notice: Notice, enrichment: Enrichment) -> Route:
        """Where a notice goes: the stub's settings as Vertex AI runs them, never the message's own."""
        details = enrichment.details
        if enrichment.unverified:
            # Nothing the message says may choose where it goes until Vertex confirms it,
            # and nobody is paged on it.
            defaults = {d.name: d.defaults for d in self.destinations if not d.pages}
            return unconfirmed_route(self.config, defaults)
        settings = dict(details.stub_settings) if details else {}
        for key in STUB_SETTINGS:
            claimed = notice.attributes.get(key, "").strip()
            if claimed and claimed != settings.get(key, ""):
                log.warning(
                    "Ignoring the %s attribute %s: the pipeline's spec says %s",
                    key,
                    quoted(claimed),
                    quoted(settings[key]) if key in settings else "nothing",
                )
        defaults = {d.name: d.defaults for d in self.destinations}
        slow = enrichment.comparison is not None
        route = route_for(settings, notice.status, details, self.config, defaults, slow=slow)
        return self._hush(route, notice, details)

    def _hush(self, route: Route, notice: Notice, details: JobDetails | None) -> Route:
        """The route as acknowledgements and mutes leave it (asked once per notice): no mention once
        acknowledged or muted, no paging destination while muted. Unreadable: as if nothing were said."""
        if self.mutes is None:
            return route
        status = notice.status
        try:
            quiet = self.mutes.for_notice(
                pipeline_name(status, details),
                status.state,
                details and (details.create_time or details.start_time),
            )
        except TransientError as exc:
            log.warning("Acknowledgements and mutes unavailable (%s); sending as if none", exc)
            return route
        return route.hushed(quiet, frozenset(d.name for d in self.destinations if d.pages))

    def _notify(self, notice: Notice, message: PubSubMessage, ctx: dict[str, str]) -> Outcome:
        status = notice.status
        ctx.update(job_id=status.job_id, state=status.state)
        started = time.monotonic()
        enrichment = notice.enrichment or self._lookup(notice)
        verdict = verify(status, enrichment)
        if verdict.refuted:
            raise ClaimRefutedError(f"Vertex AI does not confirm this {status.state}: {verdict.refuted}")
        if verdict.unconfirmed:
            log.warning(
                "Unverified: %s; sending a marked notice to the default destinations", verdict.unconfirmed
            )
            enrichment = replace(enrichment, unverified=verdict.unconfirmed)
        reference_time = notice.publish_time or message.published_at or self.clock()
        # A confirmed final run: compared with its pipeline's usual time before it is rendered,
        # recorded once it has been handled (whatever happened to its messages).
        ended = enrichment.details if self._ended(status, enrichment) else None
        record = self._run_record(status, ended, reference_time) if ended else None
        if record is not None and record.duration is not None and self.history is not None:
            policy = Policy.of(self.config.history)
            baseline = self.history.baseline(record.pipeline_key, record.end_time or reference_time, policy)
            enrichment = replace(enrichment, comparison=slower_than_usual(record.duration, baseline, policy))
        route = self._route(notice, enrichment)
        targets = [(d, address) for d in self.destinations for address in route.addresses(d.name)]
        try:
            return self._deliver(notice, message, enrichment, route, targets, reference_time, started)
        finally:
            if record is not None and self.history is not None:
                self.history.record(replace(record, targets=tuple(d.dedup_target(a) for d, a in targets)))

    @staticmethod
    def _ended(status: FinalStatus, enrichment: Enrichment) -> bool:
        """A final state that Vertex AI confirmed: what run history records and compares."""
        return (
            status.state in FINAL_STATES
            and status.source in (EXIT_HANDLER, JOB_EVENT)
            and enrichment.details is not None
            and not enrichment.unverified
        )

    def _run_record(
        self, status: FinalStatus, details: JobDetails, reference_time: datetime
    ) -> RunRecord | None:
        """What history keeps of this run (targets come after routing); None when it keeps nothing."""
        if self.history is None:
            return None
        record, problems = run_record(
            status,
            details,
            reference_time=reference_time,
            label_keys=routing_label_keys(self.config.routing.routes),
        )
        for problem in problems:
            log.warning("Run history: %s (%s)", problem, status.job_id)
        return record

    def _replies(
        self,
        status: FinalStatus,
        enrichment: Enrichment,
        targets: list[tuple[Destination, str]],
        reference_time: datetime,
    ) -> list[tuple[Destination, str, str]]:
        """Where the sweep warned about this run, now ended: (destination, address, the ref the
        reply threads under). One batch read, and only for a run old enough to have been warned."""
        details = enrichment.details
        if self.claims is None or details is None or not self._ended(status, enrichment):
            return []
        created, ended = details.create_time, details.end_time or reference_time
        floor = earliest_warning(self.config, self.history is not None)
        if created is None or ended - created < floor:
            return []
        by_target = {d.dedup_target(a): (d, a) for d, a in targets}
        found = self.claims.warnings(details.name or status.pipeline_job_resource_name, list(by_target))
        return [(*by_target[t], receipt.ref) for t, receipt in found.items() if t in by_target]

    def _deliver(
        self,
        notice: Notice,
        message: PubSubMessage,
        enrichment: Enrichment,
        route: Route,
        targets: list[tuple[Destination, str]],
        reference_time: datetime,
        started: float,
    ) -> Outcome:
        status = notice.status
        if not targets:
            raise BadMessageError(
                "no destination for this run: set SLACK_CHANNEL_ID, GOOGLE_CHAT_SPACES, SMS_TO, "
                "PAGERDUTY_SERVICES, TEAMS_CHANNELS, a ROUTES rule or the slack_channel_id of the "
                "pipeline's exit handler"
            )
        if not status.may_page:
            # A schedule warning reaches the chat destinations of its route, never a phone.
            targets = [(d, address) for d, address in targets if not d.pages]
            if not targets:
                log.info(
                    "Skipped: a %s warning pages no one, and its route names only paging destinations",
                    status.state,
                )
                return Outcome.SKIPPED
        wanted = [(d, address, "") for d, address in targets if d.accepts(status, route)]
        # The replies in the threads of the sweep's warnings go after the run's own notices:
        # looking them up never delays those.
        replies = None if wanted else self._replies(status, enrichment, targets, reference_time)
        if not wanted and not replies:
            log.info("Skipped: the run succeeded and on_failure_only is set")
            return Outcome.SKIPPED

        def jobs() -> Iterator[tuple[Destination, str, str]]:
            yield from wanted
            yield from (
                self._replies(status, enrichment, targets, reference_time) if replies is None else replies
            )

        with_logs: Enrichment | None = None

        def enriched() -> Enrichment:
            # The failed tasks' logs are read once, after a claim: a duplicate never pays for them.
            nonlocal with_logs
            if with_logs is None:
                with_logs = (
                    self.logs.add_logs(status, enrichment, started=started) if self.logs else enrichment
                )
            return with_logs

        # Each (destination, address) on its own: a place in its queue before its claim (a
        # busy channel hands the message back before it costs a Firestore round trip or a
        # log read), then the claim, then the delivery.
        final_attempt = message.is_last_attempt(self.config.runtime.max_delivery_attempts)
        outcomes: list[Outcome] = []
        retry: TransientError | None = None
        for destination, address, thread in jobs():
            # The reply after a warning is a notice of its own (its own claim), in that warning's thread.
            kind = replace(status, source=AFTER_WARNING) if thread else status
            try:
                outcomes.append(
                    self._send(
                        destination,
                        address,
                        Delivery(kind, enrichment, route, reference_time),
                        enriched,
                        message,
                        final_attempt=final_attempt,
                        thread=thread,
                    )
                )
            except PermanentError as exc:
                # One destination refusing (a bad number, a revoked webhook) must not block the others.
                log.error("Not sent to %s %s: %s", destination.name, address, exc)
                outcomes.append(Outcome.REJECTED)
            except TransientError as exc:
                # Tried after the others; Pub/Sub redelivers, and the claims of those that
                # went out make the redelivery send only what is missing.
                level = logging.INFO if isinstance(exc, DeferredError) else logging.WARNING
                log.log(level, "Not sent to %s %s yet: %s", destination.name, address, exc)
                # A real failure outranks a busy channel: the 5xx alert should see it.
                if retry is None or isinstance(retry, DeferredError):
                    retry = exc
        if retry is not None:
            raise retry
        return _combined(outcomes)

    def _send(
        self,
        destination: Destination,
        address: str,
        delivery: Delivery,
        enriched: Callable[[], Enrichment],
        message: PubSubMessage,
        *,
        final_attempt: bool,
        thread: str = "",
    ) -> Outcome:
        """One (destination, address): its place in the queue, its claim, then the delivery
        (``thread``: the reply in the thread of the sweep's warning with that ref)."""
        with destination.admit(address, final_attempt=final_attempt) as admission:

            def deliver() -> Receipt | None:
                if thread:
                    return destination.reply(delivery, address, thread, admission)
                result = enriched()
                if result.note:
                    log.warning("Sending without pipeline details: %s", result.note)
                return destination.send(replace(delivery, enrichment=result), address, admission)

            if self.claims is not None:
                return self.claims.post_once(
                    delivery.status,
                    message,
                    deliver,
                    destination.dedup_target(address),
                    unverified=bool(delivery.enrichment.unverified),
                )
            receipt = deliver()
        if receipt is None:
            log.info("Skipped: %s decided to send nothing for this run", destination.name)
            return Outcome.SKIPPED
        log.info("Posted to %s %s (ts %s)", receipt.destination, receipt.where, receipt.ref)
        return Outcome.POSTED


def _combined(outcomes: list[Outcome]) -> Outcome:
    """One outcome for the message: posted anywhere, else duplicate, else rejected, else skipped."""
    for outcome in (Outcome.POSTED, Outcome.DUPLICATE, Outcome.REJECTED):
        if outcome in outcomes:
            return outcome
    return Outcome.SKIPPED
