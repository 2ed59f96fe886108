"""The variables' validation regexes accept good values and reject bad ones."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from tests.terraform.hcl_model import regex_arguments


def _patterns(tf, name: str) -> list[re.Pattern[str]]:
    """Every regex of the variable's validations; a value passes if any matches."""
    conditions = [v["condition"] for v in tf.variables[name].get("validation", [])]
    patterns = [re.compile(p) for c in conditions for p in regex_arguments(c)]
    assert patterns, f"variable {name} has no regex validation"
    return patterns


CASES = {
    "project_id": (["my-ml-project", "abc123-prod"], ["My_Project", "1project", "short", "a" * 31]),
    "region": (["us-central1", "europe-west4", "northamerica-northeast1"], ["us central", "US-CENTRAL1", "global"]),
    "slack_channel_id": (["C0123ABCD", "G01ABC", "D0ABC"], ["#general", "c0123abcd", "U0123ABCD"]),
    "pipeline_service_accounts": (
        ["pipelines@my-proj.iam.gserviceaccount.com", "123456-compute@developer.gserviceaccount.com"],
        ["serviceAccount:pipelines@my-proj.iam.gserviceaccount.com", "someone@example.com"],
    ),
    "function_memory": (["256M", "1Gi", "512Mi"], ["256", "1 GB", "256MB"]),
    "slack_mention_on_failure": (["<!subteam^S0123>", "<@U0123ABC> <!here>"], ["@here", "team"]),
    "name_prefix": (["vertex-slack", "abc"], ["Vertex", "-abc", "a" * 23]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_regex_validation(tf, name):
    patterns = _patterns(tf, name)
    good, bad = CASES[name]
    for value in good:
        assert any(p.search(value) for p in patterns), f"{name}: {value!r} should be accepted"
    for value in bad:
        assert not any(p.search(value) for p in patterns), f"{name}: {value!r} should be rejected"


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("max_delivery_attempts", 5, 100),
        ("function_timeout_seconds", 10, 540),
        ("min_retry_backoff_seconds", 0, 600),
        ("max_retry_backoff_seconds", 0, 600),
    ],
)
def test_numeric_bounds(tf, name, low, high):
    (validation,) = tf.variables[name]["validation"]
    condition = validation["condition"]
    assert f"var.{name} >= {low}" in condition
    assert f"var.{name} <= {high}" in condition
    assert low <= tf.variables[name]["default"] <= high


# Values Terraform may pass to the function must not stop it at start-up: whatever a
# variable's validation accepts, the function's Config must accept too.
FEEDS_FUNCTION = {
    "slack_channel_id": ("SLACK_CHANNEL_ID", ["C0123ABCD", "C1", "G01", "D0ABC", "CABCDEFGHIJKLMNOP"]),
    "slack_mention_on_failure": (
        "SLACK_MENTION_ON_FAILURE",
        ["<!subteam^S0123>", "<!subteam^S0123|@oncall>", "<@U0123ABC> <!here>", "<#C0123>", "<!everyone>",
         "<@W0ABC>", "<!channel>"],
    ),
    "region": ("GCP_REGION", ["us-central1", "europe-west4", "northamerica-northeast1", "me-central2"]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FEEDS_FUNCTION))
def test_what_terraform_accepts_the_function_accepts(tf, name):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "function"))
    from notifier.config import Config

    env_name, candidates = FEEDS_FUNCTION[name]
    patterns = _patterns(tf, name)
    accepted = [v for v in candidates if any(p.search(v) for p in patterns)]
    assert accepted, f"{name}: no candidate passes Terraform's validation"
    for value in accepted:
        Config.from_env({"SLACK_BOT_TOKEN": "xoxb-1-2-3", env_name: value})


def test_vertex_timeout_bounds_match_the_function(tf):
    (validation,) = tf.variables["vertex_timeout_seconds"]["validation"]
    assert "var.vertex_timeout_seconds <= 120" in validation["condition"]
