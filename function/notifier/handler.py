"""Run one Pub/Sub message through the flow, and decide: acknowledge or redeliver.

This is the one place that turns errors into outcomes: a ``PermanentError`` is logged at
ERROR and the message is acknowledged; a ``TransientError`` (or a bug) is re-raised so
that the function answers non-2xx and Pub/Sub redelivers, up to the dead-letter policy.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from notifier.config import Config, is_valid_channel, is_valid_region, parse_bool
from notifier.deliver import ChannelPacer, SlackDelivery, make_client
from notifier.enrich import Enrichment, VertexEnricher, resolve_region
from notifier.errors import BadMessageError, ConfigError, PermanentError, TransientError
from notifier.event import PubSubMessage, decode_event
from notifier.logs import log_context, setup_logging
from notifier.render import SlackMessage, render
from notifier.status import FinalStatus, parse_status

log = logging.getLogger("notifier")


class Outcome(str, enum.Enum):
    """How a message ended (every message ends as exactly one of these, or is redelivered)."""

    POSTED = "posted"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Enricher(Protocol):
    """Anything that can enrich a status (the Vertex client in production)."""

    def enrich(self, status: FinalStatus, region: str) -> Enrichment:
        """Return details or a note; never raise."""


class Poster(Protocol):
    """Anything that can post a rendered message and return its ts."""

    def post(self, message: SlackMessage) -> str:
        """Post, or raise a NotifierError."""


class Claims(Protocol):
    """De-duplication: runs ``deliver`` at most once per notification."""

    def post_once(
        self, status: FinalStatus, message: PubSubMessage, deliver: Callable[[], tuple[str, str]]
    ) -> Outcome:
        """Deliver unless already delivered; returns POSTED or DUPLICATE."""


@dataclass(frozen=True)
class Route:
    """Per-message settings: message attributes override the environment."""

    channel: str
    region: str
    on_failure_only: bool


def route_for(message: PubSubMessage, status: FinalStatus, config: Config) -> Route:
    """Apply the ``slack_channel_id``, ``gcp_region`` and ``on_failure_only`` attributes."""
    attrs = message.attributes
    channel = attrs.get("slack_channel_id", "").strip()
    if channel and not is_valid_channel(channel):
        log.warning("Ignoring malformed slack_channel_id attribute %r", channel[:100])
        channel = ""
    region_attr = attrs.get("gcp_region", "").strip()
    if region_attr and not is_valid_region(region_attr):
        log.warning("Ignoring malformed gcp_region attribute %r", region_attr[:100])
        region_attr = ""
    on_failure_only = config.on_failure_only
    if "on_failure_only" in attrs:
        try:
            on_failure_only = parse_bool(attrs["on_failure_only"], "on_failure_only attribute")
        except ConfigError as exc:
            log.warning("%s; using ON_FAILURE_ONLY=%s", exc, config.on_failure_only)
    return Route(
        channel=channel or config.slack_channel_id,
        region=resolve_region(status, region_attr, config.gcp_region),
        on_failure_only=on_failure_only,
    )


def _publish_time(message: PubSubMessage) -> datetime | None:
    if not message.publish_time:
        return None
    try:
        return datetime.fromisoformat(message.publish_time.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class Notifier:
    """The notifier with its collaborators; ``handle`` is what the entry point calls."""

    config: Config
    enricher: Enricher
    poster: Poster
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    claims: Claims | None = None  # de-duplication (notifier.dedup), when configured

    def handle(self, event_data: Any, *, event_id: str = "") -> Outcome:
        """Process one event. Returns the outcome, or raises to have Pub/Sub redeliver."""
        with log_context(message_id=event_id) as ctx:
            try:
                return self._process(event_data, event_id, ctx)
            except PermanentError as exc:
                log.error("Message acknowledged without a Slack post: %s", exc)
                return Outcome.REJECTED
            except TransientError as exc:
                log.warning("Delivery failed, Pub/Sub will redeliver: %s", exc)
                raise
            except Exception:
                # A bug, not bad input: redeliver, so the dead-letter topic keeps the message
                # for a replay once it is fixed.
                log.exception("Unexpected error, Pub/Sub will redeliver")
                raise

    def _process(self, event_data: Any, event_id: str, ctx: dict[str, str]) -> Outcome:
        message = decode_event(event_data, fallback_id=event_id)
        ctx["message_id"] = message.message_id or event_id
        status = parse_status(message.data)
        ctx.update(job_id=status.job_id, state=status.state)
        route = route_for(message, status, self.config)

        if route.on_failure_only and status.succeeded:
            log.info("Skipped: the run succeeded and on_failure_only is set")
            return Outcome.SKIPPED
        if not route.channel:
            raise BadMessageError("no Slack channel: set SLACK_CHANNEL_ID or the slack_channel_id attribute")

        def deliver() -> tuple[str, str]:
            enrichment = self.enricher.enrich(status, route.region)
            if enrichment.note:
                log.warning("Posting without pipeline details: %s", enrichment.note)
            rendered = render(
                status,
                enrichment,
                channel=route.channel,
                mention=self.config.slack_mention_on_failure,
                reference_time=_publish_time(message) or self.clock(),
            )
            return rendered.channel, self.poster.post(rendered)

        if self.claims is not None:
            return self.claims.post_once(status, message, deliver)
        channel, ts = deliver()
        log.info("Posted to Slack channel %s (ts %s)", channel, ts)
        return Outcome.POSTED


def build_notifier(env: Mapping[str, str]) -> Notifier:
    """Wire the production notifier from the environment (fails fast on bad configuration)."""
    config = Config.from_env(env)
    setup_logging(config.log_level, structured=config.structured_logs, secrets=[config.slack_bot_token])
    pacer = ChannelPacer(config.slack_max_per_second)
    client = make_client(config.slack_bot_token, config.slack_api_url, pacer=pacer)
    enricher = VertexEnricher(config.vertex_endpoint_for, config.vertex_timeout_seconds)
    claims = None
    if config.dedup_collection:
        from notifier.dedup import FirestoreClaims  # noqa: PLC0415 - Firestore only when enabled

        claims = FirestoreClaims.from_config(config)
    return Notifier(
        config=config,
        enricher=enricher,
        poster=SlackDelivery(client, pacer),
        claims=claims,
    )
