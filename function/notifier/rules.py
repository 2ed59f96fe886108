"""The routing table (``ROUTES``): a JSON list of rules, parsed once at start-up into frozen rules.

A rule matches runs by pipeline name and labels and says where they go, per destination:
``channel`` (Slack), ``google_chat`` (webhook names), ``sms`` (E.164 numbers),
``pagerduty`` (service names), ``teams`` (webhook names), and how (``mention``,
``on_failure_only``, ``stuck_after_hours``, ``severity``: a PagerDuty incident's). Terraform's ``jsonencode`` writes
unset optional attributes as null, so null means "not given". Every error names the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from notifier import bounded_json
from notifier.errors import ConfigError
from notifier.names import is_e164, is_valid_channel, is_valid_mention, is_webhook_name

ROUTES_MAX = 100
ADDRESSES_PER_RULE_MAX = 10
STUCK_HOURS_RANGE = (0.5, 720.0)
_GLOB_MAX = 200
# GCP label keys; label values are lowercase too, so value globs must be.
_LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_GLOB_RE = re.compile(r"^[a-z0-9_*?\[\]!-]{0,63}$")
_MATCH_KEYS = frozenset({"pipeline", "labels"})

# Each destination's key in a rule, the grammar of one of its addresses, and how to say it.
# A new destination adds its line here (its name is its key).
DESTINATION_KEYS: Mapping[str, tuple[Callable[[str], bool], str]] = {
    "google_chat": (is_webhook_name, "webhook names (from GOOGLE_CHAT_WEBHOOKS)"),
    "sms": (is_e164, "E.164 numbers like +15551234567"),
    "pagerduty": (is_webhook_name, "service names (from PAGERDUTY_ROUTING_KEYS)"),
    "teams": (is_webhook_name, "webhook names (from TEAMS_WEBHOOKS)"),
}
# A PagerDuty event's severities (the Events API's own list).
SEVERITIES = ("critical", "error", "warning", "info")
_RULE_KEYS = frozenset(
    {"match", "channel", "mention", "on_failure_only", "stuck_after_hours", "severity", *DESTINATION_KEYS}
)
SLACK = "slack"


@dataclass(frozen=True)
class RouteRule:
    """One rule: which runs it matches, and where they go.

    ``pipeline`` and the label values are globs (``fnmatch``), matched case-insensitively
    against the pipeline name and the PipelineJob's labels; every given one must match.
    ``targets`` maps a destination's name to its addresses (Slack: the channel).
    ``None`` settings leave the default (``ON_FAILURE_ONLY``, ``SWEEP_AFTER_HOURS``) alone.
    """

    pipeline: str = "*"
    labels: tuple[tuple[str, str], ...] = ()
    targets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    mention: str = ""
    on_failure_only: bool | None = None
    stuck_after_hours: float | None = None
    severity: str = ""  # a PagerDuty incident's; "" leaves PAGERDUTY_SEVERITY

    def addresses(self, destination: str) -> tuple[str, ...]:
        """Where this rule sends runs on ``destination`` (none when it does not name it)."""
        return dict(self.targets).get(destination, ())

    @property
    def channel(self) -> str:
        """The Slack channel, or ''."""
        return next(iter(self.addresses(SLACK)), "")


def config_json(text: str, name: str) -> Any:
    """The JSON in one configuration variable (bounded), or None when it is empty."""
    if not text.strip():
        return None
    try:
        return bounded_json.loads(text, bounded_json.CONFIG_VALUE)
    except bounded_json.JsonInputError as exc:
        raise ConfigError(f"{name} {exc}") from None


def parse_routes(text: str, name: str = "ROUTES") -> tuple[RouteRule, ...]:
    """Parse the routing table (a JSON list of rules); ConfigError names the rule that is wrong."""
    document = config_json(text, name)
    if document is None:
        return ()
    if not isinstance(document, list):
        raise ConfigError(f"{name} must be a JSON list of rules, got a JSON {type(document).__name__}")
    if len(document) > ROUTES_MAX:
        raise ConfigError(f"{name} has {len(document)} rules; at most {ROUTES_MAX}")
    return tuple(_rule(item, f"{name} rule {index + 1}") for index, item in enumerate(document))


def _given(obj: Any, allowed: frozenset[str], where: str) -> dict[str, Any]:
    """``obj``'s given keys, checked: Terraform's jsonencode writes unset optional attributes as null."""
    if not isinstance(obj, dict):
        raise ConfigError(f"{where} must be an object, got a JSON {type(obj).__name__}")
    given = {key: value for key, value in obj.items() if value is not None}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {unknown}; allowed: {sorted(allowed)}")
    return given


def _rule(item: Any, where: str) -> RouteRule:
    item = _given(item, _RULE_KEYS, where)
    targets: dict[str, tuple[str, ...]] = {}
    for key, (valid, what) in DESTINATION_KEYS.items():
        addresses = _addresses(item.get(key, []), valid, f"{where}: {key}", what)
        if addresses:
            targets[key] = addresses
    channel = item.get("channel", "")
    if not isinstance(channel, str) or (
        not is_valid_channel(channel.strip()) and (channel.strip() or not targets)
    ):
        raise ConfigError(
            f"{where}: channel must be a channel id like C0123ABCD (it may be left out only when the "
            f"rule names another destination: {', '.join(DESTINATION_KEYS)}), got {channel!r}"
        )
    if channel.strip():
        targets = {SLACK: (channel.strip(),), **targets}
        where = f"{where} (channel {channel.strip()})"
    mention = item.get("mention", "")
    if not isinstance(mention, str) or (mention.strip() and not is_valid_mention(mention.strip())):
        raise ConfigError(
            f"{where}: mention must be Slack mention syntax such as <!subteam^S0123>, got {mention!r}"
        )
    on_failure_only = item.get("on_failure_only")
    if on_failure_only is not None and not isinstance(on_failure_only, bool):
        raise ConfigError(f"{where}: on_failure_only must be true or false, got {on_failure_only!r}")
    stuck = item.get("stuck_after_hours")
    low, high = STUCK_HOURS_RANGE
    if stuck is not None and (
        isinstance(stuck, bool) or not isinstance(stuck, (int, float)) or not low <= stuck <= high
    ):
        raise ConfigError(
            f"{where}: stuck_after_hours must be a number of hours from {low:g} to {high:g}, got {stuck!r}"
        )
    severity = item.get("severity", "")
    if severity not in ("", *SEVERITIES):
        raise ConfigError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    pipeline, labels = _match(item.get("match", {}), where)
    return RouteRule(
        pipeline=pipeline,
        labels=labels,
        targets=tuple(targets.items()),
        mention=mention.strip(),
        on_failure_only=on_failure_only,
        stuck_after_hours=float(stuck) if stuck is not None else None,
        severity=severity,
    )


def _match(value: Any, where: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    match = _given(value, _MATCH_KEYS, f"{where}: match")
    pipeline = match.get("pipeline", "*")
    if not isinstance(pipeline, str) or not pipeline.strip() or len(pipeline) > _GLOB_MAX:
        raise ConfigError(f"{where}: match.pipeline must be a glob such as 'churn-*', got {pipeline!r}")
    labels = match.get("labels", {})
    if not isinstance(labels, dict):
        raise ConfigError(f"{where}: match.labels must be an object of label globs, got {labels!r}")
    for key, glob in labels.items():
        if not _LABEL_KEY_RE.match(key):
            raise ConfigError(f"{where}: match.labels key {key!r} is not a GCP label key")
        if not isinstance(glob, str) or not _LABEL_GLOB_RE.match(glob):
            raise ConfigError(
                f"{where}: match.labels.{key} must be a lowercase glob (GCP label values are lowercase), got {glob!r}"
            )
    return pipeline.strip(), tuple(sorted(labels.items()))


def _addresses(value: Any, valid: Callable[[str], bool], where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > ADDRESSES_PER_RULE_MAX:
        raise ConfigError(f"{where} must be a list of at most {ADDRESSES_PER_RULE_MAX} {what}, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not valid(item):
            raise ConfigError(f"{where} must hold {what}, got {item!r}")
    return tuple(dict.fromkeys(value))
