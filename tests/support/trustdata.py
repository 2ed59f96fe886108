"""PipelineJobs for the trust-boundary tests: what Vertex AI says while a genuine notice is sent.

The exit-handler stub runs before Vertex marks the job ended, so a genuine final status
normally arrives while the job's own state is still RUNNING: the stub's task RUNNING, the
task it reports on (its ``taskFinalStatus.producerTask``: ``exit-handler-1`` in KFP,
``tfx-dag`` in TFX) already ended. The documents in ``tests/data/trust`` are that moment,
derived here from the real compiled specs in ``tests/data/events`` (see the README there):

    .venv/bin/python -m tests.support.trustdata      # rewrites tests/data/trust/*.json

``tests/test_trust_data.py`` fails when a file and its derivation disagree.

``Run`` gives each test runs of its own (job ids and pipeline names no other test uses:
claims and streaks outlive a test), registered in the Vertex stand-in as Vertex returns
them, with the stub's final status for each.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sandbox.logging_standin import ml_job_entries
from sandbox.vertex_standin import VertexStandin
from tests.support.paths import DATA

EVENTS = DATA / "events"
TRUST = DATA / "trust"
NUMBER = "271009669852"
PROJECT_ID = "acme-ml-prod"
REGION = "us-central1"
SPEC_CHANNEL = "C0CHURN01"  # the stub's slack_channel_id constant in both compiled specs
CUSTOM_JOB = "4411223344556677889"  # the train task's CustomJob (its error message links its logs)

# PipelineState and PipelineTaskDetail.State, as the REST transport encodes them (integers).
JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED = 3, 4, 5
TASK_RUNNING, TASK_SUCCEEDED, TASK_FAILED = 2, 3, 7
DAG_FAILED = "The DAG failed because some tasks failed. The failed tasks are: [{}]."
# The stub's task, and the task it reports on (its taskFinalStatus producer), in KFP and TFX.
STUB_TASKS = ("pubsub-exit-handler", "PubSubExitHandler")
REPORTED_TASKS = ("exit-handler-1", "tfx-dag")

# --- secrets a pipeline can carry: each must never reach Slack, Google Chat or an SMS ----------
# Label -> the text that must not appear. Shapes as the services issue them; values made up.
SECRET_PARAMETERS = {  # names that look secret: shown as ••••
    "slack_token": "xoxb-2718281828-3141592653-TrustSuiteFakeTok01",
    "api_key": "AIzaSyTrustSuiteFakeKey0123456789abcdef",
    "db_password": "correct-horse-battery-staple",
    "warehouse_credential": "wh-cred-5f0c1e2d9a",
    "auth_header": "opaque-auth-value-7731",
}
URL_PASSWORD = "Sup3rS3cretPw"
GITHUB_PAT = "github_pat_11TRUSTSUITE0fake01234_" + ("a1B2c3D4e5F6g7H8i9J0" * 3)[:59]
PLAIN_PARAMETERS: dict[str, Any] = {  # ordinary names; token shapes inside must still go
    "rows": 1000,
    "learning_rate": 0.01,
    "source_uri": f"https://etl:{URL_PASSWORD}@warehouse.internal.example/export",
    "notes": f"deploy with {GITHUB_PAT}",
}
STATUS_AWS_KEY = "AKIATRUSTSUITE000001"
TASK_AWS_KEY = "AKIATRUSTSUITE000002"
BEARER = "ya29.TrustSuiteFakeAccessToken-0123456789abcdef"
XAPP = "xapp-1-A0TRUST01-2718281828-0123456789abcdef0123456789abcdef"
GHP = "ghp_TrustSuiteFake0123456789abcdefghijkl"
XOXP = "xoxp-1111111111-2222222222-3333333333-0123456789abcdef0123456789abcdef"
LOG_PASSWORD = "Hunter2Hunter2"
PEM_BODY = "MIIEowIBAAKCAQEAtrustsuitefakekeymaterial0123456789abcdefABCDEFGH"
SECRETS = {
    **{f"parameter {name}": value for name, value in SECRET_PARAMETERS.items()},
    "URL password in a parameter": URL_PASSWORD,
    "GitHub PAT in a parameter": GITHUB_PAT,
    "AWS key in the status error": STATUS_AWS_KEY,
    "AWS key in the task error": TASK_AWS_KEY,
    "Bearer token in the task error": BEARER,
    "Slack app token in the task error": XAPP,
    "GitHub token in the log": GHP,
    "Slack user token in the log": XOXP,
    "URL password in the log": LOG_PASSWORD,
    "private key in the log": PEM_BODY,
}
TASK_ERROR = (
    "The replica workerpool0-0 exited with a non-zero status of 1. Termination reason: Error. "
    f"Last request: Authorization: Bearer {BEARER} (key {TASK_AWS_KEY}, app {XAPP}).\n"
    "To find out more about why your job exited please check the logs: "
    "https://console.cloud.google.com/logs/viewer?project=271009669852&resource=ml_job%2Fjob_id%2F"
    f"{CUSTOM_JOB}"
)
TRACEBACK = [
    ("INFO", "INFO:root:Uploading the model to the registry"),
    ("ERROR", "Traceback (most recent call last):"),
    ("ERROR", '  File "/pipeline/train.py", line 88, in <module>'),
    ("ERROR", f'    registry = Registry(token="{GHP}")'),
    ("ERROR", '  File "/pipeline/registry.py", line 31, in upload'),
    ("ERROR", '    raise RuntimeError(f"upload to {url} failed (token {token}); signing key was:\\n{key}")'),
    (
        "ERROR",
        f"RuntimeError: upload to https://deployer:{LOG_PASSWORD}@registry.internal.example/v2/ failed "
        f"(token {XOXP}); signing key was:",
    ),
    ("ERROR", "-----BEGIN RSA PRIVATE KEY-----"),
    ("ERROR", PEM_BODY),
    ("ERROR", "-----END RSA PRIVATE KEY-----"),
]


def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def _task(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in job["jobDetail"]["taskDetails"] if t["taskName"] == name)


def _running(task: dict[str, Any]) -> None:
    """A task that has started and not ended: RUNNING, no end time, no error."""
    task["state"] = TASK_RUNNING
    task.pop("endTime", None)
    task.pop("error", None)


def _job_running(job: dict[str, Any]) -> None:
    job["state"] = JOB_RUNNING
    for key in ("endTime", "error"):
        job.pop(key, None)
    job["updateTime"] = job["startTime"]


def kfp_exit_failed() -> dict[str, Any]:
    """KFP churn-scoring while its stub runs: job RUNNING, exit-handler-1 FAILED (train failed)."""
    job = _load("churn-scoring-20261127070000.job.json")
    _job_running(job)
    _running(_task(job, job["displayName"]))  # the root DAG
    stub = _task(job, "pubsub-exit-handler")
    _running(stub)
    stub["startTime"] = stub["createTime"]
    train = _task(job, "train")
    # The CustomJob its error message links to, as Vertex lists it: its log is readable.
    train["executorDetail"] = {
        "containerDetail": {"mainJob": f"projects/{NUMBER}/locations/{REGION}/customJobs/{CUSTOM_JOB}"}
    }
    return job


def kfp_exit_succeeded() -> dict[str, Any]:
    """KFP churn-scoring while its stub runs after a success: exit-handler-1 and its tasks SUCCEEDED."""
    job = kfp_exit_failed()
    for name in ("exit-handler-1", "train"):
        task = _task(job, name)
        task["state"] = TASK_SUCCEEDED
        task.pop("error", None)
    return job


def kfp_secrets() -> dict[str, Any]:
    """``kfp_exit_failed`` carrying secrets in its parameters and its failed task's error."""
    job = kfp_exit_failed()
    job["runtimeConfig"]["parameterValues"] = {**PLAIN_PARAMETERS, **SECRET_PARAMETERS}
    _task(job, "train")["error"] = {"code": 3, "message": TASK_ERROR}
    return job


def kfp_secrets_logs() -> dict[str, Any]:
    """The train task's CustomJob log (an ``entries:list`` response): a traceback carrying secrets."""
    job = kfp_exit_failed()
    end = datetime.fromisoformat(_task(job, "train")["endTime"].replace("Z", "+00:00"))
    start = end - timedelta(seconds=20)
    return {"entries": ml_job_entries(PROJECT_ID, CUSTOM_JOB, TRACEBACK, start=start, step_ms=250)}


def still_running(job: dict[str, Any]) -> dict[str, Any]:
    """``job`` earlier on: the reported task and its children still RUNNING, the stub not started."""
    job = copy.deepcopy(job)
    stub = next(t for t in job["jobDetail"]["taskDetails"] if t["taskName"] in STUB_TASKS)
    job["jobDetail"]["taskDetails"].remove(stub)
    reported = next(t for t in job["jobDetail"]["taskDetails"] if t["taskName"] in REPORTED_TASKS)
    below = {reported["taskId"]}
    for task in job["jobDetail"]["taskDetails"]:
        if task is reported or (task.get("parentTaskId") in below and task["state"] != TASK_SUCCEEDED):
            _running(task)
            below.add(task["taskId"])
    return job


def tfx_exit_failed() -> dict[str, Any]:
    """The TFX churn-training pipeline while its stub runs: job RUNNING, tfx-dag FAILED (Train failed)."""
    compiled = _load("tfx-churn-training.pipeline.json")
    job_id = "churn-training-20261127061500"
    created = datetime(2026, 11, 27, 6, 15, 2, 118000, tzinfo=timezone.utc)

    def at(minutes: float) -> str:
        return _stamp(created + timedelta(minutes=minutes))

    def task(task_id: int, name: str, state: int, start: float, end: float | None, parent: int = 0) -> dict:
        detail: dict[str, Any] = {
            "taskId": str(task_id),
            "taskName": name,
            "createTime": at(start),
            "startTime": at(start),
            "state": state,
        }
        if parent:
            detail["parentTaskId"] = str(parent)
        if end is not None:
            detail["endTime"] = at(end)
        return detail

    root = task(9101, job_id, TASK_RUNNING, 0.1, None)
    dag = task(9102, "tfx-dag", TASK_FAILED, 0.2, 30.0, 9101)
    dag["error"] = {"code": 9, "message": DAG_FAILED.format("Train")}
    train = task(9103, "Train", TASK_FAILED, 0.3, 29.9, 9102)
    train["error"] = {"code": 3, "message": TASK_ERROR.split(" Last request:")[0]}
    stub = task(9104, "PubSubExitHandler", TASK_RUNNING, 30.1, None, 9101)
    return {
        "name": f"projects/{NUMBER}/locations/{REGION}/pipelineJobs/{job_id}",
        "displayName": compiled["displayName"],
        "createTime": at(0),
        "startTime": at(0.1),
        "updateTime": at(30.1),
        "pipelineSpec": compiled["pipelineSpec"],
        "state": JOB_RUNNING,
        "labels": compiled["labels"],
        "runtimeConfig": compiled["runtimeConfig"],
        "serviceAccount": f"pipelines@{PROJECT_ID}.iam.gserviceaccount.com",
        "jobDetail": {"taskDetails": [root, dag, train, stub]},
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


DERIVED = {
    "churn-scoring-exit-failed.job.json": kfp_exit_failed,
    "churn-scoring-exit-succeeded.job.json": kfp_exit_succeeded,
    "churn-scoring-secrets.job.json": kfp_secrets,
    "churn-scoring-secrets.logs.json": kfp_secrets_logs,
    "tfx-churn-training-exit-failed.job.json": tfx_exit_failed,
}


def document_text(document: dict[str, Any]) -> str:
    """A document as the files hold it."""
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def load(name: str) -> dict[str, Any]:
    """A document of tests/data/trust (or, for ``events/…``, of tests/data/events)."""
    folder, _, file = name.rpartition("/")
    return json.loads(((DATA / folder) if folder else TRUST).joinpath(file).read_text())


# --- runs of their own, per test ---------------------------------------------------------------

_runs = itertools.count(1)
FIRST_NIGHT = datetime(2026, 11, 20, 7, 0, 2, 118000, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Run:
    """One run: its PipelineJob as Vertex returns it, and the stub's final status for it."""

    job: dict[str, Any]
    pipeline: str

    @property
    def name(self) -> str:
        """The job's resource name (with the project number, as Vertex and the stub have it)."""
        return str(self.job["name"])

    @property
    def job_id(self) -> str:
        """The job's short id."""
        return self.name.rsplit("/", 1)[1]

    def status(self, state: str = "FAILED", *, error: str = "") -> bytes:
        """The final status the stub publishes for this run (the claim)."""
        status: dict[str, Any] = {
            "pipelineJobResourceName": self.name,
            "pipelineTaskName": self.pipeline,
            "state": state,
        }
        if state == "FAILED":
            status["error"] = {"code": 9, "message": error or DAG_FAILED.format("train")}
        return json.dumps(status).encode()

    def register(self, vertex: VertexStandin) -> Run:
        """Serve this run from the Vertex stand-in."""
        vertex.add_job(copy.deepcopy(self.job))
        return self


def new_pipeline(prefix: str = "churn-scoring") -> str:
    """A pipeline name no other test uses (a streak is per pipeline and channel)."""
    return f"{prefix}-t{next(_runs)}"


def run_of(template: dict[str, Any], pipeline: str, night: int | None = 1, *, name: str = "") -> Run:
    """Night ``night``'s run of ``pipeline``, from a template job (a trust or events document).

    The job id is the pipeline and the run's timestamp, as Vertex names runs; ``name``
    replaces the whole resource name (another project or region). Times move with the night,
    so runs order by night; ``night=None`` keeps the template's times (its log entries match).
    """
    job = copy.deepcopy(template)
    template_created = datetime.fromisoformat(job["createTime"].replace("Z", "+00:00"))
    created = template_created if night is None else FIRST_NIGHT + timedelta(days=night)
    job_id = f"{pipeline}-{created:%Y%m%d%H%M%S}"
    old_id = job["name"].rsplit("/", 1)[1]
    job["name"] = name or f"projects/{NUMBER}/locations/{REGION}/pipelineJobs/{job_id}"
    job["displayName"] = job["name"].rsplit("/", 1)[1]
    job["pipelineSpec"]["pipelineInfo"]["name"] = pipeline
    shift = created - template_created
    _shift_times(job, shift)
    for task in job.get("jobDetail", {}).get("taskDetails", []):
        if task["taskName"] == old_id:
            task["taskName"] = job["displayName"]
        _shift_times(task, shift)
    return Run(job, pipeline)


def _shift_times(obj: dict[str, Any], shift: timedelta) -> None:
    for key in ("createTime", "startTime", "endTime", "updateTime"):
        if key in obj:
            moment = datetime.fromisoformat(obj[key].replace("Z", "+00:00"))
            obj[key] = _stamp(moment + shift)


def write() -> None:
    """Rewrite every derived document."""
    TRUST.mkdir(exist_ok=True)
    for file, build in DERIVED.items():
        (TRUST / file).write_text(document_text(build()))


if __name__ == "__main__":
    write()
