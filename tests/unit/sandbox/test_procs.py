"""Process control: what the sandbox starts never outlives it, even when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.procs import ManagedProcess, group_alive, wait_until
from sandbox.pubsub_emulator import INSTALL_HINT, gcloud_path
from tests.support.paths import REPO
from tests.support.tools import require_tool

STARTER = """
import pathlib, sys, tempfile
from sandbox.pubsub_emulator import PubSubEmulator
emulator = PubSubEmulator.start(pathlib.Path(tempfile.mkdtemp()))
print(emulator.process.pid, emulator.host, flush=True)
sys.stdin.read()  # stay alive until killed
"""


def test_stop_ends_the_whole_group(tmp_path: Path) -> None:
    proc = ManagedProcess("sleeper", ["bash", "-c", "sleep 300 & sleep 300"], log_path=tmp_path / "log")
    assert group_alive(proc.pid)
    proc.stop(timeout=5)
    assert not group_alive(proc.pid)


@pytest.mark.emulator
def test_an_emulator_dies_with_a_killed_parent(tmp_path: Path) -> None:
    require_tool(gcloud_path() is not None, INSTALL_HINT)
    parent = subprocess.Popen(
        [sys.executable, "-c", STARTER],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'function'}"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        pgid = int(line.split()[0])
        assert group_alive(pgid)
        parent.send_signal(signal.SIGKILL)  # no finally, no atexit: only the kernel can clean up
        parent.wait(timeout=10)
        wait_until(lambda: not group_alive(pgid), timeout=20, message="the orphaned emulator to die")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
