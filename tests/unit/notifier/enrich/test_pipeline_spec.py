"""The exit-handler stub in a compiled spec: found in real KFP and TFX specs, with its settings.

The job files in tests/data/events carry a real KFP 2.17 compiled spec with the stub as its
exit handler, and a TFX 1.16 one (see tests/data/events/README.md).
"""

from __future__ import annotations

import json

from notifier.enrich.pipeline_spec import StubTask, plain, stub_exit_task
from tests.support.paths import DATA

EVENTS = DATA / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_the_stub_is_found_in_a_real_kfp_spec_with_its_settings() -> None:
    spec = load("churn-scoring-20261127070000.job.json")["pipelineSpec"]
    assert stub_exit_task(spec) == StubTask(
        "pubsub-exit-handler",
        (("slack_channel_id", "C0CHURN01"), ("on_failure_only", "false"), ("gcp_region", "us-central1")),
        reports_on="exit-handler-1",
    )


def test_the_stub_is_found_in_a_real_tfx_spec_with_its_typed_constants() -> None:
    # TFX 1.16's KubeflowV2DagRunner output: constantValue.stringValue, and the bool as intValue "1".
    spec = json.loads((EVENTS / "tfx-churn-training.pipeline.json").read_text())["pipelineSpec"]
    assert stub_exit_task(spec) == StubTask(
        "PubSubExitHandler",
        (("slack_channel_id", "C0CHURN01"), ("on_failure_only", "true"), ("gcp_region", "us-central1")),
        reports_on="tfx-dag",
    )


def test_a_setting_passed_from_a_pipeline_parameter_is_the_runs_value() -> None:
    spec = load("churn-scoring-20261127070000.job.json")["pipelineSpec"]
    inputs = spec["root"]["dag"]["tasks"]["pubsub-exit-handler"]["inputs"]["parameters"]
    inputs["slack_channel_id"] = {"componentInputParameter": "alert_channel"}
    spec["root"].setdefault("inputDefinitions", {}).setdefault("parameters", {})["alert_channel"] = {
        "defaultValue": "C0DEFAULTS",
        "parameterType": "STRING",
    }
    assert (
        dict(stub_exit_task(spec, {"alert_channel": "C0FROMRUN1"}).settings)["slack_channel_id"]
        == "C0FROMRUN1"
    )
    assert dict(stub_exit_task(spec, {}).settings)["slack_channel_id"] == "C0DEFAULTS"


def test_a_pipeline_without_the_stub_has_none() -> None:
    assert stub_exit_task(load("feature-backfill-20261127020000.job.json")["pipelineSpec"]) is None
    assert stub_exit_task({}) is None
    assert stub_exit_task({"root": {"dag": {"tasks": {"x": "not a task"}}}}) is None


def test_plain_turns_proto_composites_into_json_with_whole_numbers() -> None:
    from google.cloud.aiplatform_v1.types import PipelineJob

    job = PipelineJob.from_json(
        json.dumps(
            {"runtimeConfig": {"parameterValues": {"ids": [123, 456], "cfg": {"depth": 3, "lr": 0.5}}}}
        )
    )
    values = plain(job.runtime_config.parameter_values)
    assert values == {"ids": [123, 456], "cfg": {"depth": 3, "lr": 0.5}}
    assert json.dumps(values["ids"]) == "[123, 456]"
