"""Run one Pub/Sub message through the flow, and decide: acknowledge or redeliver.

This is the one place that turns errors into outcomes: a ``PermanentError`` is logged at
ERROR and the message is acknowledged; a ``TransientError`` (or a bug) is re-raised so
that the function answers non-2xx and Pub/Sub redelivers, up to the dead-letter policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from notifier.config import Config
from notifier.destinations import Destination
from notifier.destinations.slack import SlackDestination, Threads
from notifier.destinations.slack.deliver import ChannelPacer, SlackDelivery, make_client
from notifier.enrich.task_logs import TaskLogEnricher, TaskLogReader
from notifier.enrich.vertex import VertexEnricher, console_url
from notifier.errors import BadMessageError, DeferredError, PermanentError, TransientError
from notifier.logs import log_context, setup_logging
from notifier.model import Enrichment, FinalStatus, Notice, Outcome, Receipt
from notifier.routing import region_for, route_for, stuck_after_hours
from notifier.sources import Sources
from notifier.sources.job_event import JobEvents
from notifier.sources.pubsub import PubSubMessage, decode_event
from notifier.sources.sweep import Sweep

log = logging.getLogger("notifier")


class Enricher(Protocol):
    """Anything that can enrich a status (the Vertex client in production)."""

    def enrich(self, status: FinalStatus, region: str) -> Enrichment:
        """Return details or a note; never raise."""


class Claims(Protocol):
    """De-duplication: runs ``deliver`` at most once per notification."""

    def post_once(
        self, status: FinalStatus, message: PubSubMessage, deliver: Callable[[], Receipt | None]
    ) -> Outcome:
        """Deliver unless already delivered; returns POSTED, SKIPPED (nothing sent) or DUPLICATE."""


@dataclass
class Notifier:
    """The notifier with its collaborators; ``handle`` is what the entry point calls."""

    config: Config
    enricher: Enricher
    destination: Destination
    sources: Sources
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    claims: Claims | None = None  # de-duplication (notifier.dedup), when configured

    def handle(self, event_data: Any, *, event_id: str = "", delivery_attempt: int | None = None) -> Outcome:
        """Process one event. Returns the outcome, or raises to have Pub/Sub redeliver.

        ``delivery_attempt`` is Pub/Sub's count for this message (None when unknown); on the
        last attempt the destination waits for a busy channel instead of handing it back.
        """
        with log_context(message_id=event_id) as ctx:
            try:
                return self._process(event_data, event_id, delivery_attempt, ctx)
            except PermanentError as exc:
                log.error("Message acknowledged without a notification: %s", exc)
                return Outcome.REJECTED
            except DeferredError as exc:
                # Routine when a channel is busy: INFO, and no claim or Vertex call was spent.
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
        self, event_data: Any, event_id: str, delivery_attempt: int | None, ctx: dict[str, str]
    ) -> Outcome:
        message = decode_event(event_data, fallback_id=event_id, delivery_attempt=delivery_attempt)
        ctx["message_id"] = message.message_id or event_id
        outcomes = [self._notify(notice, message, ctx) for notice in self.sources.notices(message)]
        if not outcomes:
            return Outcome.SKIPPED
        for outcome in (Outcome.POSTED, Outcome.DUPLICATE):
            if outcome in outcomes:
                return outcome
        return Outcome.SKIPPED

    def _notify(self, notice: Notice, message: PubSubMessage, ctx: dict[str, str]) -> Outcome:
        status = notice.status
        ctx.update(job_id=status.job_id, state=status.state)
        region = region_for(notice.attributes, status, self.config)
        enrichment = notice.enrichment

        def enriched() -> Enrichment:
            nonlocal enrichment
            if enrichment is None:
                enrichment = self.enricher.enrich(status, region)
            return enrichment

        # Routing rules match on labels and the pipeline name, which only Vertex AI knows;
        # without rules the run is routed first, so a duplicate costs no Vertex AI call.
        details = enriched().details if self.config.routes else (enrichment.details if enrichment else None)
        route = route_for(notice.attributes, status, details, self.config)
        if not self.destination.accepts(status, route):
            log.info("Skipped: the run succeeded and on_failure_only is set")
            return Outcome.SKIPPED
        if not route.channel:
            raise BadMessageError(
                "no Slack channel: set SLACK_CHANNEL_ID, a SLACK_ROUTES rule or the slack_channel_id attribute"
            )

        # A place in the destination's queue before the claim: a busy channel hands the
        # message back before it costs a Firestore round trip (or, without routing rules,
        # a Vertex AI call).
        final_attempt = message.is_last_attempt(self.config.max_delivery_attempts)
        with self.destination.admit(route, final_attempt=final_attempt) as admission:

            def deliver() -> Receipt | None:
                result = enriched()
                if result.note:
                    log.warning("Posting without pipeline details: %s", result.note)
                reference_time = notice.publish_time or message.published_at or self.clock()
                return self.destination.send(
                    status, result, route, reference_time=reference_time, admission=admission
                )

            if self.claims is not None:
                return self.claims.post_once(status, message, deliver)
            receipt = deliver()
        if receipt is None:
            log.info("Skipped: %s decided to send nothing for this run", self.destination.name)
            return Outcome.SKIPPED
        log.info("Posted to %s %s (ts %s)", receipt.destination, receipt.where, receipt.ref)
        return Outcome.POSTED


def build_enricher(config: Config, vertex: VertexEnricher) -> Enricher:
    """Vertex AI details (through ``vertex``), then the failed tasks' logs, within one budget.

    The log reads get what the Vertex AI call left of ``VERTEX_TIMEOUT_SECONDS``, and at
    most ``LOGGING_TIMEOUT_SECONDS``.
    """
    return TaskLogEnricher(
        vertex,
        TaskLogReader(
            config.logging_api_endpoint, config.logging_timeout_seconds, enabled=config.read_task_logs
        ),
        budget=config.vertex_timeout_seconds,
    )


def build_notifier(env: Mapping[str, str]) -> Notifier:
    """Wire the production notifier from the environment (fails fast on bad configuration)."""
    config = Config.from_env(env)
    setup_logging(config.log_level, structured=config.structured_logs, secrets=[config.slack_bot_token])
    pacer = ChannelPacer.for_instance(
        config.slack_max_per_second, hold=config.slack_hold_seconds, threads=config.threads
    )
    client = make_client(config.slack_bot_token, config.slack_api_url, pacer=pacer)
    claims, threads = make_stores(config)
    vertex = VertexEnricher(config.vertex_endpoint_for, config.vertex_timeout_seconds)
    enricher = build_enricher(config, vertex)
    return Notifier(
        config=config,
        enricher=enricher,
        destination=SlackDestination(SlackDelivery(client, pacer), threads, pacer),
        sources=make_sources(config, vertex, enricher),
        claims=claims,
    )


def make_stores(config: Config) -> tuple[Claims | None, Threads | None]:
    """De-duplication claims and the threads' streak state, both in Firestore, when configured."""
    if not config.dedup_collection:
        return None, None
    from notifier.dedup import FirestoreClaims, firestore_client  # noqa: PLC0415 - Firestore only when enabled

    firestore = firestore_client(config)
    claims = FirestoreClaims.from_config(config, firestore)
    if not config.slack_threads:
        return claims, None
    from notifier.streaks import FirestoreStreaks  # noqa: PLC0415 - Firestore only when enabled

    return claims, Threads(
        FirestoreStreaks(firestore, config.streaks_collection),
        notify_on_recovery=config.notify_on_recovery,
        expiry=timedelta(days=config.streak_expiry_days),
        # A root being posted holds its streak as long as a claim holds its message.
        lease=timedelta(seconds=config.dedup_lease_seconds),
    )


def make_sources(config: Config, vertex: VertexEnricher, enricher: Enricher | None = None) -> Sources:
    """The three sources, reading Vertex AI through ``vertex``.

    A job event's run is enriched with ``enricher`` (default: ``vertex`` alone), so a
    failure seen only through its job event carries its tasks' log lines too.
    """
    return Sources(
        JobEvents((enricher or vertex).enrich, config.gcp_region),
        Sweep(
            config,
            vertex.list_jobs,
            lambda status, details: stuck_after_hours(config, status, details),
            console_url,
        ),
    )
