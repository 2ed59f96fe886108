"""The model-results test data (tests/data/results) keeps the shape Vertex AI gives it.

Every job document must parse through the real ``aiplatform_v1.PipelineJob.from_json``
(unknown fields refused), keep the REST encoding (enums as integers, int64 as strings),
carry its compiled spec unchanged, chain its nested DAGs by ``parentTaskId``, show the
exit handler's timing, and hold the artifacts its case is about; its final status must
parse through the notifier's own parser. A hand edit that breaks any of this fails here.
How the files were made: tests/data/results/README.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob, PipelineState, PipelineTaskDetail
from google.protobuf import json_format

from notifier.enrich.pipeline_spec import stub_exit_task
from notifier.sources.final_status import parse_status
from tests.support.paths import DATA

RESULTS = DATA / "results"
ALL_CASES = sorted(p.name.removesuffix(".job.json") for p in RESULTS.glob("*.job.json"))
# Too deep for protobuf's JSON parser: the client refuses the whole job (tested below).
UNPARSABLE = {"hostile-metrics-too-deep"}
CASES = [case for case in ALL_CASES if case not in UNPARSABLE]
TFX_SPEC = json.loads((RESULTS / "tfx-churn-training.pipeline.json").read_text())["pipelineSpec"]
KFP_SPEC = json.loads((RESULTS / "kfp-fraud-training.pipeline.json").read_text())
TFX_OUT = json.loads((RESULTS / "tfx-executor-outputs.json").read_text())
KFP_OUT = json.loads((RESULTS / "kfp-executor-outputs.json").read_text())
GENUINE = {
    "tfx-blessed-pushed",
    "tfx-not-blessed",
    "tfx-trainer-failed",
    "kfp-metrics-succeeded",
    "kfp-metrics-failed",
}


def raw(case: str) -> dict[str, Any]:
    # json.loads, like the client's json_format.Parse, takes the bare NaN of one hostile case.
    return json.loads((RESULTS / f"{case}.job.json").read_text())


def job(case: str) -> PipelineJob:
    return PipelineJob.from_json((RESULTS / f"{case}.job.json").read_text())


def tasks(case: str) -> dict[str, PipelineTaskDetail]:
    return {t.task_name: t for t in job(case).job_detail.task_details}


def metadata(task: PipelineTaskDetail, output: str) -> dict[str, Any]:
    [artifact] = task.outputs[output].artifacts
    return dict(artifact.metadata)


def test_the_cases_are_all_there() -> None:
    assert set(CASES) >= GENUINE
    assert len(ALL_CASES) == 14
    for case in ALL_CASES:
        assert (RESULTS / f"{case}.status.json").is_file(), case


@pytest.mark.parametrize("case", CASES)
def test_a_job_parses_as_the_rest_api_encodes_it(case: str) -> None:
    document = raw(case)
    parsed = job(case)
    assert parsed.name == document["name"]
    # Enums are integers, int64s strings: the client's REST transport asks for enum-encoding=int.
    assert document["state"] == PipelineState.PIPELINE_STATE_RUNNING == parsed.state
    for task in document["jobDetail"]["taskDetails"]:
        assert isinstance(task["state"], int) and isinstance(task["taskId"], str), task["taskName"]
        assert isinstance(task["execution"]["state"], int)
        for outputs in task.get("outputs", {}).values():
            for artifact in outputs.get("artifacts", []):
                assert artifact["state"] == 2 and artifact["schemaTitle"], artifact["name"]
    spec = TFX_SPEC if case.startswith(("tfx-", "hostile-blessing")) else KFP_SPEC
    assert document["pipelineSpec"] == spec, "the job carries the compiled spec unchanged"


@pytest.mark.parametrize("case", CASES)
def test_nested_dags_chain_by_parent_and_the_exit_handler_is_still_running(case: str) -> None:
    details = list(job(case).job_detail.task_details)
    by_id = {t.task_id: t for t in details}
    assert len(by_id) == len(details), "task ids are unique"
    [root] = [t for t in details if not t.parent_task_id]
    assert root.task_name == job(case).display_name
    assert all(t.parent_task_id in by_id for t in details if t is not root)

    stub, guarded = (
        ("PubSubExitHandler", "tfx-dag")
        if case.startswith(("tfx", "hostile-b"))
        else (
            "pubsub-exit-handler",
            "exit-handler-1",
        )
    )
    named = {t.task_name: t for t in details}
    # The stub runs while the job (and its root task) has not ended, after the DAG it reports on.
    assert root.state == named[stub].state == PipelineTaskDetail.State.RUNNING
    assert not root.end_time and not named[stub].end_time and not job(case).end_time
    assert named[stub].parent_task_id == named[guarded].parent_task_id == root.task_id
    assert named[guarded].end_time and named[guarded].end_time < named[stub].start_time
    for task in details:
        if task.parent_task_id == named[guarded].task_id:
            assert task.end_time <= named[guarded].end_time, task.task_name

    status = parse_status((RESULTS / f"{case}.status.json").read_bytes())
    assert status.state == {3: "SUCCEEDED", 7: "FAILED"}[named[guarded].state]
    assert status.pipeline_job_resource_name == job(case).name


@pytest.mark.parametrize("spec", [TFX_SPEC, KFP_SPEC], ids=["tfx", "kfp"])
def test_the_compiled_specs_have_the_stub_reporting_on_the_guarded_dag(spec: dict[str, Any]) -> None:
    stub = stub_exit_task(spec)
    assert stub is not None
    assert stub.reports_on in {"tfx-dag", "exit-handler-1"}
    assert dict(stub.settings)["gcp_region"] == "us-central1"


@pytest.mark.parametrize(
    ("case", "blessed", "pushed"), [("tfx-blessed-pushed", 1.0, 1.0), ("tfx-not-blessed", 0.0, 0.0)]
)
def test_tfx_blessing_and_push(case: str, blessed: float, pushed: float) -> None:
    named = tasks(case)
    [blessing] = named["Evaluator"].outputs["blessing"].artifacts
    assert blessing.schema_title == "tfx.ModelBlessing"
    assert blessing.metadata["blessed"] == blessed
    # The Pusher's input is the same artifact.
    assert named["Pusher"].inputs["model_blessing"].artifacts[0].name == blessing.name
    [model] = named["Trainer"].outputs["model"].artifacts
    assert blessing.metadata["current_model_id"] == model.name
    assert blessing.metadata["current_model"] == model.uri
    [push] = named["Pusher"].outputs["pushed_model"].artifacts
    assert push.schema_title == "tfx.PushedModel"
    assert push.metadata["pushed"] == pushed
    if pushed:
        assert push.metadata["pushed_version"] == "1796276472"
        assert push.metadata["pushed_destination"] == "gs://acme-ml-models/churn/1796276472"
    else:
        assert set(push.metadata) == {"pushed"}


def test_a_tfx_run_failing_in_the_trainer_has_no_results() -> None:
    named = tasks("tfx-trainer-failed")
    assert named["Trainer"].state == PipelineTaskDetail.State.FAILED
    assert named["tfx-dag"].error.code == 9
    assert "Evaluator" not in named and "Pusher" not in named
    assert not named["Trainer"].outputs


@pytest.mark.parametrize("case", ["kfp-metrics-succeeded", "kfp-metrics-failed"])
def test_kfp_metrics_and_classification_metrics(case: str) -> None:
    named = tasks(case)
    evaluate = named["evaluate"]
    [metrics] = evaluate.outputs["metrics"].artifacts
    assert metrics.schema_title == "system.Metrics" and metrics.display_name == "metrics"
    scalars = dict(metrics.metadata)
    # A Struct is a map: its keys come back in no particular order (not the logging order).
    assert sorted(scalars) == ["accuracy", "auc", "examples", "f1", "logloss", "precision", "recall"]
    assert scalars["auc"] == 0.9312 and scalars["examples"] == 18234.0
    [classification] = evaluate.outputs["classification_metrics"].artifacts
    assert classification.schema_title == "system.ClassificationMetrics"
    matrix = classification.metadata["confusionMatrix"]
    assert [spec["displayName"] for spec in matrix["annotationSpecs"]] == ["legit", "fraud"]
    assert [row["row"] for row in matrix["rows"]] == [[15012, 412], [504, 2306]]
    assert len(classification.metadata["confidenceMetrics"]) == 5
    deploy = named["deploy"]
    failed = case.endswith("failed")
    assert deploy.state == (PipelineTaskDetail.State.FAILED if failed else PipelineTaskDetail.State.SUCCEEDED)


def test_genuine_jobs_carry_the_captured_executor_outputs() -> None:
    for case, captured in (
        ("tfx-blessed-pushed", TFX_OUT["blessed"]),
        ("tfx-not-blessed", TFX_OUT["not-blessed"]),
    ):
        named = {t["taskName"]: t for t in raw(case)["jobDetail"]["taskDetails"]}
        for task in ("Evaluator", "Pusher"):
            for key, value in captured["tasks"][task].items():
                [artifact] = named[task]["outputs"][key]["artifacts"]
                assert {k: artifact[k] for k in ("name", "uri", "metadata")} == value["artifacts"][0], (
                    case,
                    key,
                )
    for case, captured in (
        ("kfp-metrics-succeeded", KFP_OUT["succeeded"]),
        ("kfp-metrics-failed", KFP_OUT["failed"]),
    ):
        [evaluate] = [t for t in raw(case)["jobDetail"]["taskDetails"] if t["taskName"] == "evaluate"]
        for key, value in captured["evaluate"]["artifacts"].items():
            [artifact] = evaluate["outputs"][key]["artifacts"]
            assert {k: artifact[k] for k in ("name", "uri", "metadata")} == value["artifacts"][0], (case, key)


def test_non_finite_metrics_arrive_as_strings_or_as_infinities() -> None:
    strings = metadata(tasks("hostile-metrics-nonfinite-strings")["evaluate"], "metrics")
    assert (strings["auc"], strings["accuracy"], strings["logloss"]) == ("NaN", "Infinity", "-Infinity")
    assert strings["f1"] == math.inf  # 1e999 is valid JSON and parses past a double's range
    bare = metadata(tasks("hostile-metrics-nonfinite-bare")["evaluate"], "metrics")
    assert math.isnan(bare["auc"]) and bare["accuracy"] == math.inf and bare["logloss"] == -math.inf


def test_hostile_metric_shapes() -> None:
    strings = metadata(tasks("hostile-metrics-strings")["evaluate"], "metrics")
    assert strings["auc"] == "0.9312" and strings["f1"] is True and strings["precision"] is None
    assert any(len(name) == 4000 for name in strings) and "" in strings
    many = metadata(tasks("hostile-metrics-500")["evaluate"], "metrics")
    assert len(many) == 500
    nested = metadata(tasks("hostile-metrics-nested")["evaluate"], "metrics")
    depth, value = 0, nested["deep"]
    while isinstance(value, Mapping):
        depth, value = depth + 1, value["v"]
    assert depth == 40 and nested["auc"]["value"] == 0.9312


def test_metadata_nested_past_the_parsers_limit_makes_the_whole_job_unparsable() -> None:
    text = (RESULTS / "hostile-metrics-too-deep.job.json").read_text()
    json.loads(text)  # valid JSON, 60 levels deep in one artifact's metadata
    with pytest.raises(json_format.ParseError, match="too deep"):
        PipelineJob.from_json(text)
    status = parse_status((RESULTS / "hostile-metrics-too-deep.status.json").read_bytes())
    assert status.state == "SUCCEEDED"


def test_hostile_artifacts_without_metadata_and_a_missing_blessing() -> None:
    evaluate = tasks("hostile-artifacts-no-metadata")["evaluate"]
    # proto-plus hands back None, not an empty mapping, for a Struct the document leaves out.
    assert evaluate.outputs["metrics"].artifacts[0].metadata is None
    assert list(evaluate.outputs["classification_metrics"].artifacts) == []
    assert "extra" in evaluate.outputs and evaluate.execution.metadata is None
    missing = tasks("hostile-blessing-missing")
    assert "blessing" not in missing["Evaluator"].outputs and "model_blessing" not in missing["Pusher"].inputs
    bare = tasks("hostile-blessing-unvalidated")
    assert metadata(bare["Evaluator"], "blessing") == {}
    pushed = metadata(bare["Pusher"], "pushed_model")
    assert pushed["pushed"] == "1" and pushed["pushed_version"] == 1e20


def test_the_readme_names_every_file() -> None:
    readme = (RESULTS / "README.md").read_text()
    for path in sorted(Path(RESULTS).iterdir()):
        if path.name != "README.md":
            stem = path.name.split(".")[0]
            assert stem in readme, path.name
