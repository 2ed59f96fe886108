"""Every setting the function reads, declared once: name, group, type and check, default, help.

``SETTINGS`` is the one table. From it come the typed, grouped configuration
(``config.Config``: ``config.slack``, ``config.chat``, ``config.sms``, ``config.state``,
``config.sweep``, …), the reading of the environment (``read``), the list of variables the
local stack scrubs (``ENV_VARS``), the secrets the log filter redacts (``SECRETS``), the
docs' settings reference (``markdown``, kept in ``docs/configuration.md`` by a test) and the
cross-check of Terraform's variables (``tests/terraform``).

An empty value means "not set": the default applies (``SMS_ON_FAILURE_ONLY=""`` is not
false). A malformed value raises ConfigError naming the variable, never echoing a secret.
Checks between settings (a route naming an undefined webhook, threads without
de-duplication, …) are the config groups' (``config``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from notifier.actions.commands import GRANTS, OPT_IN
from notifier.errors import ConfigError
from notifier.names import (
    is_e164,
    is_project,
    is_project_id,
    is_region,
    is_service_account,
    is_slack_user,
    is_slack_user_group,
    is_valid_channel,
    is_valid_mention,
    is_webhook_name,
)
from notifier.rules import SEVERITIES, STUCK_HOURS_RANGE, config_json, parse_routes

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
# A Pub/Sub topic's full name (SWEEP_TOPIC), as a CloudEvent's source names it.
_TOPIC_RE = re.compile(r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/[A-Za-z][A-Za-z0-9._~+%-]{2,254}")
# A Firestore collection id: no path, not reserved (ids matching __.*__ are Firestore's).
_COLLECTION_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
_HOST_RE = re.compile(r"[A-Za-z0-9.-]{1,253}(?::\d{1,5})?")
# https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…, or a local stand-in.
_WEBHOOK_URL_RE = re.compile(
    r"(?:https://chat\.googleapis\.com|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?)"
    r"/v1/spaces/[A-Za-z0-9_-]+/messages\?\S+"
)
# A Teams Workflows trigger URL (Logic Apps or Power Platform form, the "sig" query its
# credential), or a local stand-in's.
_TEAMS_URL_RE = re.compile(
    r"(?:https://[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,4}\.(?:logic\.azure\.com|logic\.azure\.us|api\.powerplatform\.com)"
    r"(?::443)?|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?)"
    r"(?:/powerautomate/automations/direct)?/workflows/[0-9a-fA-F]{32}/triggers/manual/paths/invoke\?\S+"
)
# A PagerDuty Events API v2 routing (integration) key.
_ROUTING_KEY_RE = re.compile(r"[A-Za-z0-9]{32}")
# A Slack workspace's own address (where message permalinks live).
_SLACK_WORKSPACE_RE = re.compile(r"https://[a-z0-9][a-z0-9-]{0,62}(?:\.enterprise)?\.slack\.com")
DEFAULT_PAGERDUTY_API_URL = "https://events.pagerduty.com"
_TWILIO_SID_RE = re.compile(r"AC[0-9a-f]{32}")
# A sender: an E.164 number, or a Messaging Service SID.
_TWILIO_FROM_RE = re.compile(r"\+[1-9]\d{6,14}|MG[0-9a-f]{32}")
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


def parse_bool(value: str, name: str) -> bool:
    """A boolean setting; anything unrecognised fails naming ``name``."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {value[:40]!r}")


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
    if (url.startswith("https://") and len(url) > len("https://")) or is_loopback_url(url):
        return url
    raise ConfigError(f"{name} must be an https:// URL (http:// only to 127.0.0.1 or localhost){shown}")


# --- the kinds of value ------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """How a setting's text becomes its value: ``parse(text, name)``; ``shown`` for the docs."""

    shown: str
    parse: Callable[[str, str], Any]


def text(check: Callable[[str], bool] | None = None, what: str = "text", *, secret: bool = False) -> Kind:
    """Text, checked by ``check`` (described as ``what``); a secret is never echoed."""

    def parse(value: str, name: str) -> str:
        if check is not None and not check(value):
            got = "" if secret else f", got {value[:100]!r}"
            raise ConfigError(f"{name} must be {what}{got}")
        return value

    return Kind(what, parse)


def choice(*values: str) -> Kind:
    """One of ``values`` (case-insensitive, stored as given here)."""

    def parse(value: str, name: str) -> str:
        for option in values:
            if value.lower() == option.lower():
                return option
        raise ConfigError(f"{name} must be one of {', '.join(values)}, got {value[:40]!r}")

    return Kind(" / ".join(f"`{v}`" for v in values), parse)


def flag() -> Kind:
    """``true`` or ``false`` (also 1/0, yes/no, on/off)."""
    return Kind("true / false", parse_bool)


def number(low: float, high: float, *, whole: bool = False, zero: bool = False) -> Kind:
    """A number from ``low`` to ``high``; ``whole``: an integer; ``zero``: 0 is allowed too."""

    def parse(value: str, name: str) -> float | int:
        try:
            result = float(value)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {value[:40]!r}") from None
        if not (low <= result <= high or (zero and result == 0)):
            allowed = f"0 or {low:g}-{high:g}" if zero else f"between {low:g} and {high:g}"
            raise ConfigError(f"{name} must be {allowed}, got {value[:40]!r}")
        if whole:
            if result != int(result):
                raise ConfigError(f"{name} must be a whole number, got {value[:40]!r}")
            return int(result)
        return result

    kind = "whole number" if whole else "number"
    return Kind(f"{kind}, {'0 or ' if zero else ''}{low:g} to {high:g}", parse)


def items(check: Callable[[str], bool], what: str) -> Kind:
    """A comma-separated list, each item checked; repeats dropped, order kept."""

    def parse(value: str, name: str) -> tuple[str, ...]:
        found = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
        for item in found:
            if not check(item):
                raise ConfigError(f"{name} must be a comma-separated list of {what}, got {item[:100]!r}")
        return found

    return Kind(f"comma-separated {what}", parse)


def url(*, slash: bool = False) -> Kind:
    """An https URL, or http to loopback (a local stand-in); ``slash``: ending in ``/`` (a base URL)."""

    def parse(value: str, name: str) -> str:
        value = checked_url(name, value)
        return value if not slash or value.endswith("/") else value + "/"

    return Kind("https URL (http to loopback)", parse)


def endpoint(*, placeholder: bool = False) -> Kind:
    """An API endpoint: a host (https implied) or a URL checked like ``url``.

    ``placeholder``: ``{region}`` may stand where the region goes, and nothing else may.
    """

    def parse(value: str, name: str) -> str:
        value = value.rstrip("/")
        bare = value.replace("{region}", "") if placeholder else value
        if "{" in bare or "}" in bare:
            raise ConfigError(f"{name} may only use the {{region}} placeholder, got {value[:100]!r}")
        sample = value.replace("{region}", "us-central1")
        if "://" not in sample:
            if not _HOST_RE.fullmatch(sample):
                raise ConfigError(
                    f"{name} must be a host such as example.googleapis.com or a URL, got {value[:100]!r}"
                )
            return value if placeholder else "https://" + value
        checked_url(name, sample)
        return value

    return Kind("host or https URL" + (" (may hold `{region}`)" if placeholder else ""), parse)


def collection() -> Kind:
    """A Firestore collection id: letters, digits, ``_`` and ``-``, not starting with ``__``."""

    def parse(value: str, name: str) -> str:
        if not _COLLECTION_RE.fullmatch(value) or value.startswith("__"):
            raise ConfigError(f"{name} must be a plain collection name (no /, not __…), got {value[:100]!r}")
        return value

    return Kind("Firestore collection id", parse)


def named_secrets(check: Callable[[str], bool], what: str, noun: str = "webhook", label: str = "URL") -> Kind:
    """A JSON object of name -> secret value (a webhook URL, a routing key), each value ``check``ed.

    Errors name the entry, never its value: the value is the credential.
    """

    def parse(value: str, name: str) -> tuple[tuple[str, str], ...]:
        document = config_json(value, name)
        if document is None:
            return ()
        if not isinstance(document, dict) or not document:
            raise ConfigError(f"{name} must be a JSON object of {noun} name -> {label}")
        for key, secret in document.items():
            if not is_webhook_name(key):
                raise ConfigError(
                    f"{name}: {key[:70]!r} is not a {noun} name (lowercase letters, digits, _ and -)"
                )
            if not isinstance(secret, str) or not check(secret):
                raise ConfigError(f"{name}: the {label} of {key!r} is not {what}")
        return tuple(sorted(document.items()))

    return Kind(f"JSON object: name → {what.split(' (')[0]}", parse)


def webhooks() -> Kind:
    """A JSON object of webhook name -> Google Chat incoming-webhook URL (a secret)."""
    return named_secrets(
        _WEBHOOK_URL_RE.fullmatch,
        "a Google Chat incoming webhook (https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…)",
    )


def routes() -> Kind:
    """The routing table, see ``rules``."""
    return Kind("JSON list of rules", lambda value, name: parse_routes(value, name))


def _slack_token(value: str) -> bool:
    return value.startswith("xox") and not any(c.isspace() for c in value)


def _no_space(value: str) -> bool:
    return not any(c.isspace() for c in value)


def _signing_secret(value: str) -> bool:
    return 16 <= len(value) <= 256 and _no_space(value)


def _grant(is_id: Callable[[str], bool]) -> Callable[[str], bool]:
    """An id (every action), or ``action:id`` for one action (ack, mute, cancel, retry)."""

    def check(value: str) -> bool:
        action, _, ident = value.rpartition(":")
        return (not action or action in GRANTS) and is_id(ident)

    return check


def _sweep_projects(values: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, ...]:
    """The function's own project when it is allowed, else every allowed project id (or number)."""
    project, allowed = values["GOOGLE_CLOUD_PROJECT"], values["ALLOWED_PROJECTS"]
    if project in allowed:
        return (project,)
    return tuple(p for p in allowed if is_project_id(p)) or tuple(allowed)


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One environment variable: where it goes (``group``.``field``), its kind, default and help.

    ``default`` applies when the variable is unset or empty; ``default_from`` names another
    setting whose value is the default instead; ``derive`` computes a default from the other
    values (and ``shown_default`` says it for the docs). ``aliases`` are older names still read.
    """

    name: str
    group: str
    field: str
    kind: Kind
    default: Any
    help: str
    default_from: str = ""
    derive: Callable[[Mapping[str, Any], Mapping[str, str]], Any] | None = None
    shown_default: str = ""
    secret: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def default_text(self) -> str:
        """The default as the docs show it."""
        if self.shown_default:
            return self.shown_default
        if self.default_from:
            return f"`{self.default_from}`"
        if self.default in ("", ()):
            return "unset"
        if isinstance(self.default, bool):
            return f"`{str(self.default).lower()}`"
        return f"`{self.default:g}`" if isinstance(self.default, float) else f"`{self.default}`"


S = Setting
SETTINGS: tuple[Setting, ...] = (
    # Where the function runs, and how.
    S("GOOGLE_CLOUD_PROJECT", "runtime", "project", text(is_project_id, "a project id"), "",
      "The function's project: the default of `ALLOWED_PROJECTS` and the Firestore database's project."),
    S("GCP_REGION", "runtime", "region", text(is_region, "a region like us-central1"), "",
      "The function's region: the default of `ALLOWED_REGIONS`."),
    S("LOG_LEVEL", "runtime", "log_level", choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO",
      "How much the function logs."),
    S("LOG_FORMAT", "runtime", "log_format", choice("json", "text"), "",
      "`json` (Cloud Logging structured lines) or `text`.",
      derive=lambda values, env: "json" if env.get("K_SERVICE") else "text",
      shown_default="`json` on Cloud Run (`K_SERVICE` set), else `text`"),
    S("THREADS", "runtime", "threads", number(1, 1000, whole=True), 0,
      "gunicorn's threads (the request concurrency), read by functions-framework; the pacers "
      "size their waiting cap from it.", shown_default="functions-framework's"),
    S("WORKERS", "runtime", "workers", number(1, 64, whole=True), 1,
      "gunicorn's processes; must be 1 while any destination paces its posts (a pacer lives in one process)."),
    S("MAX_DELIVERY_ATTEMPTS", "runtime", "max_delivery_attempts", number(5, 100, whole=True, zero=True), 0,
      "The push subscription's dead-letter limit: a delivery whose `deliveryAttempt` reaches it waits for "
      "its channel (up to twice the hold) instead of being handed back. `0`: unknown.",
      shown_default="`0` (unknown)"),
    # What the function may act on.
    S("ALLOWED_PROJECTS", "scope", "projects", items(is_project, "project ids or numbers"), (),
      "Project ids **and numbers** whose runs the function acts on (job names carry the number, so list "
      "both); a run in another project is refused before any request. Required (or its default).",
      default_from="GOOGLE_CLOUD_PROJECT"),
    S("ALLOWED_REGIONS", "scope", "regions", items(is_region, "regions like us-central1"), (),
      "Regions whose runs the function acts on; Vertex AI endpoints are only built for these. "
      "Required (or its default).", default_from="GCP_REGION"),
    # How it decides where a run goes.
    S("ROUTES", "routing", "routes", routes(), (),
      "The routing table: a JSON list of rules, see [Routing by labels](no-run-unnoticed.md#routing-by-labels). "
      "A malformed table stops the function at start-up naming the rule.", aliases=("SLACK_ROUTES",)),
    S("ON_FAILURE_ONLY", "routing", "on_failure_only", flag(), False,
      "Skip SUCCEEDED runs. FAILED, CANCELLED and unknown states are always sent; so is a failing "
      "streak's recovery notice (`NOTIFY_ON_RECOVERY`)."),
    S("NOTIFY_NOT_BLESSED", "routing", "notify_not_blessed", flag(), True,
      "Send a success whose model was NOT blessed (TFX's Evaluator or InfraValidator refused it) even "
      "under `on_failure_only`: a warning worth reading. See [What the messages look like](messages.md#model-results)."),
    # Vertex AI and Cloud Logging.
    S("VERTEX_API_ENDPOINT", "vertex", "endpoint", endpoint(placeholder=True), "",
      "Vertex AI endpoint; may contain `{region}` (only a checked region is put there). https, or plain "
      "http to loopback (a local stand-in, called without credentials).",
      shown_default="`{region}-aiplatform.googleapis.com`"),
    S("VERTEX_TIMEOUT_SECONDS", "vertex", "timeout_seconds", number(0.1, 120), 10.0,
      "Budget for enrichment: the Vertex AI call, retries included; the failed tasks' log reads get what it leaves."),
    S("LOGGING_API_ENDPOINT", "task_logs", "endpoint", endpoint(), "",
      "Cloud Logging endpoint (a host, or a URL). https, or plain http to loopback.",
      shown_default="`https://logging.googleapis.com`"),
    S("LOGGING_TIMEOUT_SECONDS", "task_logs", "timeout_seconds", number(0.1, 60), 5.0,
      "The longest the failed tasks' log reads may take, together and per request, within the enrichment budget."),
    S("READ_TASK_LOGS", "task_logs", "enabled", flag(), True,
      "Read failed tasks' log lines into failure messages; `false` keeps only the *View logs* links."),
    # State in Firestore.
    S("DEDUP_COLLECTION", "state", "collection", collection(), "",
      "Firestore collection for de-duplication claims (and the sweep's interval); unset switches "
      "de-duplication off.", shown_default="unset (off)"),
    S("FIRESTORE_DATABASE", "state", "database", text(_no_space, "a database id"), "(default)",
      "Firestore database id."),
    S("DEDUP_LEASE_SECONDS", "state", "lease_seconds", number(1, 3600), 120.0,
      "How long a `pending` claim blocks other deliveries; keep it ≥ the function timeout."),
    S("DEDUP_TTL_DAYS", "state", "ttl_days", number(0.01, 365), 7.0,
      "Claims carry `expires_at` = now + this, for the Firestore TTL policy."),
    S("STREAKS_COLLECTION", "state", "streaks_collection", collection(), "notifier_streaks",
      "Firestore collection of the streak documents (one per pipeline and channel); not `DEDUP_COLLECTION`."),
    # Slack.
    S("SLACK_BOT_TOKEN", "slack", "token", text(_slack_token, "a Slack bot token (xoxb-…)", secret=True), "",
      "Bot token (scope `chat:write`); Slack is on when it is set. In production a Secret Manager secret; "
      "never logged.", secret=True, shown_default="unset (no Slack)"),
    S("SLACK_CHANNEL_ID", "slack", "channel", text(is_valid_channel, "a channel id like C0123ABCD"), "",
      "Default channel: where runs go that neither the pipeline's exit handler nor a rule sends elsewhere, "
      "and where notices Vertex AI could not confirm go."),
    S("SLACK_MENTION_ON_FAILURE", "slack", "mention", text(is_valid_mention, "Slack mention syntax such as <!subteam^S0123> or <@U0123>"), "",
      "Mention on FAILED only, e.g. `<!subteam^S0123>` or `<@U0123>`."),
    S("SLACK_API_URL", "slack", "api_url", url(slash=True), DEFAULT_SLACK_API_URL,
      "Slack Web API base URL; tests and the sandbox point it at a stand-in."),
    S("SLACK_MAX_PER_SECOND", "slack", "max_per_second", number(0, 1000), 1.0,
      "Slack's per-channel limit. Posts to a channel are queued across the instance's threads and spaced "
      "10% wider; a 429 moves the channel's queue back by `Retry-After`. `0` turns pacing off. See [Topology](topology.md)."),
    S("SLACK_HOLD_SECONDS", "slack", "hold_seconds", number(0, 270), 25.0,
      "The longest queue for its channel a request may wait in; a longer one hands the message back to "
      "Pub/Sub (HTTP 429) before any other work. At most three quarters of `THREADS` may wait longer than two posts. "
      "Despite its name it bounds every destination's queue (a Chat space, a Teams webhook, a PagerDuty service), "
      "because it is tied to the function's timeout."),
    S("SLACK_THREADS", "slack", "threads", flag(), False,
      "One thread per failing streak, see [One thread per failing streak](threads.md); needs `DEDUP_COLLECTION`.",
      derive=lambda values, env: bool(values["DEDUP_COLLECTION"]),
      shown_default="on with `DEDUP_COLLECTION`, else off"),
    S("NOTIFY_ON_RECOVERY", "slack", "notify_on_recovery", flag(), True,
      "Send a streak's recovery notice even under `on_failure_only`."),
    S("STREAK_EXPIRY_DAYS", "slack", "streak_expiry_days", number(0.01, 365), 14.0,
      "A streak's root older than this is left alone; the next message of the streak starts a new root."),
    S("SLACK_WORKSPACE_URL", "slack", "workspace_url", text(_SLACK_WORKSPACE_RE.fullmatch, "a workspace address like https://acme.slack.com"), "",
      "The workspace's address (`https://acme.slack.com`): with it, a PagerDuty incident links to its streak's Slack thread."),
    # Google Chat.
    S("GOOGLE_CHAT_WEBHOOKS", "chat", "webhooks", webhooks(), (),
      "Secret: a JSON object of webhook name → Google Chat incoming-webhook URL; Chat is on when it is "
      "set. Never logged. See [Destinations](destinations.md).", secret=True),
    S("GOOGLE_CHAT_SPACES", "chat", "spaces", items(is_webhook_name, "webhook names"), (),
      "Webhook names that get every run no rule routes elsewhere."),
    S("GOOGLE_CHAT_MAX_PER_MINUTE", "chat", "max_per_minute", number(1, 600), 60.0,
      "Chat's per-space write quota the posts are paced to; a 429 hands the message back like Slack's."),
    # SMS through Twilio.
    S("TWILIO_ACCOUNT_SID", "sms", "account_sid", text(_TWILIO_SID_RE.fullmatch, "AC followed by 32 hex digits", secret=True), "",
      "Secret: Twilio's account SID; SMS is on when it is set. Never logged.", secret=True),
    S("TWILIO_AUTH_TOKEN", "sms", "auth_token", text(_no_space, "Twilio's auth token", secret=True), "",
      "Secret: Twilio's auth token, required with the SID. Never logged.", secret=True),
    S("TWILIO_FROM", "sms", "sender", text(_TWILIO_FROM_RE.fullmatch, "an E.164 number or a Messaging Service SID (MG…)"), "",
      "The SMS sender: an E.164 number or a Messaging Service SID (`MG…`)."),
    S("TWILIO_API_URL", "sms", "api_url", url(), "",
      "Base URL of Twilio's API; tests and the sandbox point it at a stand-in.", shown_default="Twilio's"),
    S("SMS_TO", "sms", "to", items(is_e164, "E.164 numbers like +15551234567"), (),
      "Numbers that get an SMS for every run no rule routes elsewhere."),
    S("SMS_ON_FAILURE_ONLY", "sms", "on_failure_only", flag(), True,
      "Text only FAILED runs; `false`: every state a route would post."),
    # PagerDuty (Events API v2).
    S("PAGERDUTY_ROUTING_KEYS", "pagerduty", "routing_keys", named_secrets(_ROUTING_KEY_RE.fullmatch, "an Events API v2 routing key (32 letters and digits)", "service", "routing key"), (),
      "Secret: a JSON object of service name → PagerDuty Events API v2 routing (integration) key; PagerDuty "
      "is on when it is set. Never logged. See [PagerDuty](pagerduty.md).", secret=True),
    S("PAGERDUTY_SERVICES", "pagerduty", "services", items(is_webhook_name, "service names"), (),
      "Service names (keys of `PAGERDUTY_ROUTING_KEYS`) paged for every run no rule routes elsewhere."),
    S("PAGERDUTY_SEVERITY", "pagerduty", "severity", choice(*SEVERITIES), "error",
      "An incident's severity when the run's rule sets no `severity`."),
    S("PAGERDUTY_API_URL", "pagerduty", "api_url", url(), DEFAULT_PAGERDUTY_API_URL,
      "Base URL of the Events API (`/v2/enqueue` is added); tests and the sandbox point it at a stand-in."),
    S("PAGERDUTY_MAX_PER_MINUTE", "pagerduty", "max_per_minute", number(1, 600), 100.0,
      "Events per minute per routing key the posts are paced to (PagerDuty allows about 120); a 429 hands the message back."),
    # Microsoft Teams (Workflows webhooks).
    S("TEAMS_WEBHOOKS", "teams", "webhooks", named_secrets(_TEAMS_URL_RE.fullmatch, "a Teams Workflows webhook URL (https://….logic.azure.com:443/workflows/…/triggers/manual/paths/invoke?…&sig=…)"), (),
      "Secret: a JSON object of webhook name → Teams Workflows webhook URL (\"Post to a channel when a webhook "
      "request is received\"); Teams is on when it is set. Never logged. See [Microsoft Teams](teams.md).", secret=True),
    S("TEAMS_CHANNELS", "teams", "channels", items(is_webhook_name, "webhook names"), (),
      "Webhook names (keys of `TEAMS_WEBHOOKS`) that get every run no rule routes elsewhere."),
    S("TEAMS_MAX_PER_SECOND", "teams", "max_per_second", number(0.1, 4), 1.0,
      "Posts per second per workflow the posts are paced to (a workflow throttles above 4 a second); a 429 hands the message back."),
    # The sweep.
    S("SWEEP_PROJECTS", "sweep", "projects", items(is_project, "project ids or numbers"), (),
      "Projects the sweep lists runs in; must lie in `ALLOWED_PROJECTS`.", derive=_sweep_projects,
      shown_default="`GOOGLE_CLOUD_PROJECT`, else the ids in `ALLOWED_PROJECTS`"),
    S("SWEEP_REGIONS", "sweep", "regions", items(is_region, "regions like us-central1"), (),
      "Regions the sweep lists runs in; must lie in `ALLOWED_REGIONS`.", default_from="ALLOWED_REGIONS"),
    S("SWEEP_AFTER_HOURS", "sweep", "after_hours", number(*STUCK_HOURS_RANGE), 12.0,
      "A run that has not ended this many hours after it was created gets one \"still running\" warning "
      "(a rule's `stuck_after_hours` overrides it)."),
    S("SWEEP_TOPIC", "sweep", "topic", text(_TOPIC_RE.fullmatch, "a topic's full name, projects/P/topics/T"), "",
      "The sweep topic: `action=sweep` is honoured only from it.", shown_default="unset (sweeps off)"),
    S("SWEEP_MIN_INTERVAL_MINUTES", "sweep", "min_interval_minutes", number(1, 1440), 10.0,
      "At most one sweep per this many minutes (a Firestore claim with `DEDUP_COLLECTION`, else per instance)."),
    # Vertex AI Schedules, checked by each sweep.
    S("CHECK_SCHEDULES", "schedules", "enabled", flag(), True,
      "Each sweep also lists the Vertex AI Schedules in `SWEEP_PROJECTS` and `SWEEP_REGIONS` and warns "
      "of missed slots, failed run creations and schedules that ended, see "
      "[Schedules](no-run-unnoticed.md#schedules-that-miss-or-fail)."),
    S("SCHEDULE_GRACE_MINUTES", "schedules", "grace_minutes", number(1, 1440), 30.0,
      "How late an `ACTIVE` schedule's run may start before its slot counts as missed."),
    # Run history: every confirmed final run, "slower than usual", "later than usual" (docs/history.md).
    S("RUNS_COLLECTION", "history", "collection", collection(), "pipeline_runs",
      "Firestore collection of the run history (one document per run); history needs `DEDUP_COLLECTION` "
      "(the same database). See [Run history](history.md)."),
    S("RUN_HISTORY_DAYS", "history", "days", number(1, 3650, zero=True), 90.0,
      "Runs are kept this many days after they end (`expires_at`, for the TTL policy); `0` turns run "
      "history off, and with it the slow-run line and the history-based late threshold."),
    S("BASELINE_MIN_RUNS", "history", "min_runs", number(2, 1000, whole=True), 5,
      "Earlier successful, not fully cached runs a pipeline needs before its runs are compared with them."),
    S("BASELINE_RUNS", "history", "baseline_runs", number(2, 200, whole=True), 20,
      "How many of the latest such runs the median and p95 are taken over."),
    S("DURATION_FACTOR", "history", "factor", number(1.1, 100), 2.0,
      "A run is slower than usual when it takes more than this times the median of its pipeline's "
      "usual runs (and at least `DURATION_MIN_EXTRA` more); a running one is late past this times their p95."),
    S("DURATION_MIN_EXTRA", "history", "min_extra_minutes", number(0, 10080), 15.0,
      "Minutes a run must exceed its usual time by, at least, to be called slow or late (the floor)."),
    S("NOTIFY_SLOW_SUCCESS", "history", "notify_slow_success", flag(), True,
      "Post a slower-than-usual success even under `on_failure_only`."),
    # The weekly digest (docs/history.md#weekly-digest).
    S("DIGEST_ENABLED", "digest", "enabled", flag(), True,
      "A request with `action=digest` on `SWEEP_TOPIC` sends each Slack channel and Google Chat space "
      "that was sent runs in the period one digest of them; needs run history. See [Weekly digest](history.md#weekly-digest)."),
    S("DIGEST_DAYS", "digest", "days", number(1, 31), 7.0,
      "The period of a digest, in days, ending at the request's publish time floored to the hour "
      "(a request's `period_start` / `period_end` override it)."),
    S("DIGEST_MAX_PIPELINES", "digest", "max_pipelines", number(1, 500, whole=True), 50,
      "Pipelines one digest lists at most (those with failures first, then the busiest); the rest are counted."),
    # Acting from a message (see Acting from Slack).
    S("ACTIONS_TOPIC", "actions", "topic", text(_TOPIC_RE.fullmatch, "a topic's full name, projects/P/topics/T"), "",
      "The actions topic. Notifier: failure and \"still running\" messages get buttons, and clicks are honoured "
      "only from this topic; needs `SLACK_SIGNING_SECRET` and `DEDUP_COLLECTION`. Interactivity function: where "
      "it publishes each verified click. See [Acting from Slack](actions.md).", shown_default="unset (no buttons)"),
    S("SLACK_SIGNING_SECRET", "actions", "signing_secret", text(_signing_secret, "Slack's signing secret", secret=True), "",
      "Secret: the Slack app's signing secret; every click's signature is checked with it, by the "
      "interactivity function and again by the notifier. Never logged.", secret=True),
    S("ALLOW_ACTIONS", "actions", "allowed", items(OPT_IN.__contains__, "actions: cancel, retry"), (),
      "The opt-in actions: `cancel` (a running job) and `retry` (a failed one). Acknowledge and mute need no opt-in.",
      shown_default="unset (neither)"),
    S("ACTION_USERS", "actions", "users", items(_grant(is_slack_user), "Slack user ids, each optionally as action:U…"), (),
      "Who may act: Slack user ids (`U0123ABCD`: every action; `retry:U0123ABCD`: that action only; actions "
      "`ack`, `mute`, `cancel`, `retry`). An action no entry here or in `ACTION_USER_GROUPS` names: anyone "
      "in the channel for acknowledge and mute, no one for cancel and retry."),
    S("ACTION_USER_GROUPS", "actions", "user_groups", items(_grant(is_slack_user_group), "Slack user-group ids, each optionally as action:S…"), (),
      "Who may act, as `ACTION_USERS`, by Slack user group (`S0123ABCD`), resolved with "
      "`usergroups.users.list` (scope `usergroups:read`) and kept five minutes."),
    S("RETRY_SERVICE_ACCOUNTS", "actions", "retry_service_accounts", items(is_service_account, "service account emails"), (),
      "The only service accounts a retried run may run as (the failed run's own must be one of them); "
      "required with `ALLOW_ACTIONS=retry`."),
    S("MUTES_COLLECTION", "actions", "mutes_collection", collection(), "notifier_mutes",
      "Firestore collection of acknowledgements and mutes (one document per pipeline); not `DEDUP_COLLECTION` "
      "or `STREAKS_COLLECTION`."),
    S("PUBSUB_API_ENDPOINT", "actions", "pubsub_endpoint", endpoint(), "",
      "Pub/Sub endpoint the interactivity function publishes through (a host, or a URL). https, or plain http to "
      "loopback (the emulator, called without credentials).", shown_default="`https://pubsub.googleapis.com`"),
)  # fmt: skip
del S

BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}
# Every variable the function reads (aliases too): the local stack scrubs them from the
# developer's environment, Terraform's drift test checks against them.
ENV_VARS = frozenset(name for s in SETTINGS for name in (s.name, *s.aliases))
# Secret values: never logged, never in a repr (setup_logging redacts them everywhere).
SECRETS = frozenset(s.name for s in SETTINGS if s.secret)
GROUPS = tuple(dict.fromkeys(s.group for s in SETTINGS))


def _raw(env: Mapping[str, str], setting: Setting) -> str:
    for name in (setting.name, *setting.aliases):
        value = env.get(name, "").strip()
        if value:
            return value
    return ""


def read(env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting's value by name: parsed, checked, or its default when unset or empty.

    A ``default_from`` setting comes after the one it defaults to in ``SETTINGS``, and its
    default is checked as if it had been given.
    """
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = _raw(env, setting)
        if not raw and setting.default_from:
            source = values[setting.default_from]
            raw = ",".join(source) if isinstance(source, tuple) else str(source)
        if raw:
            values[setting.name] = setting.kind.parse(raw, setting.name)
        elif setting.derive is not None:
            values[setting.name] = setting.derive(values, env)
        else:
            values[setting.name] = setting.default
    return values


def grouped(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The values as ``{group: {field: value}}``."""
    groups: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
    for setting in SETTINGS:
        groups[setting.group][setting.field] = values[setting.name]
    return groups


def markdown() -> str:
    """The settings reference table for ``docs/configuration.md`` (one row per setting)."""
    rows = ["| variable | default | type | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        also = f" (also read as `{'`, `'.join(setting.aliases)}`)" if setting.aliases else ""
        rows.append(
            f"| `{setting.name}` | {setting.default_text} | {setting.kind.shown} | {setting.help}{also} |"
        )
    return "\n".join(rows) + "\n"
