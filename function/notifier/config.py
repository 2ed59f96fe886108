"""The typed, grouped configuration, built once at cold start from the settings table.

Each group is what one part of the function reads (``config.slack`` the Slack destination,
``config.state`` the Firestore stores, ``config.sweep`` the sweep, ``config.schedules`` its
check of Vertex AI Schedules, …); every value comes from ``settings.SETTINGS`` (declared
once: name, kind, default, help). The checks between settings live here, with the group
they concern; every error names the variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from notifier import settings
from notifier.errors import ConfigError
from notifier.names import JobName, Region, Scope, is_valid_channel, vertex_endpoint
from notifier.rules import SLACK, RouteRule

# A Slack message's ts: seconds, a dot, microseconds.
_SLACK_TS = re.compile(r"\d{9,11}\.\d{6}")


@dataclass(frozen=True)
class RuntimeSettings:
    """Where and how the function runs."""

    project: str = ""
    region: str = ""
    log_level: str = "INFO"
    log_format: str = "text"
    threads: int = 0  # 0: unknown (functions-framework's own default), no waiting cap
    workers: int = 1
    max_delivery_attempts: int = 0  # 0: unknown, no delivery is treated as the last

    @property
    def structured_logs(self) -> bool:
        """JSON log lines for Cloud Logging."""
        return self.log_format == "json"


@dataclass(frozen=True)
class ScopeSettings:
    """The projects (ids and numbers) and regions the function may act on."""

    projects: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def validate(self) -> None:
        """Both are required: an empty scope would refuse every run."""
        if not self.projects:
            raise ConfigError(
                "ALLOWED_PROJECTS is required (or GOOGLE_CLOUD_PROJECT): the project ids and numbers "
                "whose pipelines the notifier reports"
            )
        if not self.regions:
            raise ConfigError(
                "ALLOWED_REGIONS is required (or GCP_REGION): the regions whose pipelines it reports"
            )

    @property
    def scope(self) -> Scope:
        """The scope as ``names`` checks it."""
        return Scope(frozenset(self.projects), frozenset(self.regions))

    def check(self, name: JobName) -> None:
        """NameRejectedError unless the run ``name`` lies in this scope."""
        self.scope.check(name)


@dataclass(frozen=True)
class RoutingSettings:
    """The routing table and the default of on_failure_only."""

    routes: tuple[RouteRule, ...] = ()
    on_failure_only: bool = False
    notify_not_blessed: bool = True


@dataclass(frozen=True)
class VertexSettings:
    """The Vertex AI API."""

    endpoint: str = ""
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class TaskLogSettings:
    """Reading the failed tasks' logs from Cloud Logging."""

    endpoint: str = ""
    timeout_seconds: float = 5.0
    enabled: bool = True


@dataclass(frozen=True)
class StateSettings:
    """Firestore: de-duplication claims, the sweep's interval, the streaks."""

    collection: str = ""
    database: str = "(default)"
    lease_seconds: float = 120.0
    ttl_days: float = 7.0
    streaks_collection: str = "notifier_streaks"

    @property
    def enabled(self) -> bool:
        """De-duplication (and so Firestore) is on."""
        return bool(self.collection)


class DestinationSettings:
    """What every destination's group shares: it is on when its credential is set, and its
    default addresses are where runs go that no rule routes elsewhere."""

    destination: ClassVar[str]  # the destination's name, as routes name it
    credential: ClassVar[str]  # the field that turns the destination on
    default_addresses: ClassVar[str]  # the field holding its defaults (one address or several)

    @property
    def enabled(self) -> bool:
        """The destination is configured."""
        return bool(getattr(self, self.credential))

    @property
    def defaults(self) -> tuple[str, ...]:
        """Where runs go that no rule routes elsewhere."""
        value = getattr(self, self.default_addresses)
        return ((value,) if value else ()) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class SlackSettings(DestinationSettings):
    """The Slack destination: on when it has a token."""

    destination = "slack"
    credential = "token"
    default_addresses = "channel"

    token: str = field(default="", repr=False)
    channel: str = ""
    mention: str = ""
    api_url: str = settings.DEFAULT_SLACK_API_URL
    max_per_second: float = 1.0
    hold_seconds: float = 25.0
    threads: bool = False
    notify_on_recovery: bool = True
    streak_expiry_days: float = 14.0
    workspace_url: str = ""

    def thread_url(self, channel: str, ts: str) -> str:
        """The permalink of the message ``ts`` in ``channel`` (checked ids), or '' without ``workspace_url``."""
        if not self.workspace_url or not _SLACK_TS.fullmatch(ts) or not is_valid_channel(channel):
            return ""
        return f"{self.workspace_url}/archives/{channel}/p{ts.replace('.', '')}"


@dataclass(frozen=True)
class ChatSettings(DestinationSettings):
    """The Google Chat destination: on when it has webhooks."""

    destination = "google_chat"
    credential = "webhooks"
    default_addresses = "spaces"

    webhooks: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    spaces: tuple[str, ...] = ()
    max_per_minute: float = 60.0


@dataclass(frozen=True)
class SmsSettings(DestinationSettings):
    """The SMS destination (Twilio): on when it has an account."""

    destination = "sms"
    credential = "account_sid"
    default_addresses = "to"

    account_sid: str = field(default="", repr=False)
    auth_token: str = field(default="", repr=False)
    sender: str = ""
    api_url: str = ""
    to: tuple[str, ...] = ()
    on_failure_only: bool = True


@dataclass(frozen=True)
class PagerDutySettings(DestinationSettings):
    """The PagerDuty destination (Events API v2): on when it has routing keys."""

    destination = "pagerduty"
    credential = "routing_keys"
    default_addresses = "services"

    routing_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    services: tuple[str, ...] = ()
    severity: str = "error"
    api_url: str = settings.DEFAULT_PAGERDUTY_API_URL
    max_per_minute: float = 100.0


@dataclass(frozen=True)
class TeamsSettings(DestinationSettings):
    """The Microsoft Teams destination (Workflows webhooks): on when it has webhooks."""

    destination = "teams"
    credential = "webhooks"
    default_addresses = "channels"

    webhooks: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    channels: tuple[str, ...] = ()
    max_per_second: float = 1.0


@dataclass(frozen=True)
class SweepSettings:
    """The sweep for runs that have not ended."""

    projects: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    after_hours: float = 12.0
    topic: str = ""
    min_interval_minutes: float = 10.0


@dataclass(frozen=True)
class ScheduleSettings:
    """The sweep's check of Vertex AI Schedules (missed slots, failed creations, ended schedules)."""

    enabled: bool = True
    grace_minutes: float = 30.0


@dataclass(frozen=True)
class HistorySettings:
    """The run history (``state.history``) and the rules that read it (``history_rules``)."""

    collection: str = "pipeline_runs"
    days: float = 90.0
    min_runs: int = 5
    baseline_runs: int = 20
    factor: float = 2.0
    min_extra_minutes: float = 15.0
    notify_slow_success: bool = True

    @property
    def enabled(self) -> bool:
        """Runs are recorded (and compared) unless ``RUN_HISTORY_DAYS=0``; Firestore must be on too."""
        return self.days > 0


@dataclass(frozen=True)
class DigestSettings:
    """The weekly digest (``notifier.digest``): on by default, where run history is kept."""

    enabled: bool = True
    days: float = 7.0
    max_pipelines: int = 50


@dataclass(frozen=True)
class ActionsSettings:
    """Acting from a Slack message: on when ``ACTIONS_TOPIC`` is set."""

    topic: str = ""
    signing_secret: str = field(default="", repr=False)
    allowed: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    user_groups: tuple[str, ...] = ()
    retry_service_accounts: tuple[str, ...] = ()
    mutes_collection: str = "notifier_mutes"
    pubsub_endpoint: str = ""

    @property
    def enabled(self) -> bool:
        """Buttons are drawn and clicks honoured (from ``topic`` only)."""
        return bool(self.topic)

    def grants(self, action: str) -> tuple[frozenset[str], frozenset[str]]:
        """The users and the user groups ``ACTION_USERS`` and ``ACTION_USER_GROUPS`` name for
        ``action`` (``ack``, ``mute``, ``cancel``, ``retry``): unprefixed entries and ``action:`` ones."""

        def named(entries: tuple[str, ...]) -> frozenset[str]:
            found = set()
            for entry in entries:
                prefix, _, ident = entry.rpartition(":")
                if prefix in ("", action):
                    found.add(ident)
            return frozenset(found)

        return named(self.users), named(self.user_groups)


_GROUPS: dict[str, type] = {
    "runtime": RuntimeSettings,
    "scope": ScopeSettings,
    "routing": RoutingSettings,
    "vertex": VertexSettings,
    "task_logs": TaskLogSettings,
    "state": StateSettings,
    "slack": SlackSettings,
    "chat": ChatSettings,
    "sms": SmsSettings,
    "pagerduty": PagerDutySettings,
    "teams": TeamsSettings,
    "sweep": SweepSettings,
    "schedules": ScheduleSettings,
    "history": HistorySettings,
    "digest": DigestSettings,
    "actions": ActionsSettings,
}


@dataclass(frozen=True)
class Config:
    """Everything the function reads from its environment, validated, in groups."""

    runtime: RuntimeSettings = RuntimeSettings()
    scope: ScopeSettings = ScopeSettings()
    routing: RoutingSettings = RoutingSettings()
    vertex: VertexSettings = VertexSettings()
    task_logs: TaskLogSettings = TaskLogSettings()
    state: StateSettings = StateSettings()
    slack: SlackSettings = SlackSettings()
    chat: ChatSettings = ChatSettings()
    sms: SmsSettings = SmsSettings()
    pagerduty: PagerDutySettings = PagerDutySettings()
    teams: TeamsSettings = TeamsSettings()
    sweep: SweepSettings = SweepSettings()
    schedules: ScheduleSettings = ScheduleSettings()
    history: HistorySettings = HistorySettings()
    digest: DigestSettings = DigestSettings()
    actions: ActionsSettings = ActionsSettings()

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, check: bool = True) -> Config:
        """Read, check and group every setting; ConfigError names the variable that is wrong.

        ``check=False`` leaves out the checks between settings (an operator tool that posts
        nothing needs no destination); each value is still checked.
        """
        config = cls._read(env)
        if check:
            config.check()
        return config

    @classmethod
    def for_interactivity(cls, env: Mapping[str, str]) -> Config:
        """The interactivity function's configuration (``slack_actions``): every setting read and
        checked, but only the ones it uses required (the signing secret and the actions topic)."""
        config = cls._read(env)
        if not config.actions.signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is required: every request of Slack's is checked with it")
        if not config.actions.topic:
            raise ConfigError("ACTIONS_TOPIC is required: verified clicks are published to it")
        return config

    @classmethod
    def _read(cls, env: Mapping[str, str]) -> Config:
        groups = settings.grouped(settings.read(env))
        return cls(**{name: _GROUPS[name](**values) for name, values in groups.items()})

    def check(self) -> None:
        """The checks between settings."""
        self.scope.validate()
        self._check_destinations()
        self._check_state()
        self._check_sweep()
        self._check_actions()
        paced = self.chat.enabled or self.pagerduty.enabled or self.teams.enabled
        if self.runtime.workers != 1 and (self.slack.max_per_second or paced):
            # Each gunicorn worker is a process with its own pacers: two would double a channel's rate.
            raise ConfigError(
                f"WORKERS must be 1 while posts are paced (the pacers live in one process), got {self.runtime.workers}"
            )

    def _check_destinations(self) -> None:
        rules = self.routing.routes
        if not any(d.enabled for d in (self.slack, self.chat, self.sms, self.pagerduty, self.teams)):
            raise ConfigError(
                "no destination: set SLACK_BOT_TOKEN (Slack), GOOGLE_CHAT_WEBHOOKS (Google Chat), "
                "TWILIO_ACCOUNT_SID (SMS), PAGERDUTY_ROUTING_KEYS (PagerDuty) or TEAMS_WEBHOOKS (Microsoft Teams)"
            )
        slack_named = self.slack.channel or any(rule.addresses(SLACK) for rule in rules)
        if slack_named and not self.slack.enabled:
            raise ConfigError(
                "SLACK_CHANNEL_ID or a ROUTES rule names a Slack channel, but SLACK_BOT_TOKEN is unset"
            )
        for key, defined, defaults, defaults_name, defined_name in (
            ("google_chat", self.chat.webhooks, self.chat.spaces, "GOOGLE_CHAT_SPACES", "GOOGLE_CHAT_WEBHOOKS"),
            ("pagerduty", self.pagerduty.routing_keys, self.pagerduty.services, "PAGERDUTY_SERVICES", "PAGERDUTY_ROUTING_KEYS"),
            ("teams", self.teams.webhooks, self.teams.channels, "TEAMS_CHANNELS", "TEAMS_WEBHOOKS"),
        ):  # fmt: skip
            known = {name for name, _ in defined}
            for name in defaults:
                if name not in known:
                    raise ConfigError(f"{defaults_name} names {name!r}, which {defined_name} does not define")
            for number, rule in enumerate(rules, 1):
                for name in rule.addresses(key):
                    if name not in known:
                        raise ConfigError(
                            f"ROUTES rule {number}: {key} names {name!r}, which {defined_name} does not define"
                        )
        sms = self.sms
        # Never echo the SID or the token: together they are the credential.
        if (sms.to or any(rule.addresses("sms") for rule in rules)) and not sms.account_sid:
            raise ConfigError("TWILIO_ACCOUNT_SID is required for SMS (AC followed by 32 hex digits)")
        if sms.enabled and not sms.auth_token:
            raise ConfigError("TWILIO_AUTH_TOKEN is required for SMS (Twilio's auth token)")
        if sms.enabled and not sms.sender:
            raise ConfigError(
                "TWILIO_FROM is required for SMS: an E.164 number or a Messaging Service SID (MG…)"
            )

    def _check_state(self) -> None:
        if (
            self.pagerduty.enabled
            and self.state.enabled
            and self.state.streaks_collection == self.state.collection
        ):
            raise ConfigError(
                f"STREAKS_COLLECTION must differ from DEDUP_COLLECTION (PagerDuty keeps its incidents' "
                f"streaks there), both are {self.state.collection!r}"
            )
        if self.slack.threads and not self.state.enabled:
            raise ConfigError(
                "SLACK_THREADS needs de-duplication: set DEDUP_COLLECTION "
                "(threads keep their state in the same Firestore database)"
            )
        if self.slack.threads and self.state.streaks_collection == self.state.collection:
            raise ConfigError(
                f"STREAKS_COLLECTION must differ from DEDUP_COLLECTION, both are {self.state.collection!r}"
            )
        if self.state.enabled and self.history.enabled:
            others = {
                "DEDUP_COLLECTION": self.state.collection,
                "STREAKS_COLLECTION": self.state.streaks_collection,
            }
            for name, value in others.items():
                if value == self.history.collection:
                    raise ConfigError(f"RUNS_COLLECTION must differ from {name}, both are {value!r}")

    @property
    def keeps_history(self) -> bool:
        """Runs are recorded: history is on and Firestore (``DEDUP_COLLECTION``) is there to keep them."""
        return self.state.enabled and self.history.enabled

    def _check_sweep(self) -> None:
        for name, values, allowed, bound in (
            ("SWEEP_PROJECTS", self.sweep.projects, self.scope.projects, "ALLOWED_PROJECTS"),
            ("SWEEP_REGIONS", self.sweep.regions, self.scope.regions, "ALLOWED_REGIONS"),
        ):
            outside = [value for value in values if value not in allowed]
            if outside:
                raise ConfigError(f"{name} names {', '.join(outside)}, outside {bound}")

    def _check_actions(self) -> None:
        actions = self.actions
        if not actions.enabled:
            for name, value in (
                ("ALLOW_ACTIONS", actions.allowed),
                ("ACTION_USERS", actions.users),
                ("ACTION_USER_GROUPS", actions.user_groups),
                ("RETRY_SERVICE_ACCOUNTS", actions.retry_service_accounts),
            ):
                if value:
                    raise ConfigError(
                        f"{name} is set, but ACTIONS_TOPIC is not: there are no buttons to act from"
                    )
            return
        needs = [
            ("SLACK_SIGNING_SECRET", actions.signing_secret, "every click's signature is checked with it"),
            ("SLACK_BOT_TOKEN", self.slack.enabled, "the buttons are on Slack messages"),
            ("DEDUP_COLLECTION", self.state.enabled, "acknowledgements and mutes are kept in Firestore"),
        ]
        for name, value, why in needs:
            if not value:
                raise ConfigError(f"ACTIONS_TOPIC needs {name}: {why}")
        if "retry" in actions.allowed and not actions.retry_service_accounts:
            raise ConfigError(
                "ALLOW_ACTIONS=retry needs RETRY_SERVICE_ACCOUNTS: the service accounts a retried run may run as"
            )
        if actions.mutes_collection in (self.state.collection, self.state.streaks_collection):
            raise ConfigError(
                f"MUTES_COLLECTION must differ from DEDUP_COLLECTION and STREAKS_COLLECTION, "
                f"got {actions.mutes_collection!r}"
            )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the log filter to redact: the tokens and each webhook URL's query."""
        values = [self.slack.token, self.sms.account_sid, self.sms.auth_token, self.actions.signing_secret]
        values.extend(key for _, key in self.pagerduty.routing_keys)
        for _, url in (*self.chat.webhooks, *self.teams.webhooks):
            values.append(url)
            values.extend(part.split("=", 1)[-1] for part in url.split("?", 1)[-1].split("&"))
        return tuple(v for v in values if len(v) >= 8)

    def destination_defaults(self) -> dict[str, tuple[str, ...]]:
        """Each destination's defaults, by its name: where runs go that no rule routes elsewhere
        (what ``wiring`` gives each destination), for tools that route without building them
        and may lack the destinations' secrets (the history backfill)."""
        groups = (getattr(self, name) for name in _GROUPS)
        return {
            g.destination: g.defaults for g in groups if isinstance(g, DestinationSettings) and g.defaults
        }

    def vertex_endpoint_for(self, region: Region) -> str:
        """The Vertex AI API endpoint serving ``region`` (a checked ``Region``, in scope)."""
        if region not in self.scope.regions:
            raise ValueError(f"region {region} is outside ALLOWED_REGIONS")
        return vertex_endpoint(region, self.vertex.endpoint)
