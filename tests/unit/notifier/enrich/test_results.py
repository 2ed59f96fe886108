"""Model results (blessing, push, metrics) read from the real-shaped job documents in tests/data/results.

Every job goes through the real ``aiplatform_v1.PipelineJob`` type and the notifier's own
``job_details``, as the Vertex AI client hands it over; the hostile variants must cost the
results at most, never the notification.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob

from notifier.enrich import vertex
from notifier.enrich.results import (
    KEYS_SCANNED_MAX,
    METRIC_NAME_MAX,
    METRICS_SHOWN,
    choose,
    metric_name,
    parse_results,
)
from notifier.enrich.vertex import job_details
from notifier.model import Metric, ModelResults
from tests.test_results_data import CASES, RESULTS


def results(case: str) -> ModelResults:
    return job_details(PipelineJob.from_json((RESULTS / f"{case}.job.json").read_text())).results


def named(result: ModelResults) -> dict[str, float]:
    return {metric.name: metric.value for metric in result.metrics}


def test_a_blessed_and_pushed_tfx_run() -> None:
    result = results("tfx-blessed-pushed")
    assert (result.blessed, result.pushed, result.infra_blessed) == (True, True, None)
    assert result.pushed_version == "1796276472"
    assert result.pushed_destination == "gs://acme-ml-models/churn/1796276472"
    assert not result.metrics and not result.not_blessed and result


def test_a_tfx_run_whose_model_was_not_blessed() -> None:
    result = results("tfx-not-blessed")
    assert (result.blessed, result.pushed) == (False, False)
    assert result.not_blessed and (result.pushed_version, result.pushed_destination) == ("", "")


def test_a_tfx_run_failing_before_the_evaluator_has_no_results() -> None:
    assert results("tfx-trainer-failed") == ModelResults()
    assert not results("tfx-trainer-failed")


@pytest.mark.parametrize("case", ["kfp-metrics-succeeded", "kfp-metrics-failed"])
def test_kfp_metrics_preferred_names_first_then_alphabetical(case: str) -> None:
    result = results(case)
    # Seven scalars in a Struct (no order kept): the six well-known ones, in PREFERRED order.
    assert [m.name for m in result.metrics] == ["auc", "accuracy", "f1", "precision", "recall", "logloss"]
    assert named(result)["auc"] == 0.9312
    assert (result.metrics_task, result.metrics_total) == ("evaluate", 7)
    # The classification metrics are a matrix and curves: no scalar of theirs is shown.
    assert "confusionMatrix" not in named(result) and result.blessed is None


def test_non_finite_values_as_protobuf_spells_them_and_as_bare_tokens() -> None:
    strings = named(results("hostile-metrics-nonfinite-strings"))
    assert math.isnan(strings["auc"]) and strings["accuracy"] == math.inf
    assert strings["logloss"] == -math.inf and strings["f1"] == math.inf
    bare = named(results("hostile-metrics-nonfinite-bare"))
    assert math.isnan(bare["auc"]) and bare["accuracy"] == math.inf and bare["logloss"] == -math.inf


def test_strings_booleans_nulls_and_unreadable_names_are_skipped() -> None:
    result = results("hostile-metrics-strings")
    shown = named(result)
    # "0.9312" (a string), true, "", null and "high" are no numbers; -0.0 is.
    assert "auc" not in shown and "f1" not in shown and "precision" not in shown
    assert "accuracy" not in shown and "logloss" not in shown
    assert shown["recall"] == 0.0 and shown["examples"] == 18234.0
    for name in shown:
        assert name.isprintable() and 0 < len(name) <= METRIC_NAME_MAX
    # Markup is a name like any other: the renderers escape it.
    assert "<!channel> *bold* `code` <https://evil.example|click>" in shown


def test_five_hundred_metrics_show_six_and_count_them_all() -> None:
    result = results("hostile-metrics-500")
    assert len(result.metrics) == METRICS_SHOWN and result.metrics_total == 500
    assert [m.name for m in result.metrics] == [f"m{n:03d}" for n in range(6)]


def test_nested_values_are_skipped_without_being_walked() -> None:
    shown = named(results("hostile-metrics-nested"))
    assert "deep" not in shown and "per_class" not in shown and shown["accuracy"] == 0.8875
    assert "auc" not in shown  # {"value": 0.9312}: a struct, not a number


def test_artifacts_without_metadata_or_without_artifacts() -> None:
    assert results("hostile-artifacts-no-metadata") == ModelResults()


def test_a_missing_blessing_leaves_the_push() -> None:
    result = results("hostile-blessing-missing")
    assert (result.blessed, result.pushed, result.pushed_version) == (None, True, "1796276472")
    assert not result.not_blessed


def test_an_unvalidated_blessing_and_a_hostile_push_say_nothing() -> None:
    result = results("hostile-blessing-unvalidated")
    # {} is no verdict; "1" is a string, not the number 1; 1e20 is no version; javascript: no destination.
    assert result == ModelResults() and not result


@pytest.mark.parametrize("case", CASES)
def test_every_case_parses_in_little_time(case: str) -> None:
    job = PipelineJob.from_json((RESULTS / f"{case}.job.json").read_text())
    assert isinstance(job_details(job).results, ModelResults)


def test_an_artifact_of_an_unknown_shape_costs_the_results_not_the_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Hostile:
        task_name = "evaluate"

        @property
        def outputs(self) -> object:
            raise RuntimeError("a shape never seen")

    assert parse_results([]) == ModelResults()
    with pytest.raises(RuntimeError):
        parse_results([Hostile()])
    # job_details' guard: the results are left out with a WARNING, the rest of the details stay.
    assert vertex._results([Hostile()]) == ModelResults()
    assert "Leaving the model results out: RuntimeError: a shape never seen" in caplog.text


def artifact(schema: str, metadata: object) -> SimpleNamespace:
    return SimpleNamespace(schema_title=schema, metadata=metadata)


def task(name: str, *artifacts: SimpleNamespace, end: object = None) -> SimpleNamespace:
    return SimpleNamespace(
        task_name=name, end_time=end, outputs={"out": SimpleNamespace(artifacts=list(artifacts))}
    )


def test_the_last_task_to_end_gives_the_metrics() -> None:
    from datetime import datetime, timezone

    early = datetime(2026, 12, 1, 5, tzinfo=timezone.utc)
    late = datetime(2026, 12, 1, 6, tzinfo=timezone.utc)
    result = parse_results(
        [
            task("evaluate-final", artifact("system.Metrics", {"auc": 0.95}), end=late),
            task("evaluate-baseline", artifact("system.Metrics", {"auc": 0.90}), end=early),
        ]
    )
    assert (result.metrics_task, named(result)) == ("evaluate-final", {"auc": 0.95})


def test_any_refusal_wins_and_an_infra_refusal_is_not_blessed() -> None:
    result = parse_results(
        [
            task("a", artifact("tfx.ModelBlessing", {"blessed": 1.0})),
            task("b", artifact("tfx.ModelBlessing", {"blessed": 0.0})),
            task("c", artifact("tfx.InfraBlessing", {"blessed": 0.0})),
        ]
    )
    assert result.blessed is False and result.infra_blessed is False and result.not_blessed
    infra_only = parse_results(
        [
            task("e", artifact("tfx.ModelBlessing", {"blessed": 1.0})),
            task("i", artifact("tfx.InfraBlessing", {"blessed": 0})),
        ]
    )
    assert infra_only.blessed is True and infra_only.not_blessed


def test_flags_are_the_numbers_one_and_zero_only() -> None:
    for value in (True, "1", 2.0, 0.5, None, [1], {"v": 1}):
        assert parse_results([task("e", artifact("tfx.ModelBlessing", {"blessed": value}))]).blessed is None


def test_scanning_is_bounded_per_artifact() -> None:
    many = {f"m{n:05d}": float(n) for n in range(KEYS_SCANNED_MAX * 3)}
    assert parse_results([task("e", artifact("system.Metrics", many))]).metrics_total == KEYS_SCANNED_MAX


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("auc", "auc"),
        ("  val_loss ", "val_loss"),
        ("", ""),
        ("a\nb", ""),
        ("rtl\u202e", ""),
        ("x" * 65, ""),
        (3, ""),
    ],
)
def test_metric_names(name: object, kept: str) -> None:
    assert metric_name(name) == kept


def test_choose_orders_preferred_names_case_insensitively_then_the_rest() -> None:
    chosen = choose({"zeta": 1.0, "Recall": 0.5, "AUC": 0.9, "alpha": 2.0, "beta": 3.0}, limit=4)
    assert chosen == (Metric("AUC", 0.9), Metric("Recall", 0.5), Metric("alpha", 2.0), Metric("beta", 3.0))
