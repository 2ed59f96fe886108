"""Configuration: one frozen dataclass, built once at cold start from the environment."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from notifier import bounded_json
from notifier.errors import ConfigError
from notifier.names import Region, Scope, is_project, is_project_id, is_region, vertex_endpoint

DEFAULT_SLACK_API_URL = "https://slack.com/api/"

# Every variable the function reads. Terraform's drift test checks against this set.
ENV_VARS = frozenset(
    {
        "SLACK_BOT_TOKEN",
        "SLACK_CHANNEL_ID",
        "ON_FAILURE_ONLY",
        "SLACK_MENTION_ON_FAILURE",
        "GCP_REGION",
        "SLACK_API_URL",
        "SLACK_MAX_PER_SECOND",
        "SLACK_HOLD_SECONDS",
        "MAX_DELIVERY_ATTEMPTS",
        "THREADS",
        "WORKERS",
        "VERTEX_API_ENDPOINT",
        "VERTEX_TIMEOUT_SECONDS",
        "LOGGING_API_ENDPOINT",
        "LOGGING_TIMEOUT_SECONDS",
        "READ_TASK_LOGS",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "GOOGLE_CLOUD_PROJECT",
        "DEDUP_COLLECTION",
        "FIRESTORE_DATABASE",
        "DEDUP_LEASE_SECONDS",
        "DEDUP_TTL_DAYS",
        "SLACK_ROUTES",
        "SWEEP_REGIONS",
        "SWEEP_PROJECTS",
        "SWEEP_AFTER_HOURS",
        "SWEEP_TOPIC",
        "SWEEP_MIN_INTERVAL_MINUTES",
        "ALLOWED_PROJECTS",
        "ALLOWED_REGIONS",
        "SLACK_THREADS",
        "NOTIFY_ON_RECOVERY",
        "STREAK_EXPIRY_DAYS",
        "STREAKS_COLLECTION",
        "GOOGLE_CHAT_WEBHOOKS",
        "GOOGLE_CHAT_SPACES",
        "GOOGLE_CHAT_MAX_PER_MINUTE",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "TWILIO_API_URL",
        "SMS_TO",
        "SMS_ON_FAILURE_ONLY",
    }
)
# Secret values: never logged, never in a repr (setup_logging redacts them everywhere).
SECRET_ENV_VARS = frozenset(
    {"SLACK_BOT_TOKEN", "GOOGLE_CHAT_WEBHOOKS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}
)
REQUIRED_ENV_VARS = frozenset({"SLACK_BOT_TOKEN"})

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_CHANNEL_RE = re.compile(r"^(?:[CDG][A-Z0-9]{2,}|#?[a-z0-9][a-z0-9._-]{0,79})$")
_MENTION_RE = re.compile(r"^(?:<(?:!subteam\^[A-Z0-9]+|@[UW][A-Z0-9]+|!here|!channel)(?:\|[^<>]*)?>\s*)+$")
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}
# A Pub/Sub topic's full name (SWEEP_TOPIC), as a CloudEvent's source names it.
_TOPIC_RE = re.compile(r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
# GCP label keys; label values are lowercase too, so value globs must be.
_LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_GLOB_RE = re.compile(r"^[a-z0-9_*?\[\]!-]{0,63}$")
_GLOB_MAX = 200
ROUTES_MAX = 100
_RULE_KEYS = frozenset(
    {"match", "channel", "google_chat", "sms", "mention", "on_failure_only", "stuck_after_hours"}
)
# A Google Chat webhook's name in GOOGLE_CHAT_WEBHOOKS (what rules and GOOGLE_CHAT_SPACES say).
_WEBHOOK_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…, or a local stand-in over http.
_WEBHOOK_URL_RE = re.compile(
    r"^(?:https://chat\.googleapis\.com|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?)"
    r"/v1/spaces/[A-Za-z0-9_-]+/messages\?\S+$"
)
_E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
_TWILIO_SID_RE = re.compile(r"^AC[0-9a-f]{32}$")
# A sender: an E.164 number, or a Messaging Service SID.
_TWILIO_FROM_RE = re.compile(r"^(?:\+[1-9]\d{6,14}|MG[0-9a-f]{32})$")
DESTINATIONS_PER_RULE_MAX = 10
_MATCH_KEYS = frozenset({"pipeline", "labels"})
STUCK_HOURS_RANGE = (0.5, 720.0)
DEFAULT_STREAKS_COLLECTION = "notifier_streaks"


def parse_bool(value: str, name: str) -> bool:
    """Parse a boolean setting; anything unrecognised fails naming ``name``."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean setting; unset or empty is ``default``."""
    raw = env.get(name, "").strip()
    return parse_bool(raw, name) if raw else default


def _collection(env: Mapping[str, str], name: str, default: str = "") -> str:
    """A Firestore collection name: no path, not reserved (``__…__``)."""
    value = env.get(name, "").strip() or default
    if "/" in value or value.startswith("__"):
        raise ConfigError(f"{name} must be a plain collection name, got {value!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _number(env, name, default, low, high)
    if value != int(value):
        raise ConfigError(f"{name} must be a whole number, got {env.get(name)!r}")
    return int(value)


def is_valid_channel(channel: str) -> bool:
    """True for a Slack channel id (C…, G…, D…) or a plain channel name."""
    return bool(_CHANNEL_RE.match(channel))


def is_valid_region(region: str) -> bool:
    """True for a GCP region name such as ``us-central1``."""
    return is_region(region)


def is_loopback_url(url: str) -> bool:
    """True for an ``http://`` URL whose host is this machine (a local stand-in)."""
    if not url.startswith("http://"):
        return False
    authority = url[len("http://") :].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in authority:
        return False
    host = authority.rsplit(":", 1)[0] if not authority.endswith("]") else authority
    return host in _LOOPBACK_HOSTS


def checked_url(name: str, url: str, *, secret: bool = False) -> str:
    """``url`` when it is https, or http to loopback; ConfigError naming ``name`` otherwise.

    Every outbound API URL passes here at start-up: a token or a message never travels
    in clear text to another host. ``secret``: the URL is a credential, never echo it.
    """
    shown = "" if secret else f", got {url[:100]!r}"
    if any(c.isspace() or ord(c) < 0x20 for c in url) or "@" in url.split("?", 1)[0]:
        raise ConfigError(f"{name} must be a plain https URL (no spaces, no user:password@){shown}")
    if url.startswith("https://") and len(url) > len("https://"):
        return url
    if is_loopback_url(url):
        return url
    raise ConfigError(f"{name} must be an https:// URL (http:// only to 127.0.0.1 or localhost){shown}")


def is_valid_mention(mention: str) -> bool:
    """True for Slack mention syntax such as ``<!subteam^S0123>`` or ``<@U0123>``."""
    return bool(_MENTION_RE.match(mention))


@dataclass(frozen=True)
class RouteRule:
    """One rule of ``SLACK_ROUTES``: which runs it matches, and where they go.

    ``pipeline`` and the label values are globs (``fnmatch``), matched case-insensitively
    against the pipeline name and the PipelineJob's labels; every given one must match.
    ``None`` settings leave the default (``ON_FAILURE_ONLY``, ``SWEEP_AFTER_HOURS``) alone.
    """

    channel: str = ""
    pipeline: str = "*"
    labels: tuple[tuple[str, str], ...] = ()
    mention: str = ""
    on_failure_only: bool | None = None
    stuck_after_hours: float | None = None
    google_chat: tuple[str, ...] = ()  # names in GOOGLE_CHAT_WEBHOOKS
    sms: tuple[str, ...] = ()  # E.164 numbers


def parse_routes(text: str, name: str = "SLACK_ROUTES") -> tuple[RouteRule, ...]:
    """Parse the routing table (a JSON list of rules); ConfigError names the rule that is wrong."""
    document = _config_json(text, name)
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


def _config_json(text: str, name: str) -> Any:
    """The JSON in one configuration variable, or None when it is empty."""
    if not text.strip():
        return None
    try:
        return bounded_json.loads(text, bounded_json.CONFIG_VALUE)
    except bounded_json.JsonInputError as exc:
        raise ConfigError(f"{name} {exc}") from None


def _rule(item: Any, where: str) -> RouteRule:
    item = _given(item, _RULE_KEYS, where)
    google_chat = _names(
        item.get("google_chat", []), _WEBHOOK_NAME_RE, f"{where}: google_chat", "webhook names"
    )
    sms = _names(item.get("sms", []), _E164_RE, f"{where}: sms", "E.164 numbers like +15551234567")
    channel = item.get("channel", "")
    if not isinstance(channel, str) or (
        not is_valid_channel(channel.strip()) and (channel.strip() or not (google_chat or sms))
    ):
        raise ConfigError(
            f"{where}: channel must be a channel id like C0123ABCD (it may be left out only when the "
            f"rule names google_chat or sms destinations), got {channel!r}"
        )
    where = f"{where} (channel {channel.strip()})" if channel.strip() else where
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

    match = _given(item.get("match", {}), _MATCH_KEYS, f"{where}: match")
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
    return RouteRule(
        channel=channel.strip(),
        pipeline=pipeline.strip(),
        labels=tuple(sorted(labels.items())),
        mention=mention.strip(),
        on_failure_only=on_failure_only,
        stuck_after_hours=float(stuck) if stuck is not None else None,
        google_chat=google_chat,
        sms=sms,
    )


def _names(value: Any, valid: re.Pattern[str], where: str, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > DESTINATIONS_PER_RULE_MAX:
        raise ConfigError(
            f"{where} must be a list of at most {DESTINATIONS_PER_RULE_MAX} {what}, got {value!r}"
        )
    for item in value:
        if not isinstance(item, str) or not valid.match(item):
            raise ConfigError(f"{where} must hold {what}, got {item!r}")
    return tuple(dict.fromkeys(value))


def parse_webhooks(text: str, name: str = "GOOGLE_CHAT_WEBHOOKS") -> tuple[tuple[str, str], ...]:
    """The Google Chat webhooks: a JSON object of name -> incoming-webhook URL (a secret).

    Errors name the webhook, never its URL: the URL's key and token are the credential.
    """
    document = _config_json(text, name)
    if document is None:
        return ()
    if not isinstance(document, dict) or not document:
        raise ConfigError(f"{name} must be a JSON object of webhook name -> URL")
    for key, url in document.items():
        if not _WEBHOOK_NAME_RE.match(key):
            raise ConfigError(
                f"{name}: {key[:70]!r} is not a webhook name (lowercase letters, digits, _ and -)"
            )
        if not isinstance(url, str) or not _WEBHOOK_URL_RE.match(url):
            raise ConfigError(
                f"{name}: the URL of {key!r} is not a Google Chat incoming webhook "
                "(https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…)"
            )
    return tuple(sorted(document.items()))


def _destination_settings(env: Mapping[str, str], routes: tuple[RouteRule, ...]) -> dict[str, Any]:
    """Google Chat and SMS settings, checked against the rules that name them."""
    webhooks = parse_webhooks(env.get("GOOGLE_CHAT_WEBHOOKS", ""))
    known = {name for name, _ in webhooks}
    spaces = _list(env, "GOOGLE_CHAT_SPACES", _WEBHOOK_NAME_RE, "webhook names")
    for name in spaces:
        if name not in known:
            raise ConfigError(
                f"GOOGLE_CHAT_SPACES names {name!r}, which GOOGLE_CHAT_WEBHOOKS does not define"
            )
    for number, rule in enumerate(routes, 1):
        for name in rule.google_chat:
            if name not in known:
                raise ConfigError(
                    f"SLACK_ROUTES rule {number}: google_chat names {name!r}, which GOOGLE_CHAT_WEBHOOKS does not define"
                )

    sms_to = _list(env, "SMS_TO", _E164_RE, "E.164 numbers like +15551234567")
    sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    sender = env.get("TWILIO_FROM", "").strip()
    if sms_to or any(rule.sms for rule in routes):
        # Never echo the SID or the token: together they are the credential.
        if not _TWILIO_SID_RE.match(sid):
            raise ConfigError(
                "TWILIO_ACCOUNT_SID is required for SMS and must look like AC followed by 32 hex digits"
            )
        if not token or any(c.isspace() for c in token):
            raise ConfigError("TWILIO_AUTH_TOKEN is required for SMS (Twilio's auth token)")
        if not _TWILIO_FROM_RE.match(sender):
            raise ConfigError(
                f"TWILIO_FROM must be an E.164 number or a Messaging Service SID (MG…), got {sender[:40]!r}"
            )
    api_url = env.get("TWILIO_API_URL", "").strip()
    if api_url:
        checked_url("TWILIO_API_URL", api_url)
    return {
        "google_chat_webhooks": webhooks,
        "google_chat_spaces": spaces,
        "google_chat_max_per_minute": _number(env, "GOOGLE_CHAT_MAX_PER_MINUTE", 60.0, 1.0, 600.0),
        "twilio_account_sid": sid,
        "twilio_auth_token": token,
        "twilio_from": sender,
        "twilio_api_url": api_url.rstrip("/"),
        "sms_to": sms_to,
        "sms_on_failure_only": parse_bool(env.get("SMS_ON_FAILURE_ONLY", "true"), "SMS_ON_FAILURE_ONLY"),
    }


def _list(
    env: Mapping[str, str], name: str, valid: re.Pattern[str] | Callable[[str], bool], what: str
) -> tuple[str, ...]:
    items = tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())
    check = valid if callable(valid) else (lambda item: bool(valid.match(item)))
    for item in items:
        if not check(item):
            raise ConfigError(f"{name} must be a comma-separated list of {what}, got {item[:100]!r}")
    return tuple(dict.fromkeys(items))


def _endpoint(env: Mapping[str, str], name: str, *, placeholder: bool = False) -> str:
    """An API endpoint override: a host (https is implied) or a URL, checked like every URL.

    ``placeholder``: ``{region}`` may stand where the region goes (VERTEX_API_ENDPOINT),
    and nothing else may; the host is checked with a region in its place.
    """
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return ""
    bare = value.replace("{region}", "") if placeholder else value
    if "{" in bare or "}" in bare:
        raise ConfigError(f"{name} may only use the {{region}} placeholder, got {value[:100]!r}")
    sample = value.replace("{region}", "us-central1")
    if "://" not in sample:
        if not re.fullmatch(r"[A-Za-z0-9.-]{1,253}(?::\d{1,5})?", sample):
            raise ConfigError(
                f"{name} must be a host such as example.googleapis.com or a URL, got {value[:100]!r}"
            )
        return value if placeholder else "https://" + value
    checked_url(name, sample)
    return value


def _scope(env: Mapping[str, str], project: str, region: str) -> Scope:
    """ALLOWED_PROJECTS and ALLOWED_REGIONS, defaulting to the function's own project and region."""
    projects = _list(env, "ALLOWED_PROJECTS", is_project, "project ids or numbers") or (
        (project,) if project else ()
    )
    regions = _list(env, "ALLOWED_REGIONS", is_region, "regions like us-central1") or (
        (region,) if region else ()
    )
    if not projects:
        raise ConfigError(
            "ALLOWED_PROJECTS is required (or GOOGLE_CLOUD_PROJECT): the project ids and numbers "
            "whose pipelines the notifier reports"
        )
    if not regions:
        raise ConfigError(
            "ALLOWED_REGIONS is required (or GCP_REGION): the regions whose pipelines it reports"
        )
    return Scope(frozenset(projects), frozenset(regions))


def _sweep_settings(env: Mapping[str, str], scope: Scope, project: str) -> dict[str, Any]:
    """The sweep's projects and regions (within the scope), its topic and its interval."""
    ids = sorted(p for p in scope.projects if is_project_id(p)) or sorted(scope.projects)
    default_projects = (project,) if project in scope.projects else tuple(ids)
    projects = _list(env, "SWEEP_PROJECTS", is_project, "project ids or numbers") or default_projects
    regions = _list(env, "SWEEP_REGIONS", is_region, "regions like us-central1") or tuple(
        sorted(scope.regions)
    )
    for name, values, allowed, bound in (
        ("SWEEP_PROJECTS", projects, scope.projects, "ALLOWED_PROJECTS"),
        ("SWEEP_REGIONS", regions, scope.regions, "ALLOWED_REGIONS"),
    ):
        outside = [value for value in values if value not in allowed]
        if outside:
            raise ConfigError(f"{name} names {', '.join(outside)}, outside {bound}")
    topic = env.get("SWEEP_TOPIC", "").strip()
    if topic and not _TOPIC_RE.match(topic):
        raise ConfigError(
            f"SWEEP_TOPIC must be a topic's full name, projects/P/topics/T, got {topic[:100]!r}"
        )
    return {
        "sweep_projects": projects,
        "sweep_regions": regions,
        "sweep_after_hours": _number(env, "SWEEP_AFTER_HOURS", 12.0, *STUCK_HOURS_RANGE),
        "sweep_topic": topic,
        "sweep_min_interval_minutes": _number(env, "SWEEP_MIN_INTERVAL_MINUTES", 10.0, 1.0, 1440.0),
    }


@dataclass(frozen=True)
class Config:
    """Everything the notifier reads from its environment, validated."""

    slack_bot_token: str = field(repr=False)
    slack_channel_id: str = ""
    on_failure_only: bool = False
    slack_mention_on_failure: str = ""
    gcp_region: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_max_per_second: float = 1.0
    slack_hold_seconds: float = 25.0
    max_delivery_attempts: int = 0  # 0: unknown, no delivery is treated as the last
    threads: int = 0  # 0: unknown (functions-framework's own default), no waiting cap
    vertex_api_endpoint: str = ""
    vertex_timeout_seconds: float = 10.0
    logging_api_endpoint: str = ""
    logging_timeout_seconds: float = 5.0
    read_task_logs: bool = True
    log_level: str = "INFO"
    structured_logs: bool = False
    project: str = ""
    dedup_collection: str = ""
    firestore_database: str = "(default)"
    dedup_lease_seconds: float = 120.0
    dedup_ttl_days: float = 7.0
    routes: tuple[RouteRule, ...] = ()
    allowed_projects: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()
    sweep_regions: tuple[str, ...] = ()
    sweep_projects: tuple[str, ...] = ()
    sweep_after_hours: float = 12.0
    sweep_topic: str = ""
    sweep_min_interval_minutes: float = 10.0
    slack_threads: bool = False
    notify_on_recovery: bool = True
    streak_expiry_days: float = 14.0
    streaks_collection: str = DEFAULT_STREAKS_COLLECTION
    google_chat_webhooks: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    google_chat_spaces: tuple[str, ...] = ()
    google_chat_max_per_minute: float = 60.0
    twilio_account_sid: str = field(default="", repr=False)
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from: str = ""
    twilio_api_url: str = ""
    sms_to: tuple[str, ...] = ()
    sms_on_failure_only: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Build the configuration; a missing or malformed value raises ConfigError naming it."""
        token = env.get("SLACK_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("SLACK_BOT_TOKEN is required (a Slack bot token, xoxb-…)")
        # Never echo the value: it is a secret, and a malformed one may still be close to real.
        if not token.startswith("xox") or any(c.isspace() for c in token):
            raise ConfigError("SLACK_BOT_TOKEN does not look like a Slack token (expected xoxb-…)")

        channel = env.get("SLACK_CHANNEL_ID", "").strip()
        if channel and not is_valid_channel(channel):
            raise ConfigError(f"SLACK_CHANNEL_ID must be a channel id like C0123ABCD, got {channel!r}")

        mention = env.get("SLACK_MENTION_ON_FAILURE", "").strip()
        if mention and not is_valid_mention(mention):
            raise ConfigError(
                "SLACK_MENTION_ON_FAILURE must be Slack mention syntax such as "
                f"<!subteam^S0123> or <@U0123>, got {mention!r}"
            )

        region = env.get("GCP_REGION", "").strip()
        if region and not is_valid_region(region):
            raise ConfigError(f"GCP_REGION must be a region like us-central1, got {region!r}")

        api_url = checked_url("SLACK_API_URL", env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL)
        if not api_url.endswith("/"):
            api_url += "/"

        endpoint = _endpoint(env, "VERTEX_API_ENDPOINT", placeholder=True)
        logging_endpoint = _endpoint(env, "LOGGING_API_ENDPOINT")

        log_level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
        if log_level not in _LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {log_level!r}")

        log_format = env.get("LOG_FORMAT", "").strip().lower()
        if log_format not in {"", "json", "text"}:
            raise ConfigError(f"LOG_FORMAT must be json or text, got {log_format!r}")
        # Cloud Run (and so Cloud Functions 2nd gen) sets K_SERVICE: log JSON there by default.
        structured = log_format == "json" or (not log_format and bool(env.get("K_SERVICE")))

        collection = _collection(env, "DEDUP_COLLECTION")

        # Threads keep their state beside the claims: on by default wherever those are.
        threads = _flag(env, "SLACK_THREADS", bool(collection))
        if threads and not collection:
            raise ConfigError(
                "SLACK_THREADS needs de-duplication: set DEDUP_COLLECTION "
                "(threads keep their state in the same Firestore database)"
            )
        streaks = _collection(env, "STREAKS_COLLECTION", DEFAULT_STREAKS_COLLECTION)
        if threads and streaks == collection:
            raise ConfigError(f"STREAKS_COLLECTION must differ from DEDUP_COLLECTION, both are {streaks!r}")

        routes = parse_routes(env.get("SLACK_ROUTES", ""))
        destinations = _destination_settings(env, routes)

        project = env.get("GOOGLE_CLOUD_PROJECT", "").strip()
        if project and not is_project_id(project):
            raise ConfigError(f"GOOGLE_CLOUD_PROJECT must be a project id, got {project[:100]!r}")
        scope = _scope(env, project, region)
        sweep = _sweep_settings(env, scope, project)

        per_second = _number(env, "SLACK_MAX_PER_SECOND", 1.0, 0.0, 1000.0)
        workers = _whole(env, "WORKERS", 1, 1, 64)
        if per_second and workers != 1:
            # Each gunicorn worker is a process with its own pacer: two would double a channel's rate.
            raise ConfigError(
                f"WORKERS must be 1 while SLACK_MAX_PER_SECOND paces posts (the pacer lives in one "
                f"process), got {workers}"
            )
        attempts = _whole(env, "MAX_DELIVERY_ATTEMPTS", 0, 0, 100)
        if attempts and attempts < 5:
            raise ConfigError(f"MAX_DELIVERY_ATTEMPTS must be 0 (unknown) or 5-100, got {attempts}")

        return cls(
            slack_bot_token=token,
            slack_channel_id=channel,
            on_failure_only=_flag(env, "ON_FAILURE_ONLY", False),
            slack_mention_on_failure=mention,
            gcp_region=region,
            slack_api_url=api_url,
            slack_max_per_second=per_second,
            slack_hold_seconds=_number(env, "SLACK_HOLD_SECONDS", 25.0, 0.0, 270.0),
            max_delivery_attempts=attempts,
            threads=_whole(env, "THREADS", 0, 1, 1000),
            vertex_api_endpoint=endpoint,
            vertex_timeout_seconds=_number(env, "VERTEX_TIMEOUT_SECONDS", 10.0, 0.1, 120.0),
            logging_api_endpoint=logging_endpoint,
            logging_timeout_seconds=_number(env, "LOGGING_TIMEOUT_SECONDS", 5.0, 0.1, 60.0),
            read_task_logs=_flag(env, "READ_TASK_LOGS", True),
            log_level=log_level,
            structured_logs=structured,
            project=project,
            dedup_collection=collection,
            firestore_database=env.get("FIRESTORE_DATABASE", "").strip() or "(default)",
            dedup_lease_seconds=_number(env, "DEDUP_LEASE_SECONDS", 120.0, 1.0, 3600.0),
            dedup_ttl_days=_number(env, "DEDUP_TTL_DAYS", 7.0, 0.01, 365.0),
            routes=routes,
            allowed_projects=tuple(sorted(scope.projects)),
            allowed_regions=tuple(sorted(scope.regions)),
            **sweep,
            slack_threads=threads,
            notify_on_recovery=_flag(env, "NOTIFY_ON_RECOVERY", True),
            streak_expiry_days=_number(env, "STREAK_EXPIRY_DAYS", 14.0, 0.01, 365.0),
            streaks_collection=streaks,
            **destinations,
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the log filter to redact: the tokens and each webhook URL's query."""
        values = [self.slack_bot_token, self.twilio_account_sid, self.twilio_auth_token]
        for _, url in self.google_chat_webhooks:
            values.append(url)
            values.extend(part.split("=", 1)[-1] for part in url.split("?", 1)[-1].split("&"))
        return tuple(v for v in values if len(v) >= 8)

    @property
    def scope(self) -> Scope:
        """The projects and regions the notifier may act on (ALLOWED_PROJECTS, ALLOWED_REGIONS)."""
        return Scope(frozenset(self.allowed_projects), frozenset(self.allowed_regions))

    def vertex_endpoint_for(self, region: Region) -> str:
        """The Vertex AI API endpoint serving ``region`` (a checked ``Region``, in scope)."""
        if region not in self.allowed_regions:
            raise ValueError(f"region {region} is outside ALLOWED_REGIONS")
        return vertex_endpoint(region, self.vertex_api_endpoint)
