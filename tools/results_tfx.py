"""Compile the results test pipeline with TFX and capture what its tasks hand Vertex AI.

Run in the TFX tier's environment (``.venv-tfx``, built by ``bash .ci/tfx-tier.sh tfx``,
which installs the stub's wheel there), from the repository root:

    .venv-tfx/bin/python tools/results_tfx.py tests/data/results

It writes:

- ``tfx-churn-training.pipeline.json``: what ``KubeflowV2DagRunner`` compiles for a TFX
  1.16 pipeline CsvExampleGen → Trainer → Evaluator (a TFMA config with thresholds, so
  it emits a ModelBlessing) → Pusher, with ``tfx_exit_stub.PubSubExitHandler`` as its
  exit handler. No InfraValidator: TFX 1.16's KubeflowV2 step builder refuses it
  (``NotImplementedError: The component type ... InfraValidator ... is not supported``),
  so a TFX pipeline on Vertex AI cannot have one. Its ``InfraBlessing`` is captured
  below all the same, for a parser that meets one from a custom component.
- ``tfx-executor-outputs.json``: for each case (``blessed``, ``not-blessed``), the
  ``ExecutorOutput`` JSON that the Evaluator, InfraValidator and Pusher containers write
  for Vertex AI (``kubeflow_v2_run_executor`` → ``translate_executor_output``), which
  Vertex records as the tasks' output artifacts' ``metadata``. The Pusher's custom
  properties come from running TFX's real Pusher executor (filesystem push into a
  temporary folder, whose path is then written as the ``gs://`` destination the
  compiled pipeline names); the InfraValidator's from TFX's own ``_mark_blessed`` /
  ``_mark_not_blessed``; the Evaluator's from the exact ``set_*_custom_property`` calls
  of ``tfx/components/evaluator/executor.py`` (its TFMA run needs a trained model, so
  it is not run here). Custom properties become ``metadata`` through TFX's own
  ``to_runtime_artifact``: ints turn into doubles, strings stay strings.
"""

# No ``from __future__ import annotations``: TFX reads component annotations as objects.
import json
import os
import sys
import tempfile
import types
from pathlib import Path

import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tfx import v1 as tfx
from tfx.components.evaluator import constants as evaluator_constants
from tfx.components.infra_validator import executor as infra_executor
from tfx.components.pusher import executor as pusher_executor
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as entrypoint_utils
from tfx.types import standard_artifacts, standard_component_specs

from tfx_exit_stub import PubSubExitHandler, set_exit_handler

PIPELINE_NAME = "churn-training"
PIPELINE_ROOT = "gs://acme-ml-pipelines/churn-training"
PUSH_BASE = "gs://acme-ml-models/churn"
IMAGE = "us-docker.pkg.dev/acme-ml-prod/pipelines/churn:1.16.0"
TOPIC = "projects/acme-ml-prod/topics/pipeline-status"
# Vertex names a task's output folder {root}/{project number}/{job id}/{task}_{execution id}/{output}.
PROJECT_NUMBER = "271009669852"
STORE = f"projects/{PROJECT_NUMBER}/locations/us-central1/metadataStores/default/artifacts"


def eval_config() -> tfma.EvalConfig:
    """An AUC floor and a binary-accuracy floor: the Evaluator blesses or not by these."""
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="churned")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(
                        class_name="AUC",
                        threshold=tfma.MetricThreshold(
                            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.85})
                        ),
                    ),
                    tfma.MetricConfig(
                        class_name="BinaryAccuracy",
                        threshold=tfma.MetricThreshold(
                            value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.8})
                        ),
                    ),
                ]
            )
        ],
    )


def build_pipeline() -> tfx.dsl.Pipeline:
    """The pipeline whose runs the job documents describe."""
    example_gen = tfx.components.CsvExampleGen(input_base="gs://acme-ml-data/churn/daily")
    trainer = tfx.components.Trainer(
        examples=example_gen.outputs["examples"],
        run_fn="churn_model.trainer.run_fn",  # a module of the pipeline's image
        train_args=tfx.proto.TrainArgs(num_steps=5000),
        eval_args=tfx.proto.EvalArgs(num_steps=200),
    )
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        eval_config=eval_config(),
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=PUSH_BASE)
        ),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=PIPELINE_NAME,
        pipeline_root=PIPELINE_ROOT,
        components=[example_gen, trainer, evaluator, pusher],
    )


def compile_pipeline(out_dir: Path) -> Path:
    """Write the compiled pipeline (the PipelineJob template) as KubeflowV2DagRunner does."""
    config = tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=IMAGE)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=config, output_dir=str(out_dir), output_filename="tfx-churn-training.pipeline.json"
    )
    handler = PubSubExitHandler(
        final_status=tfx.orchestration.experimental.FinalStatusStr(), topic=TOPIC, gcp_region="us-central1"
    )
    set_exit_handler(runner, handler)
    runner.run(build_pipeline(), write_out=True)
    path = out_dir / "tfx-churn-training.pipeline.json"
    # Re-indent for review; the content is the runner's.
    path.write_text(json.dumps(json.loads(path.read_text()), indent=1, sort_keys=True) + "\n")
    return path


def _task_uri(job_id: str, task: str, execution_id: str, output: str) -> str:
    return f"{PIPELINE_ROOT}/{PROJECT_NUMBER}/{job_id}/{task}_{execution_id}/{output}"


def _artifact(cls: type, uri: str, artifact_id: int) -> object:
    artifact = cls()
    artifact.uri = uri
    artifact.id = artifact_id
    return artifact


def _executor_output(outputs: dict, names: dict, blessing_keys: tuple = ()) -> dict:
    """ExecutorOutput JSON as kubeflow_v2_run_executor writes it for these output artifacts."""
    for key in blessing_keys:
        entrypoint_utils.refactor_model_blessing(outputs[key][0], names)
    translated = entrypoint_utils.translate_executor_output(outputs, names)
    return {key: json.loads(json_format.MessageToJson(value)) for key, value in translated.items()}


def capture(blessed: bool, job_id: str, push_time: int, work: Path, ids: dict) -> dict:
    """The three tasks' executor outputs for one run, blessed (and pushed) or not."""
    names = {artifact_id: f"{STORE}/{artifact_id}" for artifact_id in ids.values()}
    model_uri = _task_uri(job_id, "Trainer", ids["trainer_exec"], "model")
    model = _artifact(standard_artifacts.Model, model_uri, ids["model"])

    # Evaluator: the calls tfx/components/evaluator/executor.py makes once TFMA has validated.
    blessing = _artifact(
        standard_artifacts.ModelBlessing,
        _task_uri(job_id, "Evaluator", ids["evaluator_exec"], "blessing"),
        ids["blessing"],
    )
    evaluation = _artifact(
        standard_artifacts.ModelEvaluation,
        _task_uri(job_id, "Evaluator", ids["evaluator_exec"], "evaluation"),
        ids["evaluation"],
    )
    blessing.set_string_custom_property(
        evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri
    )
    blessing.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
    blessing.set_int_custom_property(
        evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY,
        evaluator_constants.BLESSED_VALUE if blessed else evaluator_constants.NOT_BLESSED_VALUE,
    )
    evaluator = _executor_output(
        {"blessing": [blessing], "evaluation": [evaluation]}, names, blessing_keys=("blessing",)
    )

    # InfraValidator: TFX's own markers (the serving itself needs Kubernetes).
    infra_blessing = _artifact(
        standard_artifacts.InfraBlessing,
        _task_uri(job_id, "InfraValidator", ids["infra_exec"], "blessing"),
        ids["infra_blessing"],
    )
    local_infra = work / "infra_blessing"
    local_infra.mkdir(parents=True, exist_ok=True)
    remote_infra_uri = infra_blessing.uri
    infra_blessing.uri = str(local_infra)  # the marker writes INFRA_BLESSED / INFRA_NOT_BLESSED there
    if blessed:
        infra_executor._mark_blessed(infra_blessing)
    else:
        infra_executor._mark_not_blessed(infra_blessing)
    infra_blessing.uri = remote_infra_uri
    infra = _executor_output({"blessing": [infra_blessing]}, names)

    # Pusher: TFX's real executor, pushing to a local folder that stands for PUSH_BASE.
    local_model = work / "model"
    (local_model / "Format-Serving" / "variables").mkdir(parents=True, exist_ok=True)
    (local_model / "Format-Serving" / "saved_model.pb").write_bytes(b"\x08\x01")
    local_blessing = work / "blessing"
    local_blessing.mkdir(parents=True, exist_ok=True)
    (local_blessing / ("BLESSED" if blessed else "NOT_BLESSED")).write_text("")
    local_push_base = work / "push"
    pushed = _artifact(
        standard_artifacts.PushedModel,
        _task_uri(job_id, "Pusher", ids["pusher_exec"], "pushed_model"),
        ids["pushed"],
    )
    remote_pushed_uri = pushed.uri
    pushed.uri = str(work / "pushed_model")
    model_in = _artifact(standard_artifacts.Model, str(local_model), ids["model"])
    blessing_in = _artifact(standard_artifacts.ModelBlessing, str(local_blessing), ids["blessing"])
    blessing_in.set_int_custom_property("blessed", 1 if blessed else 0)
    push_destination = tfx.proto.PushDestination(
        filesystem=tfx.proto.PushDestination.Filesystem(base_directory=str(local_push_base))
    )
    # The pushed version is the push's wall-clock second: pinned to the run's own time.
    real_time = pusher_executor.time
    pusher_executor.time = types.SimpleNamespace(time=lambda: float(push_time))
    try:
        pusher_executor.Executor().Do(
            {
                standard_component_specs.MODEL_KEY: [model_in],
                standard_component_specs.MODEL_BLESSING_KEY: [blessing_in],
            },
            {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
            {standard_component_specs.PUSH_DESTINATION_KEY: json_format.MessageToJson(push_destination)},
        )
    finally:
        pusher_executor.time = real_time
    pushed.uri = remote_pushed_uri
    if pushed.has_custom_property("pushed_destination"):
        local = pushed.get_string_custom_property("pushed_destination")
        pushed.set_string_custom_property(
            "pushed_destination", local.replace(str(local_push_base), PUSH_BASE)
        )
    pusher = _executor_output({"pushed_model": [pushed]}, names)
    return {"Evaluator": evaluator, "InfraValidator": infra, "Pusher": pusher}


def main(argv: list) -> int:
    out_dir = Path(argv[1] if len(argv) > 1 else "tests/data/results")
    out_dir.mkdir(parents=True, exist_ok=True)
    print(compile_pipeline(out_dir))
    # MLMD ids as Vertex shows them (artifact and execution ids are int64, printed in decimal).
    cases = {
        "blessed": (
            "churn-training-20261203050000",
            1796276472,
            {
                "trainer_exec": "6133926251712692224",
                "evaluator_exec": "1522240233285304320",
                "infra_exec": "5269231322933690368",
                "pusher_exec": "3936661441487388672",
                "model": 4817423562240419840,
                "blessing": 8249634937604620288,
                "evaluation": 926765412958453760,
                "infra_blessing": 5685470305108852736,
                "pushed": 2059873532081979392,
            },
        ),
        "not-blessed": (
            "churn-training-20261204050000",
            1796362811,
            {
                "trainer_exec": "7385224917472296960",
                "evaluator_exec": "2773538899045007360",
                "infra_exec": "6520529988693753856",
                "pusher_exec": "5187960107247452160",
                "model": 6068722227999965184,
                "blessing": 1315863841289502720,
                "evaluation": 3027418298248798208,
                "infra_blessing": 8801951218745901056,
                "pushed": 4408716097913454592,
            },
        ),
    }
    captured = {}
    for case, (job_id, push_time, ids) in cases.items():
        with tempfile.TemporaryDirectory() as work:
            tasks = capture(case == "blessed", job_id, push_time, Path(work), ids)
            captured[case] = {"job_id": job_id, "ids": {k: str(v) for k, v in ids.items()}, "tasks": tasks}
    path = out_dir / "tfx-executor-outputs.json"
    path.write_text(json.dumps(captured, indent=1, sort_keys=True) + "\n")
    print(path)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main(sys.argv))
