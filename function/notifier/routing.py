"""Where a notification goes: message attributes over the environment's defaults."""

from __future__ import annotations

import logging

from notifier.config import Config, is_valid_channel, is_valid_region, parse_bool
from notifier.errors import ConfigError
from notifier.model import FinalStatus, Route
from notifier.sources.pubsub import PubSubMessage

log = logging.getLogger("notifier")


def resolve_region(status: FinalStatus, attribute: str, fallback: str) -> str:
    """Region precedence: the message attribute, then the resource name, then GCP_REGION."""
    return attribute.strip() or status.region or fallback


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
        mention=config.slack_mention_on_failure,
    )
