"""KFP v2 tier: the twin compiles into an exit handler that takes the task final status, and
the compiled component's own code publishes the same message as the TFX handler.

Needs kfp (``.venv-kfp``, built by ``.ci/tfx-tier.sh``: kfp pins protobuf<7, so it
stays out of the main venv) with the stub installed from its built wheel, whose path
the tier passes as STUB_WHEEL. Elsewhere these skip, unless KFP_TIER_REQUIRED=1.
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
from tests.support.tiers import assert_installed_from_wheel, require_or_skip, stub_wheel

try:
    import yaml  # kfp's own dependency
    from kfp import compiler, dsl
except ImportError as exc:  # pragma: no cover - depends on the environment
    require_or_skip(exc, package="kfp", required_var="KFP_TIER_REQUIRED", tier=".venv-kfp")

import tfx_exit_stub
from tfx_exit_stub import make_kfp_exit_handler

TOPIC = "projects/my-project/topics/pipeline-status"
JOB = "projects/123/locations/us-central1/pipelineJobs/train-20240101"


@dsl.component(base_image="python:3.11-slim")
def train(steps: int) -> int:
    """Stand-in for the pipeline's real work."""
    return steps


INDEX = "https://us-central1-python.pkg.dev/my-project/pipeline-wheels/simple/"
HANDLER = make_kfp_exit_handler(pip_index_urls=[INDEX])


@dsl.pipeline(name="stub-demo")
def demo_pipeline(steps: int = 3) -> None:
    """A pipeline whose whole body is guarded by the Pub/Sub exit handler."""
    exit_task = HANDLER(
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


def _install_script(container: dict[str, Any]) -> str:
    # command = [sh, -c, <pip install>, sh, -ec, <run the program>, <program source>]
    assert container["command"][:2] == ["sh", "-c"], container["command"][:3]
    return container["command"][2]


def _own_image_pipeline(component: Any) -> Any:
    @dsl.pipeline(name="own-image")
    def own_image() -> None:
        with dsl.ExitHandler(component(topic=TOPIC)):
            train(steps=1)

    return own_image


def test_the_stub_under_test_is_the_installed_wheel() -> None:
    assert_installed_from_wheel(tfx_exit_stub)


def test_the_component_installs_this_release_of_the_stub(tmp_path: Path) -> None:
    container = _executor(_compile(tmp_path))
    assert container["image"] == "python:3.11-slim"
    script = _install_script(container)
    # Pinned to the compiling stub's own version; the distribution brings the Pub/Sub client.
    assert f"'tfx-exit-stub=={tfx_exit_stub.__version__}'" in script
    assert "google-cloud-pubsub" not in script
    assert "__KFP_EMBEDDED_ARCHIVE_B64" not in json.dumps(container)


def test_installing_by_name_needs_an_index_this_project_controls() -> None:
    # Not published on PyPI by this project: pip's default index could serve anyone's package.
    with pytest.raises(ValueError, match="not published on PyPI by this project"):
        make_kfp_exit_handler()
    with pytest.raises(ValueError, match="KfpPubSubExitHandler is gone"):
        tfx_exit_stub.KfpPubSubExitHandler  # noqa: B018


def test_an_index_or_a_wheel_url_goes_to_pip(tmp_path: Path) -> None:
    script = _install_script(_executor(_compile(tmp_path, _own_image_pipeline(HANDLER))))
    assert f"--index-url {INDEX}" in script
    assert f"'tfx-exit-stub=={tfx_exit_stub.__version__}'" in script

    wheel = "https://example.com/wheels/tfx_exit_stub-0.2.0-py3-none-any.whl"
    from_url = make_kfp_exit_handler(stub=wheel, packages_to_install=["requests==2.33.0"])
    script = _install_script(_executor(_compile(tmp_path, _own_image_pipeline(from_url))))
    assert f"'{wheel}' 'requests==2.33.0'" in script
    assert "tfx-exit-stub==" not in script


def test_an_image_that_has_the_stub_installs_nothing(tmp_path: Path) -> None:
    component = make_kfp_exit_handler(
        base_image="gcr.io/my-project/pipeline:1", stub=None, install_kfp_package=False
    )
    container = _executor(_compile(tmp_path, _own_image_pipeline(component)))
    assert container["image"] == "gcr.io/my-project/pipeline:1"
    # No install script before the program: the command starts with the program's shell.
    assert container["command"][:2] == ["sh", "-ec"]
    assert "pip install" not in json.dumps(container["command"])


@pytest.mark.parametrize("stub", ["", "  ", 3])
def test_a_blank_stub_requirement_is_refused(stub: object) -> None:
    with pytest.raises(ValueError, match="stub must be a pip requirement"):
        make_kfp_exit_handler(stub=stub)  # type: ignore[arg-type]


def _executor_input(topic: str, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
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
    return status, executor_input


def _to_emulator_container(tmp_path: Path, topic: str) -> dict[str, Any]:
    @dsl.pipeline(name="to-emulator")
    def to_emulator() -> None:
        # pip's default index named on purpose: the wheel itself comes from PIP_FIND_LINKS.
        handler = make_kfp_exit_handler(pip_index_urls=["https://pypi.org/simple"])
        exit_task = handler(topic=topic, gcp_region="us-central1", on_failure_only=True)
        with dsl.ExitHandler(exit_task):
            train(steps=1)

    return _executor(_compile(tmp_path, to_emulator))


def _check_received(emulator: PubSubEmulator, sub: str, status: dict[str, Any]) -> None:
    [received] = wait_until(lambda: emulator.pull(sub), timeout=15, message="the KFP handler's message")
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


@pytest.mark.emulator
def test_the_compiled_component_code_publishes_the_same_message(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    """Run the compiled executor as a KFP container would: only its own code, no checkout."""
    topic = pubsub_emulator.create_topic("kfp-status")
    sub = pubsub_emulator.create_subscription("kfp-status-sub", topic)
    container = _to_emulator_container(tmp_path, topic)
    # The stub's wheel is already installed in this venv, so start from the second shell.
    runner = container["command"][3:]
    status, executor_input = _executor_input(topic, tmp_path)
    args = [a.replace("{{$}}", json.dumps(executor_input)) for a in container["args"]]
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(pubsub_emulator.env, PATH=f"{venv_bin}:{env.get('PATH', '')}")
    # cwd is outside the checkout, so ``import tfx_exit_stub`` can only find the installed wheel.
    run = subprocess.run([*runner, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    _check_received(pubsub_emulator, sub, status)


@pytest.mark.emulator
def test_the_compiled_pip_line_installs_the_wheel_into_a_bare_python(
    tmp_path: Path, pubsub_emulator: PubSubEmulator
) -> None:
    """The whole compiled command, its pip install included, in a venv that starts empty.

    The component pins ``tfx-exit-stub==<version>``; pip finds that release in the folder
    of the built wheel (PIP_FIND_LINKS, as an index would serve it) and the rest on PyPI.
    """
    wheel = stub_wheel()
    topic = pubsub_emulator.create_topic("kfp-bare-status")
    sub = pubsub_emulator.create_subscription("kfp-bare-status-sub", topic)
    container = _to_emulator_container(tmp_path, topic)
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", str(bare)], check=True, timeout=120)
    status, executor_input = _executor_input(topic, tmp_path)
    args = [a.replace("{{$}}", json.dumps(executor_input)) for a in container["args"]]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        pubsub_emulator.env,
        PATH=f"{bare / 'bin'}:{env.get('PATH', '')}",
        # Beside any find-links the machine already has (pip splits the variable on spaces).
        PIP_FIND_LINKS=" ".join([str(wheel.parent), *env.get("PIP_FIND_LINKS", "").split()]),
    )
    run = subprocess.run(
        [*container["command"], *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    _check_received(pubsub_emulator, sub, status)
    installed = subprocess.run(
        [str(bare / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    names = {p["name"].lower() for p in json.loads(installed.stdout)}
    assert {"tfx-exit-stub", "google-cloud-pubsub", "kfp"} <= names
    assert not names & {
        "tfx",
        "google-cloud-aiplatform",
        "functions-framework",
        "vertex-pipeline-slack-notifier",
    }
