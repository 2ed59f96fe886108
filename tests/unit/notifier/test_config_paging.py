"""PagerDuty and Teams settings, the rules' ``pagerduty``/``teams``/``severity`` keys, and routing a
success whose model was not blessed (``NOTIFY_NOT_BLESSED``)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.config import Config
from notifier.errors import ConfigError
from notifier.model import FinalStatus, JobDetails, ModelResults
from notifier.routing import route_for
from notifier.rules import parse_routes

SCOPE = {"ALLOWED_PROJECTS": "acme-ml-prod", "ALLOWED_REGIONS": "us-central1"}
KEY = "R0standinpagerdutykey00000000001"
OTHER_KEY = "R1standinpagerdutykey00000000002"
LOGIC = (
    "https://prod-12.westus.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIGsecret1234567890"
)
POWER = (
    "https://default1234.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/"
    "fedcba9876543210fedcba9876543210/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun"
    "&sv=1.0&sig=SIGother0987654321"
)
DESTINATIONS = {
    "slack": "slack",
    "google_chat": "chat",
    "sms": "sms",
    "pagerduty": "pagerduty",
    "teams": "teams",
}
LOOPBACK = (
    "http://127.0.0.1:8123/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sig=x"
)


def defaults(config: Config) -> dict[str, tuple[str, ...]]:
    return {name: getattr(config, group).defaults for name, group in DESTINATIONS.items()}


def config(**env: str) -> Config:
    return Config.from_env({**SCOPE, **env})


def paging(**env: str) -> Config:
    return config(
        PAGERDUTY_ROUTING_KEYS=json.dumps({"ml-oncall": KEY, "data-oncall": OTHER_KEY}),
        TEAMS_WEBHOOKS=json.dumps({"ml-alerts": LOGIC, "data": POWER}),
        **env,
    )


def test_pagerduty_and_teams_alone_are_destinations() -> None:
    only = config(PAGERDUTY_ROUTING_KEYS=json.dumps({"ml-oncall": KEY}), PAGERDUTY_SERVICES="ml-oncall")
    assert only.pagerduty.enabled and not only.slack.enabled and only.pagerduty.defaults == ("ml-oncall",)
    assert only.pagerduty.severity == "error" and only.pagerduty.api_url == "https://events.pagerduty.com"
    teams = config(TEAMS_WEBHOOKS=json.dumps({"ml-alerts": LOOPBACK}), TEAMS_CHANNELS="ml-alerts")
    assert teams.teams.enabled and teams.teams.defaults == ("ml-alerts",)
    with pytest.raises(ConfigError, match=r"PAGERDUTY_ROUTING_KEYS \(PagerDuty\) or TEAMS_WEBHOOKS"):
        config()


def test_both_forms_of_a_workflow_url_and_the_local_stand_in() -> None:
    assert dict(paging().teams.webhooks) == {"ml-alerts": LOGIC, "data": POWER}
    assert config(TEAMS_WEBHOOKS=json.dumps({"local": LOOPBACK})).teams.enabled


@pytest.mark.parametrize(
    "url",
    [
        LOGIC.replace("https://", "http://"),
        LOGIC.replace("logic.azure.com", "logic.azure.com.evil.example"),
        "https://evil.example/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?sig=SIGsecret1",
        "https://acme.webhook.office.com/webhookb2/x@y/IncomingWebhook/z/w?sig=SIGsecret1",
        LOGIC.replace("/workflows/0123456789abcdef0123456789abcdef", "/workflows/../x"),
        LOGIC + " ",
        "http://10.0.0.1/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?sig=SIGsecret1",
    ],
)
def test_a_teams_url_must_be_a_workflow_trigger_and_is_never_echoed(url: str) -> None:
    with pytest.raises(ConfigError, match="TEAMS_WEBHOOKS: the URL of 'ml' is not a Teams Workflows") as info:
        config(SLACK_BOT_TOKEN="xoxb-1", TEAMS_WEBHOOKS=json.dumps({"ml": url}))
    assert "SIG" not in str(info.value) and "evil" not in str(info.value)


@pytest.mark.parametrize("key", ["short", KEY + "x", KEY[:-1] + "-", 32 * "é", ""])
def test_a_routing_key_is_32_letters_and_digits_and_never_echoed(key: str) -> None:
    with pytest.raises(ConfigError, match="PAGERDUTY_ROUTING_KEYS: the routing key of 'ml' is not") as info:
        config(SLACK_BOT_TOKEN="xoxb-1", PAGERDUTY_ROUTING_KEYS=json.dumps({"ml": key}))
    assert not key or key not in str(info.value)


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"PAGERDUTY_SERVICES": "nobody"}, "PAGERDUTY_SERVICES names 'nobody', which PAGERDUTY_ROUTING_KEYS"),
        ({"TEAMS_CHANNELS": "nowhere"}, "TEAMS_CHANNELS names 'nowhere', which TEAMS_WEBHOOKS"),
        ({"ROUTES": '[{"pagerduty": ["nobody"]}]'}, "ROUTES rule 1: pagerduty names 'nobody'"),
        ({"ROUTES": '[{"teams": ["nowhere"]}]'}, "ROUTES rule 1: teams names 'nowhere'"),
        ({"PAGERDUTY_SEVERITY": "sev1"}, "PAGERDUTY_SEVERITY must be one of critical, error, warning, info"),
        ({"DEDUP_COLLECTION": "claims", "STREAKS_COLLECTION": "claims"}, "STREAKS_COLLECTION must differ"),
        ({"WORKERS": "2", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_MAX_PER_SECOND": "0"}, "WORKERS must be 1"),
    ],
)
def test_names_must_be_defined(env: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace("(", r"\(")):
        paging(**env)


def test_rules_name_services_webhooks_and_a_severity() -> None:
    rules = parse_routes(
        json.dumps(
            [
                {"match": {"labels": {"env": "prod"}}, "pagerduty": ["ml-oncall"], "severity": "critical"},
                {"teams": ["ml-alerts"], "severity": None},
            ]
        )
    )
    assert rules[0].addresses("pagerduty") == ("ml-oncall",) and rules[0].severity == "critical"
    assert (
        rules[0].channel == "" and rules[1].addresses("teams") == ("ml-alerts",) and rules[1].severity == ""
    )
    for bad in (
        '[{"pagerduty": ["ml-oncall"], "severity": "sev1"}]',
        '[{"pagerduty": ["ml-oncall"], "severity": 1}]',
    ):
        with pytest.raises(
            ConfigError, match="rule 1: severity must be one of critical, error, warning, info"
        ):
            parse_routes(bad)
    with pytest.raises(ConfigError, match="rule 1: pagerduty must hold service names"):
        parse_routes('[{"pagerduty": ["ML OnCall"]}]')


def test_the_route_carries_the_rule_severity_and_the_defaults_of_every_destination() -> None:
    routed = paging(
        PAGERDUTY_SERVICES="data-oncall",
        TEAMS_CHANNELS="data",
        ROUTES=json.dumps(
            [{"match": {"labels": {"env": "prod"}}, "pagerduty": ["ml-oncall"], "severity": "critical"}]
        ),
    )
    failed = FinalStatus("FAILED", "projects/1/locations/us-central1/pipelineJobs/churn-training-1")
    addresses = defaults(routed)
    prod = route_for({}, failed, JobDetails(labels=(("env", "prod"),)), routed, addresses)
    assert prod.addresses("pagerduty") == ("ml-oncall",) and prod.severity == "critical"
    assert prod.addresses("teams") == ()  # a rule says where its runs go
    dev = route_for({}, failed, JobDetails(labels=(("env", "dev"),)), routed, addresses)
    assert dev.addresses("pagerduty") == ("data-oncall",) and dev.addresses("teams") == ("data",)
    assert dev.severity == ""


@pytest.mark.parametrize(
    ("results", "notify", "skipped"),
    [
        (ModelResults(blessed=False, pushed=False), "true", False),
        (ModelResults(blessed=True, infra_blessed=False), "true", False),
        (ModelResults(blessed=False), "false", True),
        (ModelResults(blessed=True, pushed=True), "true", True),
        (ModelResults(), "true", True),
    ],
)
def test_a_success_whose_model_was_not_blessed_is_sent_under_on_failure_only(
    results: ModelResults, notify: str, skipped: bool
) -> None:
    settings = config(SLACK_BOT_TOKEN="xoxb-1", SLACK_CHANNEL_ID="C0DEFAULT", ON_FAILURE_ONLY="true",
                      NOTIFY_NOT_BLESSED=notify)  # fmt: skip
    success = FinalStatus("SUCCEEDED", "projects/1/locations/us-central1/pipelineJobs/churn-training-1")
    route = route_for({}, success, JobDetails(results=results), settings, defaults(settings))
    assert route.skips(success) is skipped
    # The pipeline's own on_failure_only is overridden the same way: a refusal is worth reading.
    stub = route_for({"on_failure_only": "true"}, success, JobDetails(results=results), settings, {})
    assert stub.skips(success) is skipped


def test_secrets_are_redacted_and_absent_from_the_repr() -> None:
    settings = paging()
    assert KEY in settings.secrets and OTHER_KEY in settings.secrets
    assert LOGIC in settings.secrets and "SIGsecret1234567890" in settings.secrets
    assert KEY not in repr(settings) and "SIGsecret" not in repr(settings)


def test_slack_thread_links_need_the_workspace_and_checked_ids() -> None:
    slack = config(SLACK_BOT_TOKEN="xoxb-1", SLACK_WORKSPACE_URL="https://acme.slack.com").slack
    assert slack.thread_url("C0123ABCD", "1796274008.123456") == (
        "https://acme.slack.com/archives/C0123ABCD/p1796274008123456"
    )
    assert slack.thread_url("C0123ABCD", "1796274008") == "" and slack.thread_url("#general", "1.2") == ""
    assert config(SLACK_BOT_TOKEN="xoxb-1").slack.thread_url("C0123ABCD", "1796274008.123456") == ""
    for bad in ("http://acme.slack.com", "https://acme.slack.com.evil.example", "https://slack.com/x"):
        with pytest.raises(ConfigError, match="SLACK_WORKSPACE_URL must be a workspace address"):
            config(SLACK_BOT_TOKEN="xoxb-1", SLACK_WORKSPACE_URL=bad)


secret_maps = st.dictionaries(
    st.text(max_size=12) | st.sampled_from(["ml-oncall", "a" * 70]),
    st.none()
    | st.integers()
    | st.text(max_size=40).map(lambda text: f"SECRET1{text}")
    | st.sampled_from([LOGIC.replace("SIGsecret", "SECRET1"), "R" * 31 + "SECRET1"[:1], "SECRET1" * 5]),
    max_size=3,
).map(json.dumps)


@settings(max_examples=300, deadline=None)
@given(text=secret_maps | st.text(max_size=60))
def test_secret_maps_parse_or_fail_naming_the_variable_never_the_value(text: str) -> None:
    for name in ("TEAMS_WEBHOOKS", "PAGERDUTY_ROUTING_KEYS"):
        try:
            parsed = config(SLACK_BOT_TOKEN="xoxb-1", **{name: text})
        except ConfigError as exc:
            assert str(exc).startswith(name) and "SECRET1" not in str(exc)
            continue
        values = dict(parsed.teams.webhooks if name == "TEAMS_WEBHOOKS" else parsed.pagerduty.routing_keys)
        assert all(value in parsed.secrets for value in values.values())
