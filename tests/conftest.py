"""Every shared fixture, in one place: real local services (the Pub/Sub and Firestore
emulators, the stand-ins) started once and always stopped, the operator tools installed
as a user installs them, and the ``replay`` command run in process.

Helpers that are not fixtures live in ``tests/support/``; a package's own ``conftest.py``
holds only what is truly its own (``tests/e2e``: the fresh stack over each module's
``stack``; ``tests/terraform``).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import firestore_emulator
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.logging_standin import LoggingStandin
from sandbox.procs import free_port
from sandbox.pubsub_emulator import INSTALL_HINT, PubSubEmulator, gcloud_path
from sandbox.slack_standin import SlackStandin
from sandbox.vertex_standin import VertexStandin
from tests.support.paths import DATA, REPO
from tests.support.tools import require_tool
from tests.support.topics import Topic

# Left out of the copy the operator tools are installed from: what a fresh clone lacks.
_NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "build",
    "dist",
    "site",
    "*.egg-info",
    ".sandbox",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
)


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubSubEmulator]:
    """One Pub/Sub emulator for the session, on a free loopback port."""
    require_tool(gcloud_path() is not None, INSTALL_HINT)
    emulator = PubSubEmulator.start(tmp_path_factory.mktemp("pubsub"))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def emulator_env(pubsub_emulator: PubSubEmulator, monkeypatch: pytest.MonkeyPatch) -> PubSubEmulator:
    """Point Google client libraries in this process at the emulator for one test."""
    for key, value in pubsub_emulator.env.items():
        monkeypatch.setenv(key, value)
    return pubsub_emulator


@pytest.fixture(scope="session")
def firestore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    """One Firestore emulator for the session, on a free loopback port."""
    require_tool(firestore_emulator.firestore_gcloud() is not None, firestore_emulator.INSTALL_HINT)
    emulator = FirestoreEmulator.start(tmp_path_factory.mktemp("firestore"))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def unreachable_firestore(monkeypatch: pytest.MonkeyPatch) -> object:
    """A Firestore client whose emulator address has nothing listening (a free loopback port),
    for the tests of what each store does when Firestore cannot be reached."""
    from google.cloud import firestore as fs

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    return fs.Client(project="local-project")


@pytest.fixture(scope="module")
def standins() -> Iterator[tuple[SlackStandin, VertexStandin]]:
    """Slack and Vertex stand-ins for one test module; Vertex serves the jobs in tests/data."""
    with SlackStandin() as slack, VertexStandin() as vertex:
        vertex.load_jobs(DATA)
        yield slack, vertex


@pytest.fixture(scope="module")
def logging_api() -> Iterator[LoggingStandin]:
    """The Cloud Logging stand-in (over real HTTP) the golden cases' task logs are read from."""
    with LoggingStandin() as standin:
        yield standin


@pytest.fixture(scope="session")
def operator_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m pip install .`` of a clean copy of this checkout into a new venv, by the
    pip that ``python -m venv`` brings (no uv): the README's command on a fresh machine.
    Returns the venv's bin folder, where the commands (and its python) are.

    The copy keeps setuptools' build folders and stale files of this checkout out of the
    wheel, and pip's in-tree build out of the checkout.
    """
    root = tmp_path_factory.mktemp("operator-tools")
    source = root / "clone"
    shutil.copytree(REPO, source, ignore=_NOT_IN_A_CLONE)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    run = subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "."],
        cwd=source, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    return venv / "bin"


@pytest.fixture
def slack(standins: tuple[SlackStandin, VertexStandin]) -> SlackStandin:
    """The module's Slack stand-in, emptied, with the Vertex stand-in answering again."""
    slack, vertex = standins
    slack.reset()
    vertex.fail_all = None
    return slack


@pytest.fixture(scope="module")
def schedules_server() -> Iterator[VertexStandin]:
    """The Vertex stand-in serving tests/data/schedules and their runs, one per test module."""
    from tests.support.scheduledata import schedules_standin

    with schedules_standin() as standin:
        yield standin


@pytest.fixture
def schedules_api(schedules_server: VertexStandin) -> VertexStandin:
    """The module's schedules stand-in, its recorded requests and scripted failures cleared."""
    schedules_server.reset()
    return schedules_server


# --- replay ---------------------------------------------------------------------------------

_topic_names = itertools.count(1)


@dataclass
class ReplayResult:
    """A finished ``replay`` run."""

    code: int
    out: str
    err: str


@pytest.fixture
def replay(capsys: pytest.CaptureFixture[str]):
    """Call ``replay`` with arguments; returns its exit code and output."""

    # Imported here, not at the top: the KFP tier loads this file in a venv without replay's dependencies.
    from replay.cli import main

    def run(*argv: str) -> ReplayResult:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse exits for --help and usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return ReplayResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def topic(emulator_env: PubSubEmulator) -> Topic:
    """A fresh topic and pull subscription on the session's emulator."""
    n = next(_topic_names)
    path = emulator_env.create_topic(f"replay-{n}")
    return Topic(emulator_env, path, emulator_env.create_subscription(f"replay-{n}-all", path))
