"""Where a notification goes: the stub's attributes, then the routing table, then the defaults.

Precedence, per setting:

- Slack channel: the ``slack_channel_id`` attribute (the stub, or the stub's settings read
  from the pipeline spec for a job event), else the first matching ``SLACK_ROUTES`` rule's
  ``channel`` (a rule may name none: then no Slack message), else ``SLACK_CHANNEL_ID``;
- Google Chat webhooks and SMS numbers: the matching rule's ``google_chat`` and ``sms``,
  else ``GOOGLE_CHAT_SPACES`` and ``SMS_TO``;
- on_failure_only: the ``on_failure_only`` attribute, else the rule's, else ``ON_FAILURE_ONLY``;
- mention (failures only): the rule's, else ``SLACK_MENTION_ON_FAILURE``;
- region: the ``gcp_region`` attribute, else the run's resource name, else ``GCP_REGION``.

A rule matches when its ``pipeline`` glob matches the pipeline name (``model.pipeline_name``)
and each of its label globs matches that PipelineJob label, all case-insensitively
(``fnmatch``). GCP label values are lowercase, channel ids are not: rules hold label
globs in lowercase and channels as ids (``C0123ABCD``); labels never carry a channel.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping

from notifier.config import Config, RouteRule, is_valid_channel, is_valid_region, parse_bool
from notifier.errors import ConfigError
from notifier.model import FinalStatus, JobDetails, Route, pipeline_name

log = logging.getLogger("notifier")


def resolve_region(status: FinalStatus, attribute: str, fallback: str) -> str:
    """Region precedence: the message attribute, then the resource name, then GCP_REGION."""
    return attribute.strip() or status.region or fallback


def region_for(attributes: Mapping[str, str], status: FinalStatus, config: Config) -> str:
    """The Vertex AI region of the run (a malformed attribute is logged and ignored)."""
    region_attr = attributes.get("gcp_region", "").strip()
    if region_attr and not is_valid_region(region_attr):
        log.warning("Ignoring malformed gcp_region attribute %r", region_attr[:100])
        region_attr = ""
    return resolve_region(status, region_attr, config.gcp_region)


def matching_rule(
    rules: tuple[RouteRule, ...], status: FinalStatus, details: JobDetails | None
) -> RouteRule | None:
    """The first rule whose pipeline glob and label globs all match this run, or None."""
    if not rules:
        return None
    name = pipeline_name(status, details).lower()
    labels = dict(details.labels) if details else {}
    for rule in rules:
        if not fnmatch.fnmatchcase(name, rule.pipeline.lower()):
            continue
        if all(key in labels and fnmatch.fnmatchcase(labels[key].lower(), glob) for key, glob in rule.labels):
            return rule
    return None


def stuck_after_hours(config: Config, status: FinalStatus, details: JobDetails | None) -> float:
    """How long this run may run before the sweep warns: its rule's threshold, else the global one."""
    rule = matching_rule(config.routes, status, details)
    return rule.stuck_after_hours if rule and rule.stuck_after_hours else config.sweep_after_hours


def route_for(
    attributes: Mapping[str, str], status: FinalStatus, details: JobDetails | None, config: Config
) -> Route:
    """Apply the attributes, then the first matching rule, then the environment's defaults."""
    channel = attributes.get("slack_channel_id", "").strip()
    if channel and not is_valid_channel(channel):
        log.warning("Ignoring malformed slack_channel_id attribute %r", channel[:100])
        channel = ""
    rule = matching_rule(config.routes, status, details)
    on_failure_only = config.on_failure_only
    if rule is not None and rule.on_failure_only is not None:
        on_failure_only = rule.on_failure_only
    if "on_failure_only" in attributes:
        try:
            on_failure_only = parse_bool(attributes["on_failure_only"], "on_failure_only attribute")
        except ConfigError as exc:
            log.warning("%s; using %s", exc, on_failure_only)
    # A matching rule says where its runs go; without one, the defaults of each destination.
    default_channel = rule.channel if rule else config.slack_channel_id
    return Route(
        channel=channel or default_channel,
        on_failure_only=on_failure_only,
        mention=(rule.mention if rule and rule.mention else "") or config.slack_mention_on_failure,
        google_chat=rule.google_chat if rule else config.google_chat_spaces,
        sms=rule.sms if rule else config.sms_to,
    )
