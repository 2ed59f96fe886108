"""TFX tier: the stub plugs into a real TFX pipeline compiled for Vertex AI, and its executor runs.

These need TFX (``.venv-tfx``, built by ``.ci/tfx-tier.sh``, which installs the stub
there from its built wheel). Elsewhere they skip, unless TFX_TIER_REQUIRED=1, which the
tier script sets so that a broken TFX install fails instead of passing with nothing run.
"""

# No ``from __future__ import annotations``: TFX reads component annotations as objects.
import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tiers import assert_installed_from_wheel, require_or_skip

REQUIRED = os.environ.get("TFX_TIER_REQUIRED") == "1"
TOPIC = "projects/my-project/topics/pipeline-status"

try:
    from tfx import v1 as tfx
except ImportError as exc:  # pragma: no cover - depends on the environment
    require_or_skip(exc, package="TFX", required_var="TFX_TIER_REQUIRED", tier=".venv-tfx")

import tfx_exit_stub  # noqa: E402
from tfx_exit_stub import PubSubExitHandler, set_exit_handler  # noqa: E402
from tfx_exit_stub.tfx_component import takes_handler_list  # noqa: E402

pytestmark = pytest.mark.tfx


# A module-level component: TFX records executors by import path, so it cannot be local.
@tfx.dsl.components.component
def Train(steps: tfx.dsl.components.Parameter[int] = 1):
    """Stand-in for the pipeline's real work."""
    print(steps)


def _runner(tmp_path: Path) -> tfx.orchestration.experimental.KubeflowV2DagRunner:
    config = tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
        default_image="gcr.io/my-project/pipeline:1"
    )
    return tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=config, output_dir=str(tmp_path), output_filename="pipeline.json"
    )


def _compile(tmp_path: Path, **handler_args: object) -> dict:
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="stub-demo", pipeline_root="gs://my-bucket/root", components=[Train(steps=3)]
    )
    runner = _runner(tmp_path)
    handler = PubSubExitHandler(final_status=tfx.orchestration.experimental.FinalStatusStr(), **handler_args)
    set_exit_handler(runner, handler)
    runner.run(pipeline, write_out=True)
    return json.loads((tmp_path / "pipeline.json").read_text())


def test_compiled_exit_task_takes_the_final_status_and_constants(tmp_path: Path) -> None:
    job = _compile(
        tmp_path, topic=TOPIC, gcp_region="us-central1", slack_channel_id="C0123ABCD", on_failure_only=True
    )
    spec = job["pipelineSpec"]
    task = spec["root"]["dag"]["tasks"]["PubSubExitHandler"]
    params = task["inputs"]["parameters"]

    assert params["final_status"] == {"taskFinalStatus": {"producerTask": "tfx-dag"}}
    constants = {
        name: value["runtimeValue"]["constantValue"]
        for name, value in params.items()
        if name != "final_status"
    }
    assert constants == {
        "topic": {"stringValue": TOPIC},
        "gcp_region": {"stringValue": "us-central1"},
        "slack_channel_id": {"stringValue": "C0123ABCD"},
        # TFX encodes bool parameters as ints in the 2.0 pipeline schema.
        "on_failure_only": {"intValue": "1"},
    }
    # It runs after the whole DAG, whatever the DAG's outcome.
    assert task["dependentTasks"] == ["tfx-dag"]
    assert task["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    # The executor is looked up by this import path inside the pipeline image.
    executor = spec["deploymentSpec"]["executors"]["PubSubExitHandler_executor"]["container"]
    assert executor["args"][:2] == [
        "--executor_class_path",
        "tfx_exit_stub.tfx_component.PubSubExitHandler_Executor",
    ]


def test_optional_parameters_left_out_are_not_in_the_spec(tmp_path: Path) -> None:
    params = _compile(tmp_path, topic=TOPIC)["pipelineSpec"]["root"]["dag"]["tasks"]["PubSubExitHandler"][
        "inputs"
    ]["parameters"]
    assert set(params) == {"final_status", "topic"}


def test_this_tfx_takes_one_handler_and_the_helper_knows() -> None:
    runner = _runner(Path("/nonexistent"))
    # 1.16 takes a single component; the helper must not hand it a list.
    major_minor = tuple(int(part) for part in tfx.__version__.split(".")[:2])
    assert takes_handler_list(runner) is (major_minor > (1, 16))


def test_set_exit_handler_passes_a_list_to_newer_runners() -> None:
    class ListRunner:
        def set_exit_handler(self, exit_handlers: list) -> None:
            self.got = exit_handlers

    runner = ListRunner()
    handler = PubSubExitHandler(final_status=tfx.orchestration.experimental.FinalStatusStr(), topic=TOPIC)
    set_exit_handler(runner, handler)
    assert runner.got == [handler]


def test_set_exit_handler_rejects_a_bad_topic_at_definition_time(tmp_path: Path) -> None:
    handler = PubSubExitHandler(
        final_status=tfx.orchestration.experimental.FinalStatusStr(), topic="pipeline-status"
    )
    with pytest.raises(ValueError, match="malformed Pub/Sub topic path"):
        set_exit_handler(_runner(tmp_path), handler)


def test_the_stub_under_test_is_the_installed_wheel() -> None:
    assert_installed_from_wheel(tfx_exit_stub)


def test_importing_the_stub_alone_does_not_import_tfx(tmp_path: Path) -> None:
    code = "import sys, tfx_exit_stub; print('tfx' in sys.modules, 'kfp' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"]
    assert "PubSubExitHandler" in dir(tfx_exit_stub)


def test_the_executor_runs_as_vertex_runs_it_and_publishes(tmp_path: Path) -> None:
    """Run the compiled executor command (as the pipeline image would) against the emulator."""
    from sandbox.procs import wait_until
    from sandbox.pubsub_emulator import INSTALL_HINT, PubSubEmulator, gcloud_path

    if gcloud_path() is None:
        if REQUIRED or os.environ.get("CI", "").lower() == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    status = json.dumps(
        {
            "state": "FAILED",
            "pipelineJobResourceName": "projects/1/locations/us-central1/pipelineJobs/stub-demo-1",
            "error": {"code": 9, "message": "The DAG failed because some tasks failed."},
        }
    )
    executor_input = {
        "inputs": {
            "parameters": {
                "final_status": {"stringValue": status},
                "topic": {"stringValue": "projects/local-project/topics/tfx-status"},
                "gcp_region": {"stringValue": "us-central1"},
                "on_failure_only": {"intValue": "1"},
            }
        },
        "outputs": {"outputFile": str(tmp_path / "task" / "executor_output.json")},
    }
    executor = _compile(tmp_path, topic=TOPIC)["pipelineSpec"]["deploymentSpec"]["executors"][
        "PubSubExitHandler_executor"
    ]["container"]
    argv = [
        sys.executable,
        *executor["command"][1:],
        *[a.replace("{{$}}", json.dumps(executor_input)) for a in executor["args"]],
    ]

    emulator = PubSubEmulator.start(tmp_path / "emulator")
    try:
        topic = emulator.create_topic("tfx-status")
        sub = emulator.create_subscription("tfx-status-sub", topic)
        # No PYTHONPATH: the executor imports the stub the way the image does, from the wheel.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(emulator.env)
        run = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-3000:]
        [received] = wait_until(lambda: emulator.pull(sub), timeout=30, message="the exit handler's message")
    finally:
        emulator.stop()
    message = received["message"]
    assert base64.b64decode(message["data"]) == status.encode()
    assert message["attributes"] == {
        "state": "FAILED",
        "pipeline_job": "projects/1/locations/us-central1/pipelineJobs/stub-demo-1",
        "gcp_region": "us-central1",
        "on_failure_only": "true",
    }
