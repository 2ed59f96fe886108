"""Where a notification goes: the exit handler's settings as Vertex AI runs them, the routing
table, then the defaults. A message's own attributes never choose (``handler`` logs a mismatch).

Precedence, per setting, for a notice Vertex AI confirmed:

- Slack channel: the ``slack_channel_id`` the pipeline gives its exit-handler stub (a
  constant in its compiled spec, or a pipeline parameter's value in the job's runtime
  config), else the first matching ``ROUTES`` rule's ``channel`` (a rule may name
  none: then no Slack message), else ``SLACK_CHANNEL_ID``;
- Google Chat webhooks, SMS numbers, PagerDuty services and Teams webhooks: the matching
  rule's ``google_chat``, ``sms``, ``pagerduty`` and ``teams``, else ``GOOGLE_CHAT_SPACES``,
  ``SMS_TO``, ``PAGERDUTY_SERVICES`` and ``TEAMS_CHANNELS``;
- on_failure_only: the stub's ``on_failure_only``, else the rule's, else ``ON_FAILURE_ONLY``;
  a success slower than usual is sent all the same while ``NOTIFY_SLOW_SUCCESS`` is on,
  and one whose model was not blessed while ``NOTIFY_NOT_BLESSED`` holds;
- mention (failures only): the rule's, else ``SLACK_MENTION_ON_FAILURE``;
- severity (PagerDuty's): the rule's, else ``PAGERDUTY_SEVERITY``.

A notice Vertex AI could not confirm goes to the defaults of the destinations that page no
one (``SLACK_CHANNEL_ID``, ``GOOGLE_CHAT_SPACES``), without a mention (``unconfirmed_route``).

A rule matches when its ``pipeline`` glob matches the pipeline name (``model.pipeline_name``)
and each of its label globs matches that PipelineJob label, all case-insensitively
(``fnmatch``). GCP label values are lowercase, channel ids are not: rules hold label
globs in lowercase and channels as ids (``C0123ABCD``); labels never carry a channel.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping

from notifier.config import Config
from notifier.errors import ConfigError
from notifier.model import FinalStatus, JobDetails, Route, pipeline_name
from notifier.names import is_valid_channel, quoted
from notifier.rules import SLACK, RouteRule
from notifier.settings import parse_bool

log = logging.getLogger("notifier")


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
    rule = matching_rule(config.routing.routes, status, details)
    return rule.stuck_after_hours if rule and rule.stuck_after_hours else config.sweep.after_hours


def route_for(
    settings: Mapping[str, str],
    status: FinalStatus,
    details: JobDetails | None,
    config: Config,
    defaults: Mapping[str, tuple[str, ...]],
    *,
    slow: bool = False,
) -> Route:
    """Apply the stub's settings, then the first matching rule, then each destination's defaults.

    ``settings`` are the exit-handler stub's as Vertex AI runs the pipeline
    (``JobDetails.stub_settings``): never a message's own attributes. ``defaults``: each
    destination's addresses for runs no rule routes elsewhere, by the destination's name.
    ``slow``: the run took longer than usual (``history_rules``); with ``NOTIFY_SLOW_SUCCESS``
    a slow success is told even where on_failure_only would skip it.
    """
    channel = settings.get("slack_channel_id", "").strip()
    if channel and not is_valid_channel(channel):
        log.warning(
            "Ignoring the malformed slack_channel_id %s of the pipeline's exit handler", quoted(channel)
        )
        channel = ""
    rule = matching_rule(config.routing.routes, status, details)
    on_failure_only = config.routing.on_failure_only
    if rule is not None and rule.on_failure_only is not None:
        on_failure_only = rule.on_failure_only
    if "on_failure_only" in settings:
        try:
            on_failure_only = parse_bool(settings["on_failure_only"], "the exit handler's on_failure_only")
        except ConfigError as exc:
            log.warning("%s; using %s", exc, on_failure_only)
    if slow and status.succeeded and on_failure_only and config.history.notify_slow_success:
        log.info("A slower than usual success: sent despite on_failure_only (NOTIFY_SLOW_SUCCESS)")
        on_failure_only = False
    if on_failure_only and config.routing.notify_not_blessed and details and details.results.not_blessed:
        on_failure_only = False  # a success whose model was refused is a warning worth reading
    # A matching rule says where its runs go; without one, the defaults of each destination.
    targets = dict(rule.targets) if rule else dict(defaults)
    if channel:
        targets[SLACK] = (channel,)  # the pipeline's own channel, from its spec
    return Route.to(
        targets,
        on_failure_only=on_failure_only,
        mention=(rule.mention if rule and rule.mention else "") or config.slack.mention,
        severity=rule.severity if rule else "",
    )


def unconfirmed_route(config: Config, defaults: Mapping[str, tuple[str, ...]]) -> Route:
    """Where a notice Vertex AI could not confirm goes: the defaults of the destinations that
    page no one (``defaults`` holds only those). No rule (it would match on names the
    message chose), no mention.
    """
    return Route.to(defaults, on_failure_only=config.routing.on_failure_only)
