"""Run history in Terraform (terraform/history.tf): the TTL policy, the composite indexes of the
store's queries, its settings reaching the function with the function's own defaults and bounds."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from tests.terraform.hcl_model import REPO, block, blocks

HISTORY_ENV = {
    "RUNS_COLLECTION": ("runs_collection", "${var.runs_collection}"),
    "RUN_HISTORY_DAYS": ("run_history_days", '${local.run_history ? tostring(var.run_history_days) : "0"}'),
    "BASELINE_MIN_RUNS": ("baseline_min_runs", "${tostring(var.baseline_min_runs)}"),
    "DURATION_FACTOR": ("duration_factor", "${tostring(var.duration_factor)}"),
    "DURATION_MIN_EXTRA": ("duration_min_extra_minutes", "${tostring(var.duration_min_extra_minutes)}"),
    "NOTIFY_SLOW_SUCCESS": ("notify_slow_success", '${var.notify_slow_success ? "true" : "false"}'),
}
# (field, order or array_config) of each query in function/notifier/state/history.py.
INDEXES = {
    "runs_baseline": [("pipeline_key", "ASCENDING"), ("counts", "ASCENDING"), ("end_time", "DESCENDING")],
}


def _settings():
    function_dir = str(REPO / "function")
    if function_dir not in sys.path:
        sys.path.insert(0, function_dir)
    from notifier import settings

    return settings


def test_history_settings_reach_the_function_with_its_defaults(tf) -> None:
    env = tf.locals["function_env_all"]
    settings = _settings()
    for name, (variable, expression) in HISTORY_ENV.items():
        assert env[name] == expression, name
        default = tf.variables[variable]["default"]
        assert default == settings.BY_NAME[name].default, (
            f"{variable} = {default}, the function's is different"
        )
    # Without de-duplication there is no Firestore database: history is off, never half on.
    assert tf.locals["run_history"] == "${var.dedup_enabled && var.run_history_days > 0}"


def test_every_history_setting_is_set_by_terraform(tf) -> None:
    settings = _settings()
    history = {s.name for s in settings.SETTINGS if s.group == "history"}
    assert history - set(tf.locals["function_env_all"]) == {"BASELINE_RUNS"}  # a tuning knob, left at 20


def test_runs_expire_by_a_ttl_policy_on_expires_at(tf) -> None:
    field = tf.resource("google_firestore_field", "runs_ttl")
    assert field["count"] == "${local.run_history ? 1 : 0}"
    assert (field["collection"], field["field"]) == ("${var.runs_collection}", "expires_at")
    assert field["database"] == "${local.firestore_database}"
    assert "ttl_config" in field and "index_config" in field
    (precondition,) = blocks(block(field, "lifecycle")["precondition"])
    assert "var.dedup_collection, var.streaks_collection" in precondition["condition"]


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_each_query_has_its_composite_index(tf, name: str) -> None:
    index = tf.resource("google_firestore_index", name)
    assert index["count"] == "${local.run_history ? 1 : 0}"
    assert (index["collection"], index["database"]) == (
        "${var.runs_collection}",
        "${local.firestore_database}",
    )
    assert index["query_scope"] == "COLLECTION"
    fields = [(f["field_path"], f.get("order") or f.get("array_config")) for f in blocks(index["fields"])]
    assert fields == INDEXES[name]


def test_the_indexed_fields_are_the_stores_own(tf) -> None:
    source = (REPO / "function" / "notifier" / "state" / "history.py").read_text()
    for fields in INDEXES.values():
        for field, _ in fields:
            assert f'"{field}"' in source, f"{field} is indexed but the store never writes or asks it"
    # The store's docstring names each index as Terraform declares it.
    assert "(pipeline_key ASC, counts ASC, end_time DESC)" in source
    # The digest's period query rides on the automatic index: no composite index of its own.
    assert "the automatic single-field index, no composite one" in source
    assert set(tf.resources["google_firestore_index"]) == set(INDEXES), "an index no query of the store needs"


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("baseline_min_runs", 2, 1000), ("duration_factor", 1.1, 100), ("duration_min_extra_minutes", 0, 10080)],
)
def test_bounds_match_the_function(tf, name: str, low: float, high: float) -> None:
    (validation,) = tf.variables[name]["validation"]
    assert f"var.{name} >= {low}" in validation["condition"]
    assert f"var.{name} <= {high}" in validation["condition"]
    setting = next(
        s for s in _settings().SETTINGS if s.name == {v: k for k, (v, _) in HISTORY_ENV.items()}[name]
    )
    setting.kind.parse(str(low), setting.name)
    setting.kind.parse(str(high), setting.name)
