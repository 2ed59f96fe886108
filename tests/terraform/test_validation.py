"""The variables' validations accept good values and reject bad ones, as Terraform runs them.

Each case goes through `terraform console`, which runs a variable's validation blocks with
no provider and no init. That what Terraform accepts the function accepts too is
test_settings.py's (every variable feeding a setting) and, for the routing table, the tests
below that feed Terraform's rendering of each table to the function's parser.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from notifier import rules
from notifier.config import Config
from sandbox import topology
from tests.terraform import tf_console

needs_terraform = pytest.mark.skipif(tf_console.terraform_binary() is None, reason="terraform is not on PATH")

MENTIONS_11 = " ".join(["<@U0123>"] * 11)
LONG_MENTION = "<!here|" + "x" * 80 + "> " + " ".join(["<!subteam^" + "S" * 40 + "|" + "x" * 80 + ">"] * 8)

# variable -> (values its validations accept, values they reject)
CASES = {
    "project_id": (["my-ml-project", "abc123-prod"], ["My_Project", "1project", "short", "a" * 31]),
    "region": (
        ["us-central1", "europe-west4", "northamerica-northeast1", "europe-west10"],
        ["us central", "US-CENTRAL1", "global", "a-b1", "us-central0", "us-central01", "x" * 21 + "-central1"],
    ),
    "slack_channel_id": (
        ["C0123ABCD", "G01ABC", "D0ABC", "C" + "A" * 40],
        ["#general", "c0123abcd", "U0123ABCD", "C" + "A" * 41],
    ),
    "pipeline_service_accounts": (
        [["pipelines@my-proj.iam.gserviceaccount.com"], ["123456-compute@developer.gserviceaccount.com"]],
        [["serviceAccount:pipelines@my-proj.iam.gserviceaccount.com"], ["someone@example.com"]],
    ),
    "function_memory": (["256M", "1Gi", "512Mi"], ["256", "1 GB", "256MB"]),
    "function_cpu": (["1", "2", "0.5"], ["1 vCPU", "one", "1000m"]),
    "slack_mention_on_failure": (
        ["<!subteam^S0123>", "<@U0123ABC> <!here>", "<!subteam^S0123|@oncall>", " ".join(["<@U0123>"] * 10)],
        ["@here", "team", "<#C0123>", "<!everyone>", MENTIONS_11, LONG_MENTION, "<@U" + "1" * 41 + ">"],
    ),
    "name_prefix": (["vertex-slack", "abc"], ["Vertex", "-abc", "a" * 23]),
    "streaks_collection": (["slack_notifier_streaks", "team-A_1"], ["a/b", "a.b", "", "a" * 101]),
    "twilio_from": (["+15005550006", "MG" + "0123456789abcdef" * 2], ["15005550006", "Acme", "MG123"]),
    "sms_to": ([["+15551234567", "+442071838750"]], [["15551234567"], ["+1 555 123"], ["+0123456789"]]),
    "google_chat_spaces": ([["ml-alerts", "data_eng-2"]], [["ML"], ["-x"], ["a b"]]),
    "pagerduty_services": ([["ml-oncall", "data_eng-2"]], [["ML"], ["-x"], ["a b"]]),
    "teams_channels": ([["ml-alerts", "data_eng-2"]], [["ML"], ["-x"], ["a b"]]),
    "slack_workspace_url": (
        ["https://acme.slack.com", "https://acme-corp.enterprise.slack.com"],
        ["http://acme.slack.com", "https://acme.slack.com.evil.example", "https://slack.com", "https://acme.slack.com/"],
    ),
    "extra_projects": (
        [["my-ml-staging"], ["abc123-prod", "team-b-ml"], []],
        [["My_Project"], ["123456789012"], ["a-b"], ["dup-project", "dup-project"], ["trailing-"]],
    ),
    "sweep_regions": (
        [["us-central1"], ["europe-west4", "northamerica-northeast1"], []],
        [["global"], ["US-CENTRAL1"], ["us central1"], ["us-central1,europe-west4"]],
    ),
    "sweep_after_hours": ([0.5, 12, 720, 1.5], [0.4, 0, 721, -1]),
    "alert_notification_channels": (
        [["projects/my-ml-project/notificationChannels/1234567890"], []],
        [["1234567890"], ["projects/p/notificationChannels/abc"], ["notificationChannels/1"]],
    ),
    "sweep_schedule": (["*/30 * * * *", "0 */2 * * 1-5", "15 6 * * MON"], ["every 30 minutes", "* * * *", ""]),
    "sweep_time_zone": (["Etc/UTC", "America/New_York", "Europe/Berlin", "UTC"], ["", "Europe Berlin", "/UTC"]),
    "digest_schedule": (["0 9 * * 1", "30 8 * * MON", "0 7 1 * *"], ["weekly", "0 9 * *", ""]),
    "digest_time_zone": (["Etc/UTC", "Europe/Berlin"], ["", "Europe Berlin"]),
}  # fmt: skip


@needs_terraform
@pytest.mark.parametrize("name", sorted(CASES))
def test_validation(tf, name):
    good, bad = CASES[name]
    verdicts = tf_console.evaluate_many(_block(tf, name), name, [*good, *bad])
    for value, verdict in zip(good, verdicts[: len(good)], strict=True):
        assert verdict.accepted, f"{name}: Terraform rejected {value!r}:\n{verdict.message}"
    for value, verdict in zip(bad, verdicts[len(good) :], strict=True):
        assert not verdict.accepted, f"{name}: Terraform accepted {value!r}"
        assert name in verdict.message


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("max_delivery_attempts", 5, 100),
        ("function_timeout_seconds", 10, 540),
        ("min_retry_backoff_seconds", 0, 600),
        ("max_retry_backoff_seconds", 0, 600),
        ("streak_expiry_days", 1, 365),
        ("function_concurrency", 1, 1000),
        ("slack_hold_seconds", 0, 265),
    ],
)
def test_numeric_bounds(tf, name, low, high):
    (validation,) = tf.variables[name]["validation"]
    condition = validation["condition"]
    assert f"var.{name} >= {low}" in condition
    assert f"var.{name} <= {high}" in condition
    default = tf.variables[name]["default"]
    if default is None:  # the default is topology.json's
        key = {"function_timeout_seconds": "timeout_seconds", "function_concurrency": "concurrency"}.get(
            name, name
        )
        default = getattr(topology.load(), key)
    assert low <= default <= high


# --- Cross-checks through the real Terraform binary ---------------------------------
#
# The regex extraction above reads one pattern at a time; the routing table's rules
# are whole expressions (nulls, nested maps, sizes), so these tests ask Terraform
# itself: `terraform console` runs the variable's validation blocks (no provider, no
# init needed) and prints jsonencode(var.NAME), the exact text main.tf hands the
# function. What Terraform accepts must then pass the function's own parser.


def _block(tf, name: str) -> str:
    return tf_console.variable_block(tf.texts["variables.tf"], name)


def _rule(channel="C0123ABCD", pipeline=None, labels=None, mention=None, on_failure_only=None, stuck=None):
    """A rule with every attribute present, as jsonencode writes it (nulls included)."""
    return {
        "channel": channel,
        "google_chat": None,
        "match": {"labels": labels, "pipeline": pipeline},
        "mention": mention,
        "on_failure_only": on_failure_only,
        "pagerduty": None,
        "severity": None,
        "sms": None,
        "stuck_after_hours": stuck,
        "teams": None,
    }


def _jsonencode(value) -> str:
    """Terraform's jsonencode: compact, keys sorted, and <, >, & escaped as in Go."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _sized_table(total_bytes: int) -> list[dict]:
    """100 rules whose jsonencode form is exactly total_bytes of UTF-8 long (padded pipeline globs)."""
    rules = [_rule(pipeline="*") for _ in range(100)]

    def size():
        return len(_jsonencode(rules).encode())

    room = total_bytes - size()
    assert room >= 0, total_bytes
    for index, rule in enumerate(rules):
        extra = -(-room // (100 - index))  # spread evenly, rounding up
        # "ü" is two bytes of UTF-8: at most 200 code points hold the padding.
        rule["match"]["pipeline"] = "*" + "ü" * (extra // 2) + "x" * (extra % 2)
        assert len(rule["match"]["pipeline"]) <= 200
        room -= extra
    assert size() == total_bytes
    return rules


LONG_NUMBER = "0." + "5" * 120  # 122 characters: within 0.5..720, too long for the function

# Tables Terraform must accept (and, checked below, the function too).
ROUTES_ACCEPTED = {
    "empty": [],
    "channel only": [{"channel": "C0123ABCD"}],
    "every attribute": [
        {
            "match": {"pipeline": "churn-*", "labels": {"team": "fraud", "env": "prod-*"}},
            "channel": "C0123ABCD",
            "mention": "<!subteam^S0123|@fraud-oncall>",
            "on_failure_only": True,
            "stuck_after_hours": 6,
        }
    ],
    "empty match and labels": [
        {"channel": "G01", "match": {}},
        {"channel": "D0ABC", "match": {"labels": {}}},
    ],
    "mention forms": [
        {"channel": "C01", "mention": "<@U0123ABC> <!here>"},
        {"channel": "C02", "mention": "<!channel>"},
        {"channel": "C03", "mention": "<@W0ABC>"},
        {"channel": "C04", "mention": ""},
    ],
    "hour bounds": [
        {"channel": "C01", "stuck_after_hours": 0.5},
        {"channel": "C02", "stuck_after_hours": 720},
    ],
    "fractional hours": [{"channel": "C01", "stuck_after_hours": 1.25}],
    "channel id of 41 characters": [{"channel": "C" + "A" * 40}],
    "ten mentions": [{"channel": "C01", "mention": " ".join(["<@U0123>"] * 10)}],
    "label key and glob at 63": [{"channel": "C01", "match": {"labels": {"k" + "a" * 62: "v" * 63}}}],
    "label glob classes": [{"channel": "C01", "match": {"labels": {"team": "[!x]?-*", "tier_2": ""}}}],
    "pipeline at 200 code points": [{"channel": "C01", "match": {"pipeline": "ü" * 199 + "*"}}],
    "pipeline padded with spaces": [{"channel": "C01", "match": {"pipeline": "  churn-*  "}}],
    "pipeline with template-like text": [{"channel": "C01", "match": {"pipeline": "a${x}%{y}*"}}],
    "100 rules": [{"channel": f"C{i:04d}"} for i in range(100)],
    "just under 32 KiB": _sized_table(32_766),
    "chat and sms without a channel": [
        {"match": {"pipeline": "etl-*"}, "google_chat": ["data-eng"], "sms": ["+15551230001"]}
    ],
    "every destination": [
        {
            "channel": "C01",
            "google_chat": ["ml-alerts", "data_eng-2"],
            "sms": ["+15551230001", "+442071838750"],
            "pagerduty": ["ml-oncall"],
            "teams": ["ml-alerts"],
            "severity": "critical",
        }
    ],
    "pagerduty and teams without a channel": [
        {"match": {"labels": {"env": "prod"}}, "pagerduty": ["ml-oncall"], "severity": "warning"},
        {"teams": ["data-eng"]},
    ],
}

# Tables Terraform must reject, each for one reason.
ROUTES_REJECTED = {
    "channel name, not id": [{"channel": "#general"}],
    "lowercase channel": [{"channel": "c0123abcd"}],
    "user id as channel": [{"channel": "U0123ABCD"}],
    "channel too short": [{"channel": "C0"}],
    "channel with a space": [{"channel": " C0123"}],
    "mention without brackets": [{"channel": "C01", "mention": "@here"}],
    "mention lowercase group": [{"channel": "C01", "mention": "<!subteam^s0123>"}],
    "mention of a channel": [{"channel": "C01", "mention": "<#C0123>"}],
    "mention everyone": [{"channel": "C01", "mention": "<!everyone>"}],
    "eleven mentions": [{"channel": "C01", "mention": MENTIONS_11}],
    "mention over 1000 characters": [{"channel": "C01", "mention": LONG_MENTION}],
    "channel id of 42 characters": [{"channel": "C" + "A" * 41}],
    "label key uppercase": [{"channel": "C01", "match": {"labels": {"Team": "fraud"}}}],
    "label key starts with digit": [{"channel": "C01", "match": {"labels": {"1team": "fraud"}}}],
    "label key with a dot": [{"channel": "C01", "match": {"labels": {"team.name": "fraud"}}}],
    "label key of 64": [{"channel": "C01", "match": {"labels": {"k" + "a" * 63: "x"}}}],
    "label glob uppercase": [{"channel": "C01", "match": {"labels": {"team": "Fraud"}}}],
    "label glob with a space": [{"channel": "C01", "match": {"labels": {"team": "fr aud"}}}],
    "label glob of 64": [{"channel": "C01", "match": {"labels": {"team": "v" * 64}}}],
    "empty pipeline glob": [{"channel": "C01", "match": {"pipeline": ""}}],
    "blank pipeline glob": [{"channel": "C01", "match": {"pipeline": " \t "}}],
    "pipeline of 201": [{"channel": "C01", "match": {"pipeline": "p" * 201}}],
    "hours below 0.5": [{"channel": "C01", "stuck_after_hours": 0.4}],
    "hours above 720": [{"channel": "C01", "stuck_after_hours": 721}],
    "zero hours": [{"channel": "C01", "stuck_after_hours": 0}],
    "hours written with 122 characters": tf_console.RawJson(
        f'[{{"channel": "C01", "stuck_after_hours": {LONG_NUMBER}}}]'
    ),
    "101 rules": [{"channel": f"C{i:04d}"} for i in range(101)],
    "over 32 KiB": _sized_table(32_769),
    "no destination at all": [{"match": {"pipeline": "x"}}],
    "empty destination lists": [{"google_chat": [], "sms": []}],
    "uppercase webhook name": [{"google_chat": ["ML"]}],
    "sms number without plus": [{"sms": ["15551230001"]}],
    "sms number too long": [{"sms": ["+1555123000199999"]}],
    "11 webhooks": [{"google_chat": [f"w{i}" for i in range(11)]}],
    "uppercase service name": [{"pagerduty": ["OnCall"]}],
    "11 services": [{"pagerduty": [f"s{i}" for i in range(11)]}],
    "11 teams webhooks": [{"teams": [f"t{i}" for i in range(11)]}],
    "unknown severity": [{"pagerduty": ["ml-oncall"], "severity": "sev1"}],
}

# Whatever Terraform decides on these, the function must accept what it accepts.
ROUTES_EITHER = {
    "non-ASCII blank pipeline": [{"channel": "C01", "match": {"pipeline": "\u00a0\u2003"}}],
    "separator-only pipeline": [{"channel": "C01", "match": {"pipeline": "\x1c\x1f"}}],
    "vertical tab pipeline": [{"channel": "C01", "match": {"pipeline": "\x0b"}}],
    "mention with trailing newline": [{"channel": "C01", "mention": "<!here>\n"}],
    "label glob with trailing newline": [{"channel": "C01", "match": {"labels": {"team": "fraud\n"}}}],
    "exactly 32 KiB": _sized_table(32_768),
}


@pytest.fixture(scope="module")
def routes_verdicts(tf):
    cases = {**ROUTES_ACCEPTED, **ROUTES_REJECTED, **ROUTES_EITHER}
    verdicts = tf_console.evaluate_many(_block(tf, "routes"), "routes", list(cases.values()))
    return dict(zip(cases, verdicts, strict=True))


@needs_terraform
@pytest.mark.parametrize("case", sorted(ROUTES_ACCEPTED))
def test_routes_terraform_accepts_and_the_function_parses(routes_verdicts, case):
    verdict = routes_verdicts[case]
    assert verdict.accepted, f"Terraform rejected {case!r}:\n{verdict.message}"
    parsed = rules.parse_routes(verdict.rendered)
    assert len(parsed) == len(ROUTES_ACCEPTED[case])
    # main.tf sets ROUTES from the same jsonencode, or leaves it out when empty.
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1-2-3",
        "GOOGLE_CLOUD_PROJECT": "my-ml-project",
        "GCP_REGION": "us-central1",
    }
    if parsed:
        env["ROUTES"] = verdict.rendered
    # The webhooks, routing keys and Twilio's credentials a rule needs come from Secret Manager.
    names = sorted({name for rule in parsed for name in rule.addresses("google_chat")})
    if names:
        url = "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t"
        env["GOOGLE_CHAT_WEBHOOKS"] = json.dumps(dict.fromkeys(names, url))
    if any(rule.addresses("sms") for rule in parsed):
        env.update(TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="t" * 32, TWILIO_FROM="+15005550006")
    services = sorted({name for rule in parsed for name in rule.addresses("pagerduty")})
    if services:
        env["PAGERDUTY_ROUTING_KEYS"] = json.dumps(dict.fromkeys(services, "R" + "0" * 31))
    workflows = sorted({name for rule in parsed for name in rule.addresses("teams")})
    if workflows:
        url = (
            "https://prod-00.westus.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef"
            "/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=abc"
        )
        env["TEAMS_WEBHOOKS"] = json.dumps(dict.fromkeys(workflows, url))
    assert Config.from_env(env).routing.routes == parsed


@needs_terraform
@pytest.mark.parametrize("case", sorted(ROUTES_REJECTED))
def test_routes_terraform_rejects(routes_verdicts, case):
    verdict = routes_verdicts[case]
    assert not verdict.accepted, f"Terraform accepted {case!r}: {verdict.rendered}"
    assert "routes" in verdict.message


@needs_terraform
@pytest.mark.parametrize("case", sorted(ROUTES_EITHER))
def test_routes_what_terraform_accepts_the_function_accepts(routes_verdicts, case):
    verdict = routes_verdicts[case]
    if verdict.accepted:
        rules.parse_routes(verdict.rendered)


@needs_terraform
def test_routes_size_limit_is_measured_on_what_terraform_renders(routes_verdicts):
    # The sized tables were built with _jsonencode; Terraform must render them byte for byte.
    for case, size in (("just under 32 KiB", 32_766), ("over 32 KiB", 32_769), ("exactly 32 KiB", 32_768)):
        table = {**ROUTES_ACCEPTED, **ROUTES_REJECTED, **ROUTES_EITHER}[case]
        assert len(_jsonencode(table).encode()) == size
    assert len(routes_verdicts["just under 32 KiB"].rendered.encode()) == 32_766
    with pytest.raises(Exception, match="32,769 bytes"):
        rules.parse_routes(_jsonencode(ROUTES_REJECTED["over 32 KiB"]))


@needs_terraform
def test_routes_rendering_carries_every_rule_attribute(routes_verdicts):
    # Terraform writes unset optional attributes as null; the parser treats null
    # as "not given", and knows every attribute name Terraform can write.
    rendered = json.loads(routes_verdicts["channel only"].rendered)
    assert rendered == [
        {
            "channel": "C0123ABCD",
            "google_chat": None,
            "match": None,
            "mention": None,
            "on_failure_only": None,
            "pagerduty": None,
            "severity": None,
            "sms": None,
            "stuck_after_hours": None,
            "teams": None,
        }
    ]
    full = json.loads(routes_verdicts["empty match and labels"].rendered)[0]
    assert set(full) == set(rules._RULE_KEYS)
    assert set(full["match"]) == set(rules._MATCH_KEYS)


@needs_terraform
def test_routes_example_parses_the_same_in_both(routes_verdicts):
    # The README's example rule, through Terraform and the parser.
    verdict = routes_verdicts["every attribute"]
    (rule,) = rules.parse_routes(verdict.rendered)
    assert rule.channel == "C0123ABCD"
    assert rule.pipeline == "churn-*"
    assert dict(rule.labels) == {"team": "fraud", "env": "prod-*"}
    assert rule.mention == "<!subteam^S0123|@fraud-oncall>"
    assert rule.on_failure_only is True
    assert rule.stuck_after_hours == 6.0


@needs_terraform
def test_example_tfvars_pass_the_module_validations(tf):
    from tests.terraform.hcl_model import EXAMPLE_DIR, parse

    tfvars = parse((EXAMPLE_DIR / "terraform.tfvars.example").read_text(encoding="utf-8"))
    shown = {"routes", "extra_projects", "pipeline_regions", "alert_notification_channels"}
    assert shown <= set(tfvars), "the example should show routes, extra projects, regions and alert channels"
    for name in sorted(set(tfvars) & set(tf.variables)):
        verdict = tf_console.evaluate(_block(tf, name), name, tfvars[name])
        assert verdict.accepted, f"example {name} is rejected:\n{verdict.message}"
    routes = tf_console.evaluate(_block(tf, "routes"), "routes", tfvars["routes"])
    assert len(rules.parse_routes(routes.rendered)) == len(tfvars["routes"])
