"""KFP v2 tier: the twin compiles into an exit handler that takes the task final status, and
the compiled component's own code publishes the same message as the TFX handler.

Needs kfp (``.venv-kfp``, built by ``.ci/tfx-tier.sh``: kfp pins protobuf<7, so it
stays out of the main venv). Elsewhere these skip, unless KFP_TIER_REQUIRED=1.
"""

# No ``from __future__ import annotations``: KFP reads component annotations as objects.
import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from tests.stub.tiers import require_or_skip

try:
    import yaml  # kfp's own dependency
    from kfp import compiler, dsl
except ImportError as exc:  # pragma: no cover - depends on the environment
    require_or_skip(exc, package="kfp", required_var="KFP_TIER_REQUIRED", tier=".venv-kfp")

from tfx_exit_stub import KfpPubSubExitHandler, make_kfp_exit_handler

TOPIC = "projects/my-project/topics/pipeline-status"
JOB = "projects/123/locations/us-central1/pipelineJobs/train-20240101"


@dsl.component(base_image="python:3.11-slim")
def train(steps: int) -> int:
    """Stand-in for the pipeline's real work."""
    return steps


@dsl.pipeline(name="stub-demo")
def demo_pipeline(steps: int = 3) -> None:
    """A pipeline whose whole body is guarded by the Pub/Sub exit handler."""
    exit_task = KfpPubSubExitHandler(
        topic=TOPIC, gcp_region="us-central1", slack_channel_id="C0123ABCD", on_failure_only=True
    )
    with dsl.ExitHandler(exit_task):
        train(steps=steps)


def _compile(tmp_path: Path, pipeline: Any = demo_pipeline) -> dict[str, Any]:
    path = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return yaml.safe_load(path.read_text())


def _exit_task(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["root"]["dag"]["tasks"]["pubsub-exit-handler"]


def test_compiled_exit_task_takes_the_task_final_status(tmp_path: Path) -> None:
    spec = _compile(tmp_path)
    task = _exit_task(spec)
    params = task["inputs"]["parameters"]
    assert params["status"] == {"taskFinalStatus": {"producerTask": "exit-handler-1"}}
    assert {
        name: value["runtimeValue"]["constant"] for name, value in params.items() if name != "status"
    } == {
        "topic": TOPIC,
        "gcp_region": "us-central1",
        "slack_channel_id": "C0123ABCD",
        "on_failure_only": True,
    }
    assert task["dependentTasks"] == ["exit-handler-1"]
    assert task["triggerPolicy"]["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    declared = spec["components"]["comp-pubsub-exit-handler"]["inputDefinitions"]["parameters"]
    assert declared["status"]["parameterType"] == "TASK_FINAL_STATUS"
    # The guarded work lives inside the exit-handler group, not beside the handler.
    assert "train" in spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]


def _executor(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["deploymentSpec"]["executors"]["exec-pubsub-exit-handler"]["container"]


def test_the_stub_travels_inside_the_component(tmp_path: Path) -> None:
    container = _executor(_compile(tmp_path))
    assert container["image"] == "python:3.11-slim"
    install_script = container["command"][2]
    assert "google-cloud-pubsub" in install_script
    assert "__KFP_EMBEDDED_ARCHIVE_B64" in container["command"][-1]


def test_without_embedding_the_image_must_bring_the_stub(tmp_path: Path) -> None:
    component = make_kfp_exit_handler(
        base_image="gcr.io/my-project/pipeline:1", packages_to_install=[], embed_stub=False
    )

    @dsl.pipeline(name="own-image")
    def own_image() -> None:
        with dsl.ExitHandler(component(topic=TOPIC)):
            train(steps=1)

    container = _executor(_compile(tmp_path, own_image))
    assert container["image"] == "gcr.io/my-project/pipeline:1"
    assert "__KFP_EMBEDDED_ARCHIVE_B64" not in container["command"][-1]
    assert "google-cloud-pubsub" not in json.dumps(container["command"])


@pytest.mark.emulator
def test_the_compiled_component_code_publishes_the_same_message(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    """Run the compiled executor as a KFP container would: only its own code, no checkout."""
    topic = pubsub_emulator.create_topic("kfp-status")
    sub = pubsub_emulator.create_subscription("kfp-status-sub", topic)

    @dsl.pipeline(name="to-emulator")
    def to_emulator() -> None:
        exit_task = KfpPubSubExitHandler(topic=topic, gcp_region="us-central1", on_failure_only=True)
        with dsl.ExitHandler(exit_task):
            train(steps=1)

    container = _executor(_compile(tmp_path, to_emulator))
    # command = [sh, -c, <pip install>, sh, -ec, <run the program>, <program source>];
    # the packages are already in this venv, so start from the second shell.
    runner = container["command"][3:]
    status = {
        "state": "FAILED",
        "pipelineJobResourceName": JOB,
        "pipelineTaskName": "to-emulator",
        "error": {"code": 9, "message": "The DAG failed because some tasks failed."},
    }
    executor_input = {
        "inputs": {
            "parameterValues": {
                "status": status,
                "topic": topic,
                "gcp_region": "us-central1",
                "on_failure_only": True,
            }
        },
        "outputs": {"outputFile": str(tmp_path / "out" / "executor_output.json")},
    }
    args = [a.replace("{{$}}", json.dumps(executor_input)) for a in container["args"]]
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(pubsub_emulator.env, PATH=f"{venv_bin}:{env.get('PATH', '')}")
    # cwd is outside the checkout, so ``import tfx_exit_stub`` can only find the embedded copy.
    run = subprocess.run([*runner, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]

    [received] = wait_until(
        lambda: pubsub_emulator.pull(sub), timeout=15, message="the KFP handler's message"
    )
    message = received["message"]
    # The same camelCase JSON Vertex hands a TFX exit handler, keys sorted.
    expected = json.dumps(status, sort_keys=True)
    assert base64.b64decode(message["data"]) == expected.encode()
    assert message["attributes"] == {
        "state": "FAILED",
        "pipeline_job": JOB,
        "gcp_region": "us-central1",
        "on_failure_only": "true",
    }
