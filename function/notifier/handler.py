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
from notifier.destinations.google_chat import GoogleChatDestination
from notifier.destinations.google_chat.deliver import ChatWebhook
from notifier.destinations.slack import SlackDestination, Threads
from notifier.destinations.slack.deliver import ChannelPacer, SlackDelivery, make_client
from notifier.destinations.sms import SmsDestination
from notifier.destinations.sms.deliver import TwilioSms, make_twilio_client
from notifier.enrich.task_logs import TaskLogEnricher, TaskLogReader
from notifier.enrich.vertex import VertexEnricher, console_url
from notifier.errors import BadMessageError, DeferredError, PermanentError, TransientError
from notifier.logs import log_context, setup_logging
from notifier.model import Enrichment, FinalStatus, Notice, Outcome, Receipt, Route
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
        self,
        status: FinalStatus,
        message: PubSubMessage,
        deliver: Callable[[], Receipt | None],
        target: str = "",
    ) -> Outcome:
        """Deliver unless already delivered to ``target``; returns POSTED, SKIPPED (nothing sent) or DUPLICATE."""


@dataclass
class Notifier:
    """The notifier with its collaborators; ``handle`` is what the entry point calls."""

    config: Config
    enricher: Enricher
    destinations: tuple[Destination, ...]
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
        return _combined([self._notify(notice, message, ctx) for notice in self.sources.notices(message)])

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
        targets = [(d, address) for d in self.destinations for address in d.addresses(route)]
        if not targets:
            raise BadMessageError(
                "no destination: set SLACK_CHANNEL_ID, GOOGLE_CHAT_SPACES, SMS_TO, a SLACK_ROUTES rule "
                "or the slack_channel_id attribute"
            )
        wanted = [(d, address) for d, address in targets if d.accepts(status, route)]
        if not wanted:
            log.info("Skipped: the run succeeded and on_failure_only is set")
            return Outcome.SKIPPED
        reference_time = notice.publish_time or message.published_at or self.clock()

        # Each (destination, address) on its own: a place in its queue before its claim (a
        # busy channel hands the message back before it costs a Firestore round trip, or,
        # without routing rules, a Vertex AI call), then the claim, then the delivery.
        final_attempt = message.is_last_attempt(self.config.max_delivery_attempts)
        outcomes: list[Outcome] = []
        retry: TransientError | None = None
        for destination, address in wanted:
            try:
                outcomes.append(
                    self._send(
                        destination, address, status, route, enriched, reference_time, message, final_attempt
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
        status: FinalStatus,
        route: Route,
        enriched: Callable[[], Enrichment],
        reference_time: datetime,
        message: PubSubMessage,
        final_attempt: bool,
    ) -> Outcome:
        with destination.admit(route, address, final_attempt=final_attempt) as admission:

            def deliver() -> Receipt | None:
                result = enriched()
                if result.note:
                    log.warning("Sending without pipeline details: %s", result.note)
                return destination.send(
                    status, result, route, address=address, reference_time=reference_time, admission=admission
                )

            if self.claims is not None:
                return self.claims.post_once(status, message, deliver, destination.dedup_target(address))
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
    setup_logging(config.log_level, structured=config.structured_logs, secrets=config.secrets)
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
        destinations=make_destinations(
            config, SlackDestination(SlackDelivery(client, pacer), threads, pacer)
        ),
        sources=make_sources(config, vertex, enricher),
        claims=claims,
    )


def make_destinations(config: Config, slack: Destination) -> tuple[Destination, ...]:
    """Slack, then Google Chat and SMS where configured (their clients load on first use)."""
    destinations = [slack]
    if config.google_chat_webhooks:
        # Chat allows 60 writes a minute per space: paced per webhook like Slack per channel.
        pacer = ChannelPacer(config.google_chat_max_per_minute / 60.0)
        destinations.append(GoogleChatDestination(ChatWebhook(pacer), dict(config.google_chat_webhooks)))
    if config.twilio_account_sid:
        sid, token, api = config.twilio_account_sid, config.twilio_auth_token, config.twilio_api_url
        sms = TwilioSms(lambda: make_twilio_client(sid, token, api), config.twilio_from)
        destinations.append(SmsDestination(sms, failures_only=config.sms_on_failure_only))
    return tuple(destinations)


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
        JobEvents((enricher or vertex).enrich),
        Sweep(
            config,
            vertex.list_jobs,
            lambda status, details: stuck_after_hours(config, status, details),
            console_url,
        ),
    )
