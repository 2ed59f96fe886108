"""Configuration: built once from the environment; bad values fail naming the variable."""

from __future__ import annotations

import json
import re

import pytest

from notifier.config import Config
from notifier.errors import ConfigError
from notifier.names import Region
from notifier.settings import DEFAULT_SLACK_API_URL, ENV_VARS, SECRETS

TOKEN = "xoxb-123-456-abcdef"
SCOPE = {"ALLOWED_PROJECTS": "acme-ml-prod,271009669852", "ALLOWED_REGIONS": "us-central1,europe-west4"}


def test_defaults() -> None:
    config = Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN})
    assert config.slack.api_url == DEFAULT_SLACK_API_URL
    assert config.routing.on_failure_only is False
    assert config.slack.channel == ""
    assert config.runtime.structured_logs is False
    assert config.state.collection == ""
    assert config.vertex_endpoint_for(Region("europe-west4")) == "europe-west4-aiplatform.googleapis.com"
    assert config.task_logs.endpoint == ""  # the client's own https://logging.googleapis.com
    assert config.task_logs.timeout_seconds == 5.0
    assert config.task_logs.enabled is True


def test_all_values() -> None:
    config = Config.from_env(
        {
            **SCOPE,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_CHANNEL_ID": "C0123ABCD",
            "ON_FAILURE_ONLY": "TRUE",
            "SLACK_MENTION_ON_FAILURE": "<!subteam^S0123>",
            "GCP_REGION": "us-central1",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "VERTEX_API_ENDPOINT": "http://127.0.0.1:8",
            "VERTEX_TIMEOUT_SECONDS": "2.5",
            "LOG_LEVEL": "debug",
            "K_SERVICE": "notifier",
            "DEDUP_COLLECTION": "claims",
            "LOGGING_API_ENDPOINT": "http://127.0.0.1:7/",
            "LOGGING_TIMEOUT_SECONDS": "1.5",
            "READ_TASK_LOGS": "off",
        }
    )
    assert config.task_logs.endpoint == "http://127.0.0.1:7"
    assert config.task_logs.timeout_seconds == 1.5
    assert config.task_logs.enabled is False
    assert config.routing.on_failure_only is True
    assert config.slack.api_url == "http://127.0.0.1:9/api/"
    assert config.vertex_endpoint_for(Region("us-central1")) == "http://127.0.0.1:8"
    assert config.vertex.timeout_seconds == 2.5
    assert config.runtime.log_level == "DEBUG"
    assert config.runtime.structured_logs is True  # Cloud Run/Functions sets K_SERVICE


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "no destination: set SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "  "}, "no destination: set SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "not-a-token"}, "SLACK_BOT_TOKEN"),
        ({"ON_FAILURE_ONLY": "maybe"}, "ON_FAILURE_ONLY"),
        ({"SLACK_CHANNEL_ID": "general channel!"}, "SLACK_CHANNEL_ID"),
        ({"SLACK_MENTION_ON_FAILURE": "@here"}, "SLACK_MENTION_ON_FAILURE"),
        ({"GCP_REGION": "US Central"}, "GCP_REGION"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"VERTEX_TIMEOUT_SECONDS": "ten"}, "VERTEX_TIMEOUT_SECONDS"),
        ({"VERTEX_TIMEOUT_SECONDS": "0"}, "VERTEX_TIMEOUT_SECONDS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"LOGGING_API_ENDPOINT": "ftp://logs"}, "LOGGING_API_ENDPOINT"),
        ({"LOGGING_API_ENDPOINT": "logging googleapis com"}, "LOGGING_API_ENDPOINT"),
        ({"LOGGING_TIMEOUT_SECONDS": "0"}, "LOGGING_TIMEOUT_SECONDS"),
        ({"READ_TASK_LOGS": "sometimes"}, "READ_TASK_LOGS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"DEDUP_COLLECTION": "a/b"}, "DEDUP_COLLECTION"),
        ({"DEDUP_LEASE_SECONDS": "-1"}, "DEDUP_LEASE_SECONDS"),
        ({"SLACK_THREADS": "sometimes"}, "SLACK_THREADS"),
        ({"SLACK_THREADS": "true"}, "SLACK_THREADS needs de-duplication: set DEDUP_COLLECTION"),
        ({"NOTIFY_ON_RECOVERY": "2"}, "NOTIFY_ON_RECOVERY"),
        ({"STREAK_EXPIRY_DAYS": "0"}, "STREAK_EXPIRY_DAYS"),
        ({"STREAK_EXPIRY_DAYS": "a fortnight"}, "STREAK_EXPIRY_DAYS"),
        ({"DEDUP_COLLECTION": "c", "STREAKS_COLLECTION": "__x__"}, "STREAKS_COLLECTION"),
        ({"DEDUP_COLLECTION": "same", "STREAKS_COLLECTION": "same"}, "STREAKS_COLLECTION must differ"),
    ],
)
def test_bad_values_fail_naming_the_variable(env: dict[str, str], name: str) -> None:
    full = {**SCOPE, **env} if "SLACK_BOT_TOKEN" in name else {**SCOPE, "SLACK_BOT_TOKEN": TOKEN, **env}
    with pytest.raises(ConfigError, match=name):
        Config.from_env(full)


def test_topology_settings() -> None:
    config = Config.from_env(
        {**SCOPE, "SLACK_BOT_TOKEN": TOKEN, "THREADS": "80", "WORKERS": "1", "SLACK_HOLD_SECONDS": "25",
         "MAX_DELIVERY_ATTEMPTS": "100"}
    )  # fmt: skip
    assert (config.runtime.threads, config.slack.hold_seconds, config.runtime.max_delivery_attempts) == (
        80,
        25.0,
        100,
    )
    unset = Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN})
    assert (unset.runtime.threads, unset.runtime.max_delivery_attempts) == (
        0,
        0,
    )  # unknown: no cap, no last attempt


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"WORKERS": "2"}, "WORKERS"),  # two processes would pace a channel twice
        ({"THREADS": "8.5"}, "THREADS"),
        ({"THREADS": "0"}, "THREADS"),
        ({"MAX_DELIVERY_ATTEMPTS": "3"}, "MAX_DELIVERY_ATTEMPTS"),
        ({"SLACK_HOLD_SECONDS": "-1"}, "SLACK_HOLD_SECONDS"),
    ],
)
def test_bad_topology_settings_fail_naming_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN, **env})


def test_several_workers_are_fine_without_pacing() -> None:
    config = Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN, "WORKERS": "2", "SLACK_MAX_PER_SECOND": "0"})
    assert config.slack.max_per_second == 0


def test_token_never_in_error_or_repr() -> None:
    secret = "xoxb-secret value"
    with pytest.raises(ConfigError) as info:
        Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": secret})
    assert "secret" not in str(info.value)
    config = Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN})
    assert TOKEN not in repr(config)


def test_env_var_registry_covers_the_interface() -> None:
    documented = {
        "SLACK_BOT_TOKEN", "SLACK_CHANNEL_ID", "ON_FAILURE_ONLY", "SLACK_MENTION_ON_FAILURE",
        "GCP_REGION", "SLACK_API_URL", "VERTEX_API_ENDPOINT",
    }  # fmt: skip
    assert documented <= ENV_VARS
    assert {
        "SLACK_BOT_TOKEN", "GOOGLE_CHAT_WEBHOOKS", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
        "PAGERDUTY_ROUTING_KEYS", "TEAMS_WEBHOOKS",
    } == SECRETS  # fmt: skip


def test_config_is_frozen() -> None:
    config = Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN})
    with pytest.raises(AttributeError):
        config.slack = config.chat  # type: ignore[misc]
    with pytest.raises(AttributeError):
        config.slack.channel = "C1"  # type: ignore[misc]


def test_a_logging_host_implies_https() -> None:
    config = Config.from_env(
        {**SCOPE, "SLACK_BOT_TOKEN": TOKEN, "LOGGING_API_ENDPOINT": "logging.googleapis.com"}
    )
    assert config.task_logs.endpoint == "https://logging.googleapis.com"


def test_threads_are_on_wherever_de_duplication_is() -> None:
    plain = Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN})
    assert plain.slack.threads is False and plain.slack.notify_on_recovery is True
    deduped = Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": TOKEN, "DEDUP_COLLECTION": "claims"})
    assert deduped.slack.threads is True
    assert deduped.state.streaks_collection == "notifier_streaks" and deduped.slack.streak_expiry_days == 14.0
    off = Config.from_env(
        {**SCOPE, "SLACK_BOT_TOKEN": TOKEN, "DEDUP_COLLECTION": "claims", "SLACK_THREADS": "false"}
    )
    assert off.slack.threads is False
    tuned = Config.from_env(
        {
            **SCOPE,
            "SLACK_BOT_TOKEN": TOKEN,
            "DEDUP_COLLECTION": "claims",
            "NOTIFY_ON_RECOVERY": "off",
            "STREAK_EXPIRY_DAYS": "30",
            "STREAKS_COLLECTION": "team-streaks",
        }
    )
    assert (
        tuned.slack.notify_on_recovery,
        tuned.slack.streak_expiry_days,
        tuned.state.streaks_collection,
    ) == (
        False,
        30.0,
        "team-streaks",
    )


# --- Google Chat and SMS ------------------------------------------------------------------

WEBHOOK = "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=chat-key-0001&token=chat-token-0001"
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-0001",
    "TWILIO_FROM": "+15005550006",
}


def with_token(**env: str) -> Config:
    return Config.from_env({**SCOPE, "SLACK_BOT_TOKEN": "xoxb-1-2-3", **env})


def test_chat_webhooks_and_their_names() -> None:
    config = with_token(
        GOOGLE_CHAT_WEBHOOKS=json.dumps({"ml-alerts": WEBHOOK}), GOOGLE_CHAT_SPACES="ml-alerts"
    )
    assert config.chat.webhooks == (("ml-alerts", WEBHOOK),)
    assert config.chat.spaces == ("ml-alerts",)
    assert WEBHOOK not in repr(config) and "chat-token-0001" not in repr(config)
    assert {WEBHOOK, "chat-key-0001", "chat-token-0001"} <= set(config.secrets)


@pytest.mark.parametrize(
    ("env", "cause"),
    [
        ({"GOOGLE_CHAT_WEBHOOKS": "[]"}, "must be a JSON object of webhook name -> URL"),
        ({"GOOGLE_CHAT_WEBHOOKS": '{"ML": "x"}'}, "'ML' is not a webhook name"),
        (
            {"GOOGLE_CHAT_WEBHOOKS": '{"ml": "https://evil.example/v1/spaces/A/messages?key=k"}'},
            "the URL of 'ml'",
        ),
        (
            {"GOOGLE_CHAT_SPACES": "ml-alerts"},
            "GOOGLE_CHAT_SPACES names 'ml-alerts', which GOOGLE_CHAT_WEBHOOKS",
        ),
        ({"SLACK_ROUTES": '[{"google_chat": ["nope"]}]'}, "rule 1: google_chat names 'nope'"),
        ({"SLACK_ROUTES": '[{"sms": ["5551234"]}]'}, "sms must hold E.164 numbers"),
        ({"SLACK_ROUTES": '[{"match": {"pipeline": "x"}}]'}, "may be left out only when the rule names"),
        ({"SMS_TO": "+15551230001"}, "TWILIO_ACCOUNT_SID is required for SMS"),
        ({"SMS_TO": "+15551230001", **TWILIO, "TWILIO_FROM": "Acme"}, "TWILIO_FROM must be an E.164 number"),
        ({"SMS_TO": "15551230001"}, "SMS_TO must be a comma-separated list of E.164 numbers"),
        ({"SMS_ON_FAILURE_ONLY": "maybe"}, "SMS_ON_FAILURE_ONLY must be true or false"),
    ],
)
def test_destination_settings_fail_fast_naming_the_variable(env: dict[str, str], cause: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(cause)) as info:
        with_token(**env)
    assert "chat-token" not in str(info.value) and "twilio-auth-token" not in str(info.value)


def test_the_twilio_credentials_are_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        with_token(SMS_TO="+15551230001", TWILIO_ACCOUNT_SID="AC-secret-looking", TWILIO_AUTH_TOKEN="tok")
    assert "AC-secret-looking" not in str(info.value)
    config = with_token(SMS_TO="+15551230001", **TWILIO)
    assert TWILIO["TWILIO_AUTH_TOKEN"] not in repr(config) and config.sms.on_failure_only is True


def test_a_rule_may_send_by_sms_or_chat_alone() -> None:
    rules = json.dumps([{"match": {"pipeline": "etl-*"}, "sms": ["+15551230001"], "google_chat": ["ml"]}])
    config = with_token(SLACK_ROUTES=rules, GOOGLE_CHAT_WEBHOOKS=json.dumps({"ml": WEBHOOK}), **TWILIO)
    [rule] = config.routing.routes
    assert (rule.channel, rule.addresses("google_chat"), rule.addresses("sms")) == (
        "",
        ("ml",),
        ("+15551230001",),
    )


# --- the table: settings declared once ------------------------------------------------------


def test_an_empty_value_means_not_set() -> None:
    config = with_token(SMS_ON_FAILURE_ONLY="", ON_FAILURE_ONLY="  ", SLACK_THREADS="")
    assert config.sms.on_failure_only is True  # the default, not false
    assert config.routing.on_failure_only is False and config.slack.threads is False


def test_a_chat_only_install_needs_no_slack_token() -> None:
    config = Config.from_env(
        {
            **SCOPE,
            "GOOGLE_CHAT_WEBHOOKS": json.dumps({"ml-alerts": WEBHOOK}),
            "GOOGLE_CHAT_SPACES": "ml-alerts",
        }
    )
    assert not config.slack.enabled and config.chat.enabled
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is unset"):
        Config.from_env(
            {**SCOPE, "GOOGLE_CHAT_WEBHOOKS": json.dumps({"ml-alerts": WEBHOOK}), "SLACK_CHANNEL_ID": "C01"}
        )


def test_the_old_name_of_the_routing_table_is_still_read() -> None:
    rules = json.dumps([{"channel": "C0ROUTE1"}])
    assert with_token(SLACK_ROUTES=rules).routing.routes == with_token(ROUTES=rules).routing.routes != ()


def test_every_setting_is_declared_once_with_a_group_and_help() -> None:
    from notifier import settings

    names = [s.name for s in settings.SETTINGS]
    assert len(names) == len(set(names))
    fields = [(s.group, s.field) for s in settings.SETTINGS]
    assert len(fields) == len(set(fields))
    for setting in settings.SETTINGS:
        assert setting.help.strip().endswith((".", ")")), setting.name
        # Every field of every group comes from the table, and nothing else.
        assert hasattr(getattr(Config(), setting.group), setting.field), setting.name
    for group in settings.GROUPS:
        declared = {s.field for s in settings.SETTINGS if s.group == group}
        assert declared == set(getattr(Config(), group).__dataclass_fields__), group


def test_the_docs_reference_is_the_table() -> None:
    from pathlib import Path

    from notifier import settings

    page = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
    assert begin in page and end in page
    shown = page.split(begin, 1)[1].split(end, 1)[0]
    assert shown == settings.markdown(), (
        "run `make settings-doc` to write the table into docs/configuration.md"
    )
