"""The scope the function is given: ALLOWED_PROJECTS, ALLOWED_REGIONS, and the sweep within it.

scope.tf holds only locals computed from variables and local.project_numbers
(projects.tf reads those through data.google_project), so `terraform console`
evaluates it without the provider: each case copies variables.tf and scope.tf
into a scratch module, stands in for the numbers the data sources would read,
and evaluates the very expressions main.tf hands the function (and the
function's preconditions), as written in the .tf files.
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from notifier.config import Config
from notifier.errors import ConfigError
from tests.terraform import tf_console
from tests.terraform.module_eval import NUMBERS, PROJECT, evaluate, expect, function_env

needs_terraform = pytest.mark.skipif(tf_console.terraform_binary() is None, reason="terraform is not on PATH")

SCOPE_ENV = (
    "ALLOWED_PROJECTS",
    "ALLOWED_REGIONS",
    "SWEEP_PROJECTS",
    "SWEEP_REGIONS",
    "SWEEP_MIN_INTERVAL_MINUTES",
)
# The function's region grammar (notifier.names.REGION), anchored as Terraform's regex() needs.
REGION_GRAMMAR = "^[a-z]{2,20}-[a-z]{2,20}[1-9][0-9]?$"


# --- structure: where the values come from ------------------------------------------


def test_the_scope_reaches_the_function(tf):
    env = tf.locals["function_env_all"]
    assert env["ALLOWED_PROJECTS"] == '${join(",", local.allowed_projects)}'
    assert env["ALLOWED_REGIONS"] == '${join(",", local.pipeline_regions)}'
    assert env["SWEEP_MIN_INTERVAL_MINUTES"] == "${tostring(var.sweep_min_interval_minutes)}"
    # The function honours action=sweep only from this topic; without the sweep the
    # value is empty, and function_env leaves it out, so no topic may trigger one.
    assert env["SWEEP_TOPIC"] == '${var.sweep_enabled ? google_pubsub_topic.sweep[0].id : ""}'
    assert 'value != ""' in tf.locals["function_env"]


def test_project_numbers_come_from_the_projects_themselves(tf):
    assert tf.locals["project_numbers"] == (
        "${merge({(var.project_id) = data.google_project.this.number}, "
        "{for project, found in data.google_project.extra : project => found.number})}"
    )
    extra = tf.data["google_project"]["extra"]
    assert extra["for_each"] == "${local.extra_projects}"
    assert extra["project_id"] == "${each.key}"
    assert tf.data["google_project"]["this"]["project_id"] == "${var.project_id}"


def test_scope_tf_needs_no_provider(tf):
    # What lets these tests evaluate it: locals only, no resource or data source.
    text = tf.texts["scope.tf"]
    assert not re.search(r'^\s*(resource|data|module|provider)\s+"', text, flags=re.M)
    assert "data." not in re.sub(r"#.*", "", text)


# --- the values, evaluated by Terraform -----------------------------------------------

ENV_CASES = {
    "defaults": (
        {},
        {
            "ALLOWED_PROJECTS": "my-ml-project,123456789012",
            "ALLOWED_REGIONS": "us-central1",
            "SWEEP_PROJECTS": "my-ml-project",
            "SWEEP_REGIONS": "us-central1",
            "SWEEP_MIN_INTERVAL_MINUTES": "10",
        },
    ),
    "extra projects": (
        {"extra_projects": ["team-b-ml", "my-ml-staging"]},
        {
            "ALLOWED_PROJECTS": "my-ml-project,123456789012,team-b-ml,210987654321,my-ml-staging,555000555000",
            "ALLOWED_REGIONS": "us-central1",
            "SWEEP_PROJECTS": "my-ml-project,team-b-ml,my-ml-staging",
            "SWEEP_REGIONS": "us-central1",
            "SWEEP_MIN_INTERVAL_MINUTES": "10",
        },
    ),
    "the function's region elsewhere": (
        {"region": "europe-west4"},
        {"ALLOWED_REGIONS": "europe-west4", "SWEEP_REGIONS": "europe-west4"},
    ),
    "pipeline regions; the sweep follows": (
        {"pipeline_regions": ["us-central1", "europe-west4"]},
        {"ALLOWED_REGIONS": "us-central1,europe-west4", "SWEEP_REGIONS": "us-central1,europe-west4"},
    ),
    "pipeline regions without the function's own": (
        {"region": "us-central1", "pipeline_regions": ["europe-west4", "asia-east1"]},
        {"ALLOWED_REGIONS": "europe-west4,asia-east1", "SWEEP_REGIONS": "europe-west4,asia-east1"},
    ),
    "the sweep in some of them": (
        {"pipeline_regions": ["us-central1", "europe-west4"], "sweep_regions": ["europe-west4"]},
        {"ALLOWED_REGIONS": "us-central1,europe-west4", "SWEEP_REGIONS": "europe-west4"},
    ),
    "a longer interval": ({"sweep_min_interval_minutes": 25}, {"SWEEP_MIN_INTERVAL_MINUTES": "25"}),
}


@needs_terraform
@pytest.mark.parametrize("case", sorted(ENV_CASES))
def test_scope_env_values(tf, case):
    values, expected = ENV_CASES[case]
    env = function_env(tf, values, SCOPE_ENV)
    assert {name: env[name] for name in expected} == expected
    # Every covered project, by id and by number; nothing else.
    covered = [PROJECT, *values.get("extra_projects", [])]
    assert env["ALLOWED_PROJECTS"].split(",") == [item for p in covered for item in (p, NUMBERS[p])]
    assert set(env["SWEEP_REGIONS"].split(",")) <= set(env["ALLOWED_REGIONS"].split(","))
    assert all(re.fullmatch(REGION_GRAMMAR, r) for r in env["ALLOWED_REGIONS"].split(","))
    # What Terraform writes, the function starts with.
    region = values.get("region", "us-central1")  # GCP_REGION
    config = Config.from_env(
        {"SLACK_BOT_TOKEN": "xoxb-1-2-3", "GOOGLE_CLOUD_PROJECT": PROJECT, "GCP_REGION": region, **env}
    )
    assert ",".join(config.scope.regions) == env["ALLOWED_REGIONS"]
    assert ",".join(config.sweep.projects) == env["SWEEP_PROJECTS"]


SWEEP_REGION_CASES = {
    # sweep_regions, pipeline_regions -> the regions the precondition must name (none: it holds)
    "default": ([], [], []),
    "within": (["europe-west4"], ["us-central1", "europe-west4"], []),
    "all of them": (["europe-west4", "us-central1"], ["us-central1", "europe-west4"], []),
    "outside the default": (["europe-west4"], [], ["europe-west4"]),
    "two outside": (["us-central1", "europe-west4", "asia-east1"], ["us-central1"], ["asia-east1", "europe-west4"]),
}  # fmt: skip


@needs_terraform
@pytest.mark.parametrize("case", sorted(SWEEP_REGION_CASES))
def test_sweep_regions_stay_within_the_pipeline_regions(tf, case):
    sweep, pipeline, outside = SWEEP_REGION_CASES[case]
    message = expect(
        tf, {"sweep_regions": sweep, "pipeline_regions": pipeline}, "sweep_regions_outside", not outside
    )
    if outside:
        named = message.split("not among them:")[1]
        assert [r for r in ("us-central1", "europe-west4", "asia-east1") if r in named] == sorted(
            outside, key=["us-central1", "europe-west4", "asia-east1"].index
        )


SCHEDULE_GAPS = {
    "*/30 * * * *": 30,
    "*/10 * * * *": 10,
    "*/45 * * * *": 15,  # :00 and :45: 15 minutes from :45 to the next :00
    "*/7 * * * *": 4,  # :56 to :00
    "*/60 * * * *": 60,
    "*/90 * * * *": 60,
    "5 * * * *": 60,
    "0 */2 * * *": 120,
    "0 */5 * * *": 240,  # 20:00 to 00:00
    "30 6 * * *": 1440,
    "15 6 * * MON": None,  # other forms are not checked
    "0,30 * * * *": None,
    "*/0 * * * *": None,
}


@needs_terraform
def test_the_gap_between_scheduled_sweeps(tf):
    gaps = {s: evaluate(tf, {"sweep_schedule": s}, "local.sweep_gap_minutes") for s in SCHEDULE_GAPS}
    assert gaps == SCHEDULE_GAPS


INTERVAL_CASES = {
    # variables -> does the precondition hold
    "defaults": ({}, True),
    "just under the gap": ({"sweep_min_interval_minutes": 29}, True),
    "equal to the gap": ({"sweep_min_interval_minutes": 30}, False),
    "longer than a */45 schedule's wrap": ({"sweep_schedule": "*/45 * * * *", "sweep_min_interval_minutes": 20}, False),
    "hourly": ({"sweep_schedule": "5 * * * *", "sweep_min_interval_minutes": 59}, True),
    "every minute": ({"sweep_schedule": "*/1 * * * *", "sweep_min_interval_minutes": 1}, False),
    "a form not checked": ({"sweep_schedule": "15 6 * * MON", "sweep_min_interval_minutes": 1440}, True),
    "sweep off": ({"sweep_enabled": False, "sweep_min_interval_minutes": 30}, True),
}  # fmt: skip


@needs_terraform
@pytest.mark.parametrize("case", sorted(INTERVAL_CASES))
def test_the_sweep_interval_is_shorter_than_the_schedule(tf, case):
    values, holds = INTERVAL_CASES[case]
    message = expect(tf, values, "sweep_interval_fits", holds)
    if not holds:
        interval = values["sweep_min_interval_minutes"]
        assert f"sweep_min_interval_minutes ({interval})" in message
        assert values.get("sweep_schedule", "*/30 * * * *") in message


# --- the variables' validations -----------------------------------------------------

VALIDATION_CASES = {
    "pipeline_regions": (
        [[], ["us-central1"], ["europe-west4", "northamerica-northeast1", "me-central2"], ["europe-west10"]],
        [["global"], ["US-CENTRAL1"], ["us-central1 "], ["us-central1,europe-west4"], ["attacker.example#"],
         ["us-central123"], ["us-central"], ["europe-west4/x"], ["a-b-c1"], ["us-central1", "us-central1"], [""]],
    ),
    "sweep_regions": (
        [[], ["us-central1", "europe-west4"]],
        [["us-central123"], ["us-central1", "us-central1"], ["evil.example:443"]],
    ),
    "region": (
        ["us-central1", "northamerica-northeast1", "europe-west10"],
        ["us-central123", "attacker.example#", "global", "us-central1/x"],
    ),
    "sweep_min_interval_minutes": ([1, 10, 1440], [0, 1441, 2.5, -5]),
    "dedup_collection": (
        ["slack_notifier_claims", "a", "x__", "_claims", "a-b_C9", "x" * 100],
        ["__claims", "__claims__", "__", "a/b", "/claims", "", "x" * 101, "claims.v2", "\u0441laims"],
    ),
    "streaks_collection": (
        ["slack_notifier_streaks", "_streaks", "s__"],
        ["__streaks", "__streaks__", "a/b", "", "x" * 101],
    ),
}  # fmt: skip


@needs_terraform
@pytest.mark.parametrize("name", sorted(VALIDATION_CASES))
def test_scope_and_collection_validations(tf, name):
    good, bad = VALIDATION_CASES[name]
    block_text = tf_console.variable_block(tf.texts["variables.tf"], name)
    verdicts = tf_console.evaluate_many(block_text, name, [*good, *bad])
    for value, verdict in zip(good, verdicts[: len(good)], strict=True):
        assert verdict.accepted, f"{name}: Terraform rejected {value!r}:\n{verdict.message}"
    for value, verdict in zip(bad, verdicts[len(good) :], strict=True):
        assert not verdict.accepted, f"{name}: Terraform accepted {value!r}"
        assert name in verdict.message


@pytest.mark.parametrize("name", ["DEDUP_COLLECTION", "STREAKS_COLLECTION"])
def test_the_function_refuses_the_collections_terraform_refuses(name):
    # Terraform is the stricter of the two (it also bounds the characters); on the reserved
    # prefix and on paths they agree. (That the function accepts what Terraform accepts is
    # test_settings.py's.)
    base = {"SLACK_BOT_TOKEN": "xoxb-1-2-3", "GOOGLE_CLOUD_PROJECT": PROJECT, "GCP_REGION": "us-central1"}
    for value in ("__claims", "__claims__", "a/b"):
        with pytest.raises(ConfigError, match=name):
            Config.from_env({**base, "DEDUP_COLLECTION": "claims", name: value})


def test_pipeline_regions_is_typed_described_and_strict(tf):
    var = tf.variables["pipeline_regions"]
    assert var["type"] == "${list(string)}"
    assert var["default"] == []
    assert len(var["description"]) > 10
    # One grammar for every region Terraform hands the function.
    for name in ("pipeline_regions", "region", "sweep_regions"):
        conditions = " ".join(v["condition"] for v in tf.variables[name]["validation"])
        assert f'regex("{REGION_GRAMMAR}"' in conditions, name
