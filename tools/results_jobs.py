"""Build the PipelineJob documents of tests/data/results/ from the compiled specs and captured outputs.

Run in the main venv, from the repository root, after ``tools/results_tfx.py`` and
``tools/results_kfp.py`` (which write the specs and the executor outputs it reads):

    .venv/bin/python tools/results_jobs.py tests/data/results

Each ``<case>.job.json`` is a PipelineJob as the Vertex AI REST API returns it to the
Python client (``google.cloud.aiplatform_v1``'s REST transport asks for
``$alt=json;enum-encoding=int``): camelCase field names, enums as integers, int64 as
strings, RFC 3339 times in UTC, ``google.protobuf.Struct`` values as JSON (every number
a double). ``pipelineSpec`` is the compiled spec itself. Tasks are what Vertex AI shows
while the exit handler runs: the job and its root task RUNNING, the guarded DAG
(``tfx-dag`` / ``exit-handler-1``) ended, the stub's task RUNNING. Each output artifact's
``metadata`` is the captured ExecutorOutput's. ``<case>.status.json`` is the final status
the stub publishes for the same run. See tests/data/results/README.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tfx_exit_stub.publish import final_status_json  # the stub's own serialiser

PROJECT_NUMBER = "271009669852"
LOCATION = f"projects/{PROJECT_NUMBER}/locations/us-central1"
STORE = f"{LOCATION}/metadataStores/default"
SERVICE_ACCOUNT = "pipelines@acme-ml-prod.iam.gserviceaccount.com"

# Enum values (google.cloud.aiplatform.v1): PipelineState, PipelineTaskDetail.State,
# Execution.State, Artifact.State.
JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED = 3, 4, 5
TASK_RUNNING, TASK_SUCCEEDED, TASK_FAILED = 2, 3, 7
EXEC_RUNNING, EXEC_COMPLETE, EXEC_FAILED = 2, 3, 4
ARTIFACT_LIVE = 2
DAG_FAILED = "The DAG failed because some tasks failed. The failed tasks are: [{}]."


def ts(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as protobuf's JSON mapping prints a Timestamp."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def etag(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


class Run:
    """One pipeline run being written down: its tasks, in the order Vertex lists them."""

    def __init__(self, job_id: str, spec: dict, start: datetime, params: dict, labels: dict) -> None:
        self.job_id = job_id
        self.spec = spec
        self.start = start
        self.params = params
        self.labels = labels
        self.tasks: list[dict] = []
        # Task and execution ids are int64s of 19 digits; derived from the job id so reruns match.
        self._next = 10**18 + int(hashlib.sha256(job_id.encode()).hexdigest()[:15], 16) % (8 * 10**18)

    def task_id(self) -> str:
        self._next += 7919
        return str(self._next)

    def task(
        self,
        name: str,
        *,
        parent: dict | None,
        start: datetime,
        end: datetime | None,
        state: int,
        schema: str,
        execution_id: str | None = None,
        metadata: dict | None = None,
        outputs: dict | None = None,
        inputs: dict | None = None,
        error: dict | None = None,
        custom_job: str | None = None,
    ) -> dict:
        task: dict[str, Any] = {"taskId": self.task_id()}
        if parent is not None:
            task["parentTaskId"] = parent["taskId"]
        task["taskName"] = name
        task["createTime"] = ts(start - timedelta(seconds=1))
        task["startTime"] = ts(start)
        if end is not None:
            task["endTime"] = ts(end)
        if custom_job:
            task["executorDetail"] = {"containerDetail": {"mainJob": f"{LOCATION}/customJobs/{custom_job}"}}
        task["state"] = state
        exec_state = {TASK_RUNNING: EXEC_RUNNING, TASK_SUCCEEDED: EXEC_COMPLETE, TASK_FAILED: EXEC_FAILED}[
            state
        ]
        updated = end or start
        task["execution"] = {
            "name": f"{STORE}/executions/{execution_id or self.task_id()}",
            "displayName": name,
            "state": exec_state,
            "etag": etag(updated),
            "createTime": ts(start - timedelta(seconds=1)),
            "updateTime": ts(updated),
            "schemaTitle": schema,
            "schemaVersion": "0.0.1",
            "metadata": metadata or {},
        }
        if error:
            task["error"] = error
        statuses = [{"updateTime": ts(start), "state": TASK_RUNNING}]
        if end is not None:
            statuses.append({"updateTime": ts(end), "state": state, **({"error": error} if error else {})})
        task["pipelineTaskStatus"] = statuses
        if inputs:
            task["inputs"] = inputs
        if outputs:
            task["outputs"] = outputs
        self.tasks.append(task)
        return task

    def job(self, stub_started: datetime, error: dict | None = None) -> dict:
        document: dict[str, Any] = {
            "name": f"{LOCATION}/pipelineJobs/{self.job_id}",
            "displayName": self.job_id,
            "createTime": ts(self.start - timedelta(seconds=6)),
            "startTime": ts(self.start),
            "updateTime": ts(stub_started),
            "pipelineSpec": self.spec,
            "state": JOB_RUNNING,
            "jobDetail": {
                "pipelineContext": _context(self.spec["pipelineInfo"]["name"], "system.Pipeline", self.start),
                "pipelineRunContext": _context(self.job_id, "system.PipelineRun", self.start),
                "taskDetails": self.tasks,
            },
            "labels": self.labels,
            "runtimeConfig": {"gcsOutputDirectory": self.spec_root(), "parameterValues": self.params},
            "serviceAccount": SERVICE_ACCOUNT,
        }
        if error:
            document["error"] = error
        return document

    def spec_root(self) -> str:
        return (
            self.spec.get("defaultPipelineRoot")
            or f"gs://acme-ml-pipelines/{self.spec['pipelineInfo']['name']}"
        )


def _context(name: str, schema: str, moment: datetime) -> dict:
    return {
        "name": f"{STORE}/contexts/{name}",
        "displayName": name,
        "etag": etag(moment),
        "createTime": ts(moment - timedelta(seconds=5)),
        "updateTime": ts(moment),
        "schemaTitle": schema,
        "schemaVersion": "0.0.1",
        "metadata": {},
    }


def artifact(
    runtime: dict, display_name: str, schema_title: str, moment: datetime, version: str | None
) -> dict:
    """A Vertex Artifact from a RuntimeArtifact of an ExecutorOutput (name, uri, metadata)."""
    result: dict[str, Any] = {
        "name": runtime["name"],
        "displayName": display_name,
        "uri": runtime["uri"],
        "etag": etag(moment),
        "createTime": ts(moment - timedelta(seconds=2)),
        "updateTime": ts(moment),
        "state": ARTIFACT_LIVE,
        "schemaTitle": schema_title,
    }
    if version:
        result["schemaVersion"] = version
    result["metadata"] = runtime.get("metadata", {})
    return result


def artifact_list(*artifacts: dict) -> dict:
    return {"artifacts": list(artifacts)}


def status(state: str, job_id: str, task_name: str, error: dict | None = None) -> str:
    """The final status as the stub publishes it (the KFP twin's serialiser, shared with TFX's shape)."""
    return final_status_json(
        state=state,
        pipeline_job_resource_name=f"{LOCATION}/pipelineJobs/{job_id}",
        pipeline_task_name=task_name,
        error_code=(error or {}).get("code"),
        error_message=(error or {}).get("message", ""),
    )


def tfx_status(state: str, job_id: str, error: dict | None = None) -> str:
    """TFX's FinalStatusStr as Vertex fills it in (the shape of tests/data/*.status.json)."""
    body = {
        "error": error or {},
        "pipelineJobResourceName": f"{LOCATION}/pipelineJobs/{job_id}",
        "pipelineTaskName": job_id,
        "state": state,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


# --- TFX --------------------------------------------------------------------------------

TFX_TITLES = {
    "examples": "tfx.Examples",
    "model": "tfx.Model",
    "model_run": "tfx.ModelRun",
    "blessing": "tfx.ModelBlessing",
    "evaluation": "tfx.ModelEvaluation",
    "pushed_model": "tfx.PushedModel",
}


def _tfx_params(spec: dict, task: str) -> dict:
    """``input:<name>`` execution metadata from the task's constant parameters in the spec."""
    params = spec["components"]["tfx-dag"]["dag"]["tasks"][task]["inputs"].get("parameters", {})
    metadata = {}
    for name, value in params.items():
        constant = value.get("runtimeValue", {}).get("constantValue", {})
        if "stringValue" in constant:
            metadata[f"input:{name}"] = constant["stringValue"]
        elif "intValue" in constant:
            metadata[f"input:{name}"] = float(constant["intValue"])
        elif "doubleValue" in constant:
            metadata[f"input:{name}"] = float(constant["doubleValue"])
    return metadata


def tfx_run(data: Path, case: str, captured: dict | None, *, trainer_fails: bool = False) -> tuple[dict, str]:
    spec = json.loads((data / "tfx-churn-training.pipeline.json").read_text())
    compiled = spec["pipelineSpec"]
    job_id = captured["job_id"] if captured else "churn-training-20261205050000"
    day = int(job_id[-8:-6])
    t0 = datetime(2026, 12, day, 5, 0, 8, 771204, tzinfo=timezone.utc)
    run = Run(job_id, compiled, t0, {}, dict(spec["labels"], team="growth-ml", env="prod"))
    root = run.task(job_id, parent=None, start=t0, end=None, state=TASK_RUNNING, schema="system.Run")
    dag = run.task(
        "tfx-dag",
        parent=root,
        start=t0 + timedelta(seconds=1),
        end=None,
        state=TASK_RUNNING,
        schema="system.DagExecution",
    )
    base = f"{run.spec_root()}/{PROJECT_NUMBER}/{job_id}"
    ids = (captured or {}).get("ids", {})
    t = t0 + timedelta(seconds=3)

    gen_end = t + timedelta(minutes=6, seconds=41)
    gen_exec = ids.get("trainer_exec", "6133926251712692224")[:-3] + "101"
    examples = artifact(
        {
            "name": f"{STORE}/artifacts/{gen_exec[:-3]}377",
            "uri": f"{base}/CsvExampleGen_{gen_exec}/examples",
            "metadata": {"span": 0.0, "split_names": '["train", "eval"]'},
        },
        "examples",
        TFX_TITLES["examples"],
        gen_end,
        None,
    )
    run.task(
        "CsvExampleGen",
        parent=dag,
        start=t,
        end=gen_end,
        state=TASK_SUCCEEDED,
        schema="system.ContainerExecution",
        execution_id=gen_exec,
        metadata=_tfx_params(compiled, "CsvExampleGen"),
        outputs={"examples": artifact_list(examples)},
        custom_job="1183208563021889536",
    )

    t = gen_end + timedelta(seconds=9)
    if trainer_fails:
        end = t + timedelta(minutes=11, seconds=2)
        error = {
            "code": 3,
            "message": (
                "The replica workerpool0-0 exited with a non-zero status of 1. Termination reason: Error. "
                "To find out more about why your job exited please check the logs: "
                "https://console.cloud.google.com/logs/viewer?project=271009669852&resource=ml_job%2Fjob_id%2F"
                "7701958213365465088&advancedFilter=resource.type%3D%22ml_job%22%0Aresource.labels.job_id%3D%22"
                "7701958213365465088%22"
            ),
        }
        run.task(
            "Trainer",
            parent=dag,
            start=t,
            end=end,
            state=TASK_FAILED,
            schema="system.ContainerExecution",
            execution_id="8622437183429574656",
            metadata=_tfx_params(compiled, "Trainer"),
            inputs={"examples": artifact_list(examples)},
            error=error,
            custom_job="7701958213365465088",
        )
        dag_end = end + timedelta(seconds=4)
        dag_error = {"code": 9, "message": DAG_FAILED.format("Trainer")}
        final_state = "FAILED"
    else:
        tasks = captured["tasks"]
        train_end = t + timedelta(minutes=24, seconds=17)
        model = artifact(
            {
                "name": f"{STORE}/artifacts/{ids['model']}",
                "uri": f"{base}/Trainer_{ids['trainer_exec']}/model",
                "metadata": {},
            },
            "model",
            TFX_TITLES["model"],
            train_end,
            None,
        )
        model_run = artifact(
            {
                "name": f"{STORE}/artifacts/{ids['model'][:-3]}913",
                "uri": f"{base}/Trainer_{ids['trainer_exec']}/model_run",
                "metadata": {},
            },
            "model_run",
            TFX_TITLES["model_run"],
            train_end,
            None,
        )
        run.task(
            "Trainer",
            parent=dag,
            start=t,
            end=train_end,
            state=TASK_SUCCEEDED,
            schema="system.ContainerExecution",
            execution_id=ids["trainer_exec"],
            metadata=_tfx_params(compiled, "Trainer"),
            inputs={"examples": artifact_list(examples)},
            outputs={"model": artifact_list(model), "model_run": artifact_list(model_run)},
            custom_job="2287417926553534464",
        )
        t = train_end + timedelta(seconds=8)
        eval_end = t + timedelta(minutes=9, seconds=36)
        outputs = {
            key: artifact_list(artifact(value["artifacts"][0], key, TFX_TITLES[key], eval_end, None))
            for key, value in tasks["Evaluator"].items()
        }
        run.task(
            "Evaluator",
            parent=dag,
            start=t,
            end=eval_end,
            state=TASK_SUCCEEDED,
            schema="system.ContainerExecution",
            execution_id=ids["evaluator_exec"],
            metadata=_tfx_params(compiled, "Evaluator"),
            inputs={"examples": artifact_list(examples), "model": artifact_list(model)},
            outputs=outputs,
            custom_job="5926540815029501952",
        )
        t = eval_end + timedelta(seconds=7)
        push_end = datetime.fromtimestamp(
            int(tasks["Pusher"]["pushed_model"]["artifacts"][0]["metadata"].get("pushed_version", 0))
            or (t + timedelta(seconds=52)).timestamp(),
            tz=timezone.utc,
        ) + timedelta(seconds=3)
        t = min(t, push_end - timedelta(seconds=40))
        pushed = artifact(
            tasks["Pusher"]["pushed_model"]["artifacts"][0],
            "pushed_model",
            TFX_TITLES["pushed_model"],
            push_end,
            None,
        )
        run.task(
            "Pusher",
            parent=dag,
            start=t,
            end=push_end,
            state=TASK_SUCCEEDED,
            schema="system.ContainerExecution",
            execution_id=ids["pusher_exec"],
            metadata=_tfx_params(compiled, "Pusher"),
            inputs={"model": artifact_list(model), "model_blessing": outputs["blessing"]},
            outputs={"pushed_model": artifact_list(pushed)},
            custom_job="3341208456019869696",
        )
        dag_end = push_end + timedelta(seconds=4)
        dag_error = None
        final_state = "SUCCEEDED"
    dag["state"] = TASK_FAILED if dag_error else TASK_SUCCEEDED
    _end_task(dag, dag_end, dag_error)
    stub_start = dag_end + timedelta(seconds=6)
    run.task(
        "PubSubExitHandler",
        parent=root,
        start=stub_start,
        end=None,
        state=TASK_RUNNING,
        schema="system.ContainerExecution",
        metadata=_tfx_params_exit(compiled),
        custom_job="6484330417912504320",
    )
    return run.job(stub_start), tfx_status(final_state, job_id, dag_error)


def _tfx_params_exit(spec: dict) -> dict:
    params = spec["root"]["dag"]["tasks"]["PubSubExitHandler"]["inputs"]["parameters"]
    return {
        f"input:{name}": value["runtimeValue"]["constantValue"]["stringValue"]
        for name, value in params.items()
        if "runtimeValue" in value
    }


def _end_task(task: dict, end: datetime, error: dict | None) -> None:
    """Mark a DAG task ended (its end is known only once its children have run)."""
    ordered: dict[str, Any] = {}
    for key, value in task.items():
        ordered[key] = value
        if key == "startTime":
            ordered["endTime"] = ts(end)
    task.clear()
    task.update(ordered)
    task["execution"]["state"] = EXEC_FAILED if error else EXEC_COMPLETE
    task["execution"]["updateTime"] = ts(end)
    task["execution"]["etag"] = etag(end)
    if error:
        task["error"] = error
    task["pipelineTaskStatus"].append(
        {"updateTime": ts(end), "state": task["state"], **({"error": error} if error else {})}
    )


# --- KFP --------------------------------------------------------------------------------


def kfp_run(data: Path, case: str, captured: dict) -> tuple[dict, str]:
    spec = json.loads((data / "kfp-fraud-training.pipeline.json").read_text())
    job_id, ids = captured["job_id"], captured["ids"]
    day = int(job_id[-8:-6])
    t0 = datetime(2026, 12, day, 6, 0, 9, 502118, tzinfo=timezone.utc)
    params = {
        "rows": 250000,
        "learning_rate": 0.05,
        "endpoint": "projects/acme-ml-prod/locations/us-central1/endpoints/4471958163128320000",
    }
    run = Run(
        job_id,
        spec,
        t0,
        params,
        {"team": "risk-ml", "env": "prod", "vertex-ai-pipelines-run-billing-id": "7312048891234"},
    )
    run_inputs = {f"input:{k}": float(v) if isinstance(v, int) else v for k, v in params.items()}
    root = run.task(
        job_id, parent=None, start=t0, end=None, state=TASK_RUNNING, schema="system.Run", metadata=run_inputs
    )
    channel = {f"input:pipelinechannel--{k}": v for k, v in run_inputs.items()}
    handler = run.task(
        "exit-handler-1",
        parent=root,
        start=t0 + timedelta(seconds=1),
        end=None,
        state=TASK_RUNNING,
        schema="system.DagExecution",
        metadata=channel,
    )
    base = f"{run.spec_root()}/{PROJECT_NUMBER}/{job_id}"
    t = t0 + timedelta(seconds=4)
    prep_end = t + timedelta(minutes=3, seconds=12)
    dataset = artifact(
        {
            "name": f"{STORE}/artifacts/{ids['dataset']}",
            "uri": f"{base}/prepare_{ids['prepare_exec']}/dataset",
            "metadata": {"rows": 250000.0},
        },
        "dataset",
        "system.Dataset",
        prep_end,
        "0.0.1",
    )
    run.task(
        "prepare",
        parent=handler,
        start=t,
        end=prep_end,
        state=TASK_SUCCEEDED,
        schema="system.ContainerExecution",
        execution_id=ids["prepare_exec"],
        metadata={"input:rows": 250000.0},
        outputs={"dataset": artifact_list(dataset)},
        custom_job="4029185734216155136",
    )
    t = prep_end + timedelta(seconds=6)
    train_end = t + timedelta(minutes=17, seconds=40)
    model = artifact(
        {
            "name": f"{STORE}/artifacts/{ids['model']}",
            "uri": f"{base}/train_{ids['train_exec']}/model",
            "metadata": {"framework": "xgboost", "learning_rate": 0.05},
        },
        "model",
        "system.Model",
        train_end,
        "0.0.1",
    )
    run.task(
        "train",
        parent=handler,
        start=t,
        end=train_end,
        state=TASK_SUCCEEDED,
        schema="system.ContainerExecution",
        execution_id=ids["train_exec"],
        metadata={"input:learning_rate": 0.05},
        inputs={"dataset": artifact_list(dataset)},
        outputs={"model": artifact_list(model)},
        custom_job="8640871752643543040",
    )
    t = train_end + timedelta(seconds=5)
    eval_end = t + timedelta(minutes=4, seconds=3)
    outputs = {}
    titles = {"metrics": "system.Metrics", "classification_metrics": "system.ClassificationMetrics"}
    for key, value in captured["evaluate"]["artifacts"].items():
        outputs[key] = artifact_list(artifact(value["artifacts"][0], key, titles[key], eval_end, "0.0.1"))
    run.task(
        "evaluate",
        parent=handler,
        start=t,
        end=eval_end,
        state=TASK_SUCCEEDED,
        schema="system.ContainerExecution",
        execution_id=ids["evaluate_exec"],
        inputs={"dataset": artifact_list(dataset), "model": artifact_list(model)},
        outputs=outputs,
        custom_job="1956513512934899712",
    )
    t = eval_end + timedelta(seconds=6)
    endpoint = params["endpoint"]
    if case == "failed":
        deploy_end = t + timedelta(minutes=2, seconds=19)
        error = {
            "code": 3,
            "message": (
                "The replica workerpool0-0 exited with a non-zero status of 1. Termination reason: Error. "
                "To find out more about why your job exited please check the logs: "
                "https://console.cloud.google.com/logs/viewer?project=271009669852&resource=ml_job%2Fjob_id%2F"
                "5568198431286460416&advancedFilter=resource.type%3D%22ml_job%22%0Aresource.labels.job_id%3D%22"
                "5568198431286460416%22"
            ),
        }
        run.task(
            "deploy",
            parent=handler,
            start=t,
            end=deploy_end,
            state=TASK_FAILED,
            schema="system.ContainerExecution",
            execution_id="2849116273385291776",
            metadata={"input:endpoint": endpoint},
            inputs={"model": artifact_list(model)},
            error=error,
            custom_job="5568198431286460416",
        )
        dag_error = {"code": 9, "message": DAG_FAILED.format("deploy")}
        final_state = "FAILED"
    else:
        deploy_end = t + timedelta(minutes=6, seconds=51)
        run.task(
            "deploy",
            parent=handler,
            start=t,
            end=deploy_end,
            state=TASK_SUCCEEDED,
            schema="system.ContainerExecution",
            execution_id="6118257429174206464",
            metadata={"input:endpoint": endpoint},
            inputs={"model": artifact_list(model)},
            custom_job="3107634019280093184",
        )
        dag_error = None
        final_state = "SUCCEEDED"
    handler["state"] = TASK_FAILED if dag_error else TASK_SUCCEEDED
    _end_task(handler, deploy_end + timedelta(seconds=3), dag_error)
    stub_start = deploy_end + timedelta(seconds=9)
    run.task(
        "pubsub-exit-handler",
        parent=root,
        start=stub_start,
        end=None,
        state=TASK_RUNNING,
        schema="system.ContainerExecution",
        metadata={
            "input:topic": "projects/acme-ml-prod/topics/pipeline-status",
            "input:gcp_region": "us-central1",
        },
        custom_job="7253990347826552832",
    )
    return run.job(stub_start), status(final_state, job_id, "exit-handler-1", dag_error)


# --- hostile variants ----------------------------------------------------------------------

NONFINITE_MARK = "__NONFINITE__"


def bare(token: str) -> str:
    """A value written into the file as the bare token (``NaN``, ``1e999``), which json.dumps cannot."""
    return NONFINITE_MARK + token


def _evaluate(job: dict) -> dict:
    return next(t for t in job["jobDetail"]["taskDetails"] if t["taskName"] == "evaluate")


def _renamed(job: dict, status_json: str, job_id: str) -> tuple[dict, str]:
    job = copy.deepcopy(job)
    old = job["name"].rsplit("/", 1)[1]
    text = json.dumps(job).replace(old, job_id)
    return json.loads(text), status_json.replace(old, job_id)


def hostile_cases(kfp_ok: tuple[dict, str], tfx_ok: tuple[dict, str]) -> dict[str, tuple[dict, str]]:
    cases: dict[str, tuple[dict, str]] = {}

    job, st = _renamed(*kfp_ok, "fraud-training-20261206060000")
    metrics = _evaluate(job)["outputs"]["metrics"]["artifacts"][0]["metadata"]
    # What a conforming JSON printer has to send for a double that JSON cannot hold: a string
    # (protobuf's printers refuse NaN/Infinity in a Value), and a literal too large for a double.
    metrics.update({"auc": "NaN", "accuracy": "Infinity", "logloss": "-Infinity", "f1": bare("1e999")})
    cases["hostile-metrics-nonfinite-strings"] = (job, st)

    job, st = _renamed(*kfp_ok, "fraud-training-20261207060000")
    metrics = _evaluate(job)["outputs"]["metrics"]["artifacts"][0]["metadata"]
    # Bare tokens: not JSON, but Python's json (and so the client's json_format.Parse) accepts them.
    metrics.update({"auc": bare("NaN"), "accuracy": bare("Infinity"), "logloss": bare("-Infinity")})
    cases["hostile-metrics-nonfinite-bare"] = (job, st)

    job, st = _renamed(*kfp_ok, "fraud-training-20261208060000")
    metrics = _evaluate(job)["outputs"]["metrics"]["artifacts"][0]["metadata"]
    metrics.update(
        {
            "auc": "0.9312",
            "accuracy": "high",
            "logloss": "",
            "f1": True,
            "precision": None,
            "recall": -0.0,
            "<!channel> *bold* `code` <https://evil.example|click>": 0.5,
            "line\nbreak\u202eRTL": 1e-320,
            "m" * 4000: 12345678901234567890.0,
            "": 0.1,
        }
    )
    cases["hostile-metrics-strings"] = (job, st)

    job, st = _renamed(*kfp_ok, "fraud-training-20261209060000")
    _evaluate(job)["outputs"]["metrics"]["artifacts"][0]["metadata"] = {
        f"m{i:03d}": i / 1000 for i in range(500)
    }
    cases["hostile-metrics-500"] = (job, st)

    job, st = _renamed(*kfp_ok, "fraud-training-20261210060000")
    deep: Any = 0.93
    for _ in range(40):
        deep = {"v": deep}
    _evaluate(job)["outputs"]["metrics"]["artifacts"][0]["metadata"] = {
        "auc": {"value": 0.9312, "lower": 0.92, "upper": 0.94},
        "per_class": {"fraud": {"recall": 0.82}, "legit": {"recall": 0.97}},
        "curve": [0.1, 0.5, [0.7, {"x": 0.9}]],
        "deep": deep,
        "accuracy": 0.8875,
    }
    cases["hostile-metrics-nested"] = (job, st)

    job, st = _renamed(*kfp_ok, "fraud-training-20261214060000")
    too_deep: Any = 0.93
    for _ in range(60):
        too_deep = {"v": too_deep}
    # Past protobuf's JSON parser's recursion limit (100; a Struct level costs two): the
    # client cannot parse this job at all, and get_pipeline_job raises ParseError.
    _evaluate(job)["outputs"]["metrics"]["artifacts"][0]["metadata"] = {"auc": 0.9312, "deep": too_deep}
    cases["hostile-metrics-too-deep"] = (job, st)

    job, st = _renamed(*kfp_ok, "fraud-training-20261211060000")
    evaluate = _evaluate(job)
    del evaluate["outputs"]["metrics"]["artifacts"][0]["metadata"]
    evaluate["outputs"]["classification_metrics"] = {"artifacts": []}
    evaluate["outputs"]["extra"] = {}
    del evaluate["execution"]["metadata"]
    cases["hostile-artifacts-no-metadata"] = (job, st)

    job, st = _renamed(*tfx_ok, "churn-training-20261212050000")
    tasks = {t["taskName"]: t for t in job["jobDetail"]["taskDetails"]}
    # The Evaluator without a blessing output; the Pusher's input of it gone as well.
    del tasks["Evaluator"]["outputs"]["blessing"]
    del tasks["Pusher"]["inputs"]["model_blessing"]
    cases["hostile-blessing-missing"] = (job, st)

    job, st = _renamed(*tfx_ok, "churn-training-20261213050000")
    tasks = {t["taskName"]: t for t in job["jobDetail"]["taskDetails"]}
    # An Evaluator with no thresholds returns before it sets any property: the blessing is bare.
    tasks["Evaluator"]["outputs"]["blessing"]["artifacts"][0]["metadata"] = {}
    tasks["Pusher"]["inputs"]["model_blessing"]["artifacts"][0]["metadata"] = {}
    pushed = tasks["Pusher"]["outputs"]["pushed_model"]["artifacts"][0]
    pushed["metadata"] = {
        "pushed": "1",
        "pushed_version": 1e20,
        "pushed_destination": "javascript:alert(1)//\n<!here> https://evil.example/<script>",
    }
    cases["hostile-blessing-unvalidated"] = (job, st)
    return cases


def write(data: Path, name: str, job: dict, status_json: str) -> None:
    text = json.dumps(job, indent=1, ensure_ascii=False)
    # Bare non-finite tokens and an out-of-range literal cannot come out of json.dumps.
    text = re.sub(f'"{NONFINITE_MARK}([-A-Za-z0-9.]+)"', r"\1", text)
    (data / f"{name}.job.json").write_text(text + "\n")
    (data / f"{name}.status.json").write_text(status_json + "\n")


def main(argv: list[str]) -> int:
    data = Path(argv[1] if len(argv) > 1 else "tests/data/results")
    tfx_out = json.loads((data / "tfx-executor-outputs.json").read_text())
    kfp_out = json.loads((data / "kfp-executor-outputs.json").read_text())
    built = {
        "tfx-blessed-pushed": tfx_run(data, "blessed", tfx_out["blessed"]),
        "tfx-not-blessed": tfx_run(data, "not-blessed", tfx_out["not-blessed"]),
        "tfx-trainer-failed": tfx_run(data, "trainer-failed", None, trainer_fails=True),
        "kfp-metrics-succeeded": kfp_run(data, "succeeded", kfp_out["succeeded"]),
        "kfp-metrics-failed": kfp_run(data, "failed", kfp_out["failed"]),
    }
    built.update(hostile_cases(built["kfp-metrics-succeeded"], built["tfx-blessed-pushed"]))
    for name, (job, status_json) in built.items():
        write(data, name, job, status_json)
        print(data / f"{name}.job.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
