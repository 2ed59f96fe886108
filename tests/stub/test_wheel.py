"""The stub as a pipeline image gets it: its wheel, or ``pip install ./tfx_exit_stub``.

The wheel is built with ``python -m build`` (sdist, then the wheel from the sdist) from
tfx_exit_stub/. Each of the two is installed with plain pip (as a Dockerfile does) into a
fresh virtual environment that then holds only the stub and its dependencies, and is
imported and published to the Pub/Sub emulator there.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from sandbox.procs import wait_until
from sandbox.pubsub_emulator import PubSubEmulator

REPO = Path(__file__).resolve().parents[2]
# Flat: the folder is the project (pyproject.toml, README.md) and the package (its *.py).
STUB = REPO / "tfx_exit_stub"
# What a pipeline image must not get from the stub: the pipeline SDKs and the notifier's runtime.
NOT_IN_IMAGE = {
    "tfx",
    "kfp",
    "google-cloud-aiplatform",
    "functions-framework",
    "google-cloud-firestore",
    "google-cloud-logging",
    "slack-sdk",
    "vertex-pipeline-slack-notifier",
}
FAILED = json.dumps(
    {
        "state": "FAILED",
        "pipelineJobResourceName": "projects/1/locations/us-central1/pipelineJobs/wheel-1",
        "error": {"code": 9, "message": "The DAG failed because some tasks failed."},
    }
)

# Runs in the fresh venv: what the import loads, what the publish loads, where it came from.
CHILD = r"""
import json, sys
heavy = ("tfx", "kfp", "google.cloud.aiplatform", "google.cloud.pubsub_v1", "grpc", "notifier")
import tfx_exit_stub
after_import = [m for m in heavy if m in sys.modules]
try:
    tfx_exit_stub.PubSubExitHandler
    missing_tfx = ""
except ImportError as exc:
    missing_tfx = str(exc)
message_id = tfx_exit_stub.publish_final_status(sys.argv[1], sys.argv[2], gcp_region="us-central1")
print(json.dumps({
    "file": tfx_exit_stub.__file__,
    "version": tfx_exit_stub.__version__,
    "after_import": after_import,
    "after_publish": [m for m in heavy if m in sys.modules],
    "missing_tfx": missing_tfx,
    "message_id": message_id,
}))
"""


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the stub's sdist and wheel, built as ``make stub-wheel`` builds them."""
    out = tmp_path_factory.mktemp("stub-dist")
    run = subprocess.run(
        [sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(out), str(STUB)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    [built] = dist.glob("tfx_exit_stub-*-py3-none-any.whl")
    return built


@pytest.fixture(scope="module", params=["wheel", "folder"])
def fresh_venv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv whose only install is the stub (and what its metadata asks for), by the pip
    that ``python -m venv`` brings: from the built wheel, or from the folder as the README says
    (``pip install ./tfx_exit_stub``, run beside a copy of the folder alone, which shows that
    it needs nothing else of the repository; pip leaves its build/ there, not in the checkout).
    """
    venv = tmp_path_factory.mktemp("stub-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    if request.param == "wheel":
        cwd, target = venv.parent, str(request.getfixturevalue("wheel"))
    else:
        cwd, target = tmp_path_factory.mktemp("stub-folder"), f"./{STUB.name}"
        shutil.copytree(
            STUB, cwd / STUB.name, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
        )
    run = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", target],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return venv


def _metadata(wheel: Path) -> tuple[str, list[str]]:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(name).decode()
    message = Parser().parsestr(text)
    return message["Version"], message.get_all("Requires-Dist") or []


def _assert_the_release_on_the_pubsub_client_only(version: str, requires: list[str]) -> None:
    """The function's release, depending on google-cloud-pubsub alone; tfx and kfp as extras."""
    from notifier.version import __version__

    assert version == __version__
    assert [r for r in requires if "extra ==" not in r] == ["google-cloud-pubsub<3,>=2.18"]
    extras = {r.split("extra == ")[1].strip('"') for r in requires if "extra ==" in r}
    assert extras == {"tfx", "kfp"}


def test_the_wheel_depends_on_the_pubsub_client_only(wheel: Path) -> None:
    _assert_the_release_on_the_pubsub_client_only(*_metadata(wheel))


def test_the_installed_stub_depends_on_the_pubsub_client_only(fresh_venv: Path) -> None:
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps([m.version('tfx-exit-stub'), m.requires('tfx-exit-stub')]))"
    )
    run = subprocess.run(
        [fresh_venv / "bin" / "python", "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    _assert_the_release_on_the_pubsub_client_only(*json.loads(run.stdout))


def test_the_wheel_and_sdist_hold_the_stub_and_nothing_of_the_notifier(dist: Path, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        package = sorted(n for n in archive.namelist() if n.startswith("tfx_exit_stub/"))
    assert tops == {"tfx_exit_stub", f"{wheel.name.split('-py3')[0]}.dist-info"}
    # The folder's modules and nothing else: not its pyproject.toml, README or build leftovers.
    assert package == sorted(f"tfx_exit_stub/{p.name}" for p in STUB.glob("*.py"))
    [sdist] = dist.glob("tfx_exit_stub-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "publish.py"} <= names
    assert not [n for n in names if n.startswith(("notifier", "function", "replay", "sandbox"))]


def test_the_fresh_venv_has_the_stub_and_its_dependencies_only(fresh_venv: Path) -> None:
    listed = subprocess.run(
        [fresh_venv / "bin" / "python", "-m", "pip", "list", "--format=json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    names = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert {"tfx-exit-stub", "google-cloud-pubsub"} <= names
    assert not names & NOT_IN_IMAGE


@pytest.mark.emulator
def test_import_and_publish_from_the_fresh_venv(
    fresh_venv: Path, pubsub_emulator: PubSubEmulator, tmp_path: Path
) -> None:
    # One emulator for the session, one topic per install (tmp_path's name is unique).
    topic = pubsub_emulator.create_topic(f"status-{tmp_path.name}")
    sub = pubsub_emulator.create_subscription(f"status-sub-{tmp_path.name}", topic)
    # cwd outside the checkout and no PYTHONPATH: only the venv's copy can be imported.
    env = {"PATH": "/usr/bin:/bin", **pubsub_emulator.env}
    run = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c", CHILD, FAILED, topic],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert Path(result["file"]).is_relative_to(fresh_venv)
    assert result["after_import"] == []
    # Publishing loads the Pub/Sub client, and still nothing of the pipeline SDKs or the notifier.
    assert set(result["after_publish"]) == {"google.cloud.pubsub_v1", "grpc"}
    assert "needs the 'tfx' package" in result["missing_tfx"]

    [received] = wait_until(lambda: pubsub_emulator.pull(sub), timeout=15, message="the wheel's message")
    message = received["message"]
    assert message["messageId"] == result["message_id"]
    assert base64.b64decode(message["data"]) == FAILED.encode()
    assert message["attributes"] == {
        "state": "FAILED",
        "pipeline_job": "projects/1/locations/us-central1/pipelineJobs/wheel-1",
        "gcp_region": "us-central1",
    }
