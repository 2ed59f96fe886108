"""Compile the results test pipeline with KFP and capture what its evaluation task hands Vertex AI.

Run in the KFP tier's environment (``.venv-kfp``, built by ``bash .ci/tfx-tier.sh kfp``,
which installs the stub's wheel there), from the repository root:

    .venv-kfp/bin/python tools/results_kfp.py tests/data/results

It writes:

- ``kfp-fraud-training.pipeline.yaml``: the KFP 2.17 compiler's output for a pipeline
  prepare → train → evaluate → deploy, guarded by ``tfx_exit_stub.make_kfp_exit_handler()``
  as its ``dsl.ExitHandler``. ``evaluate`` logs seven scalars to a ``system.Metrics``
  output and a confusion matrix and ROC curve to a ``system.ClassificationMetrics`` one.
- ``kfp-fraud-training.pipeline.json``: the same spec as JSON, as the Vertex AI SDK reads
  the YAML into ``PipelineJob.pipelineSpec``.
- ``kfp-executor-outputs.json``: the ``ExecutorOutput`` JSON that KFP's own executor
  (``kfp.dsl.executor.Executor``, what the compiled container runs) writes when the
  ``evaluate`` function runs with the executor input Vertex AI hands it, once per case
  (``succeeded``, ``failed``; the metrics are the same, the run fails later in
  ``deploy``). Vertex records each output artifact's ``metadata`` as it is there.
"""

# No ``from __future__ import annotations``: KFP reads component annotations as objects.
import json
import sys
import tempfile
from pathlib import Path

import yaml  # kfp's own dependency
from kfp import compiler, dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output
from kfp.dsl.executor import Executor

from tfx_exit_stub import make_kfp_exit_handler

PIPELINE_NAME = "fraud-training"
IMAGE = "us-docker.pkg.dev/acme-ml-prod/pipelines/fraud:3.2.0"
TOPIC = "projects/acme-ml-prod/topics/pipeline-status"
INDEX = "https://us-central1-python.pkg.dev/acme-ml-prod/pipeline-wheels/simple/"
PIPELINE_ROOT = "gs://acme-ml-pipelines/fraud-training"
PROJECT_NUMBER = "271009669852"
STORE = f"projects/{PROJECT_NUMBER}/locations/us-central1/metadataStores/default/artifacts"


@dsl.component(base_image=IMAGE)
def prepare(rows: int, dataset: Output[Dataset]) -> None:
    """Select the training rows."""
    dataset.metadata["rows"] = rows


@dsl.component(base_image=IMAGE)
def train(dataset: Input[Dataset], learning_rate: float, model: Output[Model]) -> None:
    """Fit the model."""
    model.metadata["framework"] = "xgboost"
    model.metadata["learning_rate"] = learning_rate


@dsl.component(base_image=IMAGE)
def evaluate(
    model: Input[Model],
    dataset: Input[Dataset],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
) -> None:
    """Score the held-out rows: seven scalars, a confusion matrix and a ROC curve."""
    for name, value in (
        ("auc", 0.9312),
        ("accuracy", 0.8875),
        ("logloss", 0.28741),
        ("f1", 0.84213),
        ("precision", 0.86482),
        ("recall", 0.82051),
        ("examples", 18234),
    ):
        metrics.log_metric(name, value)
    classification_metrics.log_confusion_matrix(["legit", "fraud"], [[15012, 412], [504, 2306]])
    classification_metrics.log_roc_curve(
        fpr=[0.0, 0.0127, 0.0266, 0.0894, 1.0],
        tpr=[0.0, 0.6122, 0.8205, 0.9301, 1.0],
        threshold=[1.0, 0.8, 0.5, 0.2, 0.0],
    )


@dsl.component(base_image=IMAGE)
def deploy(model: Input[Model], endpoint: str) -> None:
    """Roll the model out to the serving endpoint."""
    print(model.uri, endpoint)


EXIT_HANDLER = make_kfp_exit_handler(pip_index_urls=[INDEX])


@dsl.pipeline(name=PIPELINE_NAME, pipeline_root=PIPELINE_ROOT)
def fraud_training(
    rows: int = 250000,
    learning_rate: float = 0.05,
    endpoint: str = "projects/acme-ml-prod/locations/us-central1/endpoints/4471958163128320000",
) -> None:
    """The pipeline whose runs the job documents describe."""
    exit_task = EXIT_HANDLER(topic=TOPIC, gcp_region="us-central1")
    with dsl.ExitHandler(exit_task):
        data = prepare(rows=rows)
        model = train(dataset=data.outputs["dataset"], learning_rate=learning_rate)
        scored = evaluate(model=model.outputs["model"], dataset=data.outputs["dataset"])
        deploy(model=model.outputs["model"], endpoint=endpoint).after(scored)


def _runtime_artifact(artifact_id: str, uri: str, schema_title: str) -> dict:
    return {
        "name": f"{STORE}/{artifact_id}",
        "type": {"schemaTitle": schema_title, "schemaVersion": "0.0.1"},
        "uri": uri,
        "metadata": {},
    }


def capture(job_id: str, ids: dict, work: Path) -> dict:
    """Run ``evaluate`` through KFP's executor with the input Vertex AI would hand it."""
    base = f"{PIPELINE_ROOT}/{PROJECT_NUMBER}/{job_id}"
    executor_input = {
        "inputs": {
            "artifacts": {
                "model": {
                    "artifacts": [
                        _runtime_artifact(
                            ids["model"], f"{base}/train_{ids['train_exec']}/model", "system.Model"
                        )
                    ]
                },
                "dataset": {
                    "artifacts": [
                        _runtime_artifact(
                            ids["dataset"], f"{base}/prepare_{ids['prepare_exec']}/dataset", "system.Dataset"
                        )
                    ]
                },
            }
        },
        "outputs": {
            "artifacts": {
                "metrics": {
                    "artifacts": [
                        _runtime_artifact(
                            ids["metrics"],
                            f"{base}/evaluate_{ids['evaluate_exec']}/metrics",
                            "system.Metrics",
                        )
                    ]
                },
                "classification_metrics": {
                    "artifacts": [
                        _runtime_artifact(
                            ids["classification_metrics"],
                            f"{base}/evaluate_{ids['evaluate_exec']}/classification_metrics",
                            "system.ClassificationMetrics",
                        )
                    ]
                },
            },
            "outputFile": str(work / "executor_output.json"),
        },
    }
    Executor(executor_input, evaluate.python_func).execute()
    return json.loads((work / "executor_output.json").read_text())


def main(argv: list) -> int:
    out_dir = Path(argv[1] if len(argv) > 1 else "tests/data/results")
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = out_dir / "kfp-fraud-training.pipeline.yaml"
    compiler.Compiler().compile(fraud_training, str(spec))
    print(spec)
    # The same spec as JSON: what the Vertex AI SDK puts in PipelineJob.pipelineSpec.
    as_json = out_dir / "kfp-fraud-training.pipeline.json"
    as_json.write_text(json.dumps(yaml.safe_load(spec.read_text()), indent=1, sort_keys=True) + "\n")
    print(as_json)
    cases = {
        "succeeded": (
            "fraud-training-20261203060000",
            {
                "prepare_exec": "2215718604301598720",
                "train_exec": "8953407396546846720",
                "evaluate_exec": "4341721378119450624",
                "dataset": "3357466823915962368",
                "model": "7969152842343350272",
                "metrics": "1051873997448658944",
                "classification_metrics": "5663560015876046848",
            },
        ),
        "failed": (
            "fraud-training-20261204060000",
            {
                "prepare_exec": "6827404622729969664",
                "train_exec": "2639050947548413952",
                "evaluate_exec": "8050713428117602304",
                "dataset": "7250740417636696064",
                "model": "1774425864848326656",
                "metrics": "6386049883275722752",
                "classification_metrics": "3177558926378860544",
            },
        ),
    }
    captured = {}
    for case, (job_id, ids) in cases.items():
        with tempfile.TemporaryDirectory() as work:
            captured[case] = {"job_id": job_id, "ids": ids, "evaluate": capture(job_id, ids, Path(work))}
    path = out_dir / "kfp-executor-outputs.json"
    path.write_text(json.dumps(captured, indent=1, sort_keys=True) + "\n")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
