"""Which destinations are on: Slack (the default), Google Chat, SMS, and installs without Slack.

The environment values and the function's preconditions are evaluated by Terraform itself
(`terraform console`, see module_eval.py), as written in main.tf and function.tf; what
Terraform writes for an install is then given to the function's own Config.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from notifier.config import Config
from sandbox import topology
from tests.terraform import tf_console
from tests.terraform.module_eval import PROJECT, expect, function_env

needs_terraform = pytest.mark.skipif(tf_console.terraform_binary() is None, reason="terraform is not on PATH")

# The one-line locals of main.tf these environment values are built from.
LOCALS = ("slack_threads", "topology", "slack_hold_seconds")
SLACK_ENV = (
    "SLACK_CHANNEL_ID",
    "SLACK_MENTION_ON_FAILURE",
    "SLACK_MAX_PER_SECOND",
    "SLACK_HOLD_SECONDS",
    "SLACK_THREADS",
)
INSTALL_ENV = (
    *SLACK_ENV,
    "GOOGLE_CLOUD_PROJECT",
    "GCP_REGION",
    "ALLOWED_PROJECTS",
    "ALLOWED_REGIONS",
    "DEDUP_COLLECTION",
    "STREAKS_COLLECTION",
    "GOOGLE_CHAT_SPACES",
    "SMS_TO",
    "TWILIO_FROM",
    "ROUTES",
)
WEBHOOK = "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t"
TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32}
CHAT_ONLY = {"slack_enabled": False, "google_chat_enabled": True, "google_chat_spaces": ["ml-alerts"]}
SMS_ONLY = {
    "slack_enabled": False,
    "sms_enabled": True,
    "twilio_from": "+15005550006",
    "sms_to": ["+15551234567"],
}


def _written(env: dict[str, str]) -> dict[str, str]:
    """What function_env keeps: unset values are left out, except DEDUP_COLLECTION (its "off")."""
    return {name: value for name, value in env.items() if value != "" or name == "DEDUP_COLLECTION"}


@needs_terraform
def test_slack_is_on_by_default_with_its_settings(tf):
    values = {"slack_channel_id": "C0123ABCD", "slack_mention_on_failure": "<!here>"}
    env = function_env(tf, values, SLACK_ENV, LOCALS)
    assert env == {
        "SLACK_CHANNEL_ID": "C0123ABCD",
        "SLACK_MENTION_ON_FAILURE": "<!here>",
        "SLACK_MAX_PER_SECOND": "1",
        "SLACK_HOLD_SECONDS": str(topology.load().slack_hold_seconds),
        "SLACK_THREADS": "true",
    }


@needs_terraform
def test_without_slack_no_slack_setting_is_written(tf):
    env = _written(function_env(tf, {**CHAT_ONLY, "slack_mention_on_failure": "<!here>"}, SLACK_ENV, LOCALS))
    # The hold stays: Google Chat's pacer holds by it too. Threads are said to be off, as the
    # function would otherwise switch them on with DEDUP_COLLECTION.
    assert env == {"SLACK_HOLD_SECONDS": str(topology.load().slack_hold_seconds), "SLACK_THREADS": "false"}


INSTALLS = {
    "Slack only (the default)": ({"slack_channel_id": "C0123ABCD"}, {"SLACK_BOT_TOKEN": "xoxb-1-2-3"}),
    "Google Chat only": (CHAT_ONLY, {"GOOGLE_CHAT_WEBHOOKS": json.dumps({"ml-alerts": WEBHOOK})}),
    "SMS only": (SMS_ONLY, TWILIO),
    "Google Chat only, routed": (
        {**CHAT_ONLY, "google_chat_spaces": [], "routes": [{"match": {"pipeline": "etl-*"}, "google_chat": ["ml-alerts"]}]},
        {"GOOGLE_CHAT_WEBHOOKS": json.dumps({"ml-alerts": WEBHOOK})},
    ),
}  # fmt: skip


@needs_terraform
@pytest.mark.parametrize("case", sorted(INSTALLS))
def test_the_function_starts_with_what_terraform_writes(tf, case):
    values, secrets = INSTALLS[case]
    for mentions in ("var.slack_enabled || var.google_chat_enabled", "var.slack_channel_id =="):
        expect(tf, values, mentions, holds=True)
    env = _written(function_env(tf, values, INSTALL_ENV, LOCALS))
    config = Config.from_env({**env, **secrets})  # the secrets as Secret Manager hands them over
    assert config.runtime.project == PROJECT
    assert config.slack.enabled == values.get("slack_enabled", True)
    assert config.chat.enabled == values.get("google_chat_enabled", False)
    assert config.sms.enabled == values.get("sms_enabled", False)


NO_DESTINATION = {
    # variables -> does the precondition hold
    "defaults (Slack)": ({}, True),
    "Google Chat only": (CHAT_ONLY, True),
    "SMS only": ({"slack_enabled": False, "sms_enabled": True}, True),
    "every destination": ({"google_chat_enabled": True, "sms_enabled": True}, True),
    "none": ({"slack_enabled": False}, False),
}


@needs_terraform
@pytest.mark.parametrize("case", sorted(NO_DESTINATION))
def test_a_deployment_needs_a_destination(tf, case):
    values, holds = NO_DESTINATION[case]
    message = expect(tf, values, "var.slack_enabled || var.google_chat_enabled", holds)
    if not holds:
        assert "No destination" in message and "slack_enabled" in message


SLACK_NAMED = {
    "a default channel with Slack on": ({"slack_channel_id": "C0123ABCD"}, True),
    "no channel with Slack off": (CHAT_ONLY, True),
    "a default channel with Slack off": ({**CHAT_ONLY, "slack_channel_id": "C0123ABCD"}, False),
    "a route to a channel with Slack off": ({**CHAT_ONLY, "routes": [{"channel": "C0123ABCD"}]}, False),
    "a route naming an empty channel with Slack off": (
        {**CHAT_ONLY, "routes": [{"channel": "", "google_chat": ["ml-alerts"]}]}, True),
    "routes to Chat and SMS only with Slack off": (
        {**CHAT_ONLY, "routes": [{"google_chat": ["ml-alerts"]}, {"sms": ["+15551234567"]}]}, True),
}  # fmt: skip


@needs_terraform
@pytest.mark.parametrize("case", sorted(SLACK_NAMED))
def test_slack_channels_need_slack(tf, case):
    values, holds = SLACK_NAMED[case]
    message = expect(tf, values, "var.slack_channel_id ==", holds)
    if not holds:
        assert "slack_enabled = true" in message
