"""Starting the gcloud SDK's emulators (Pub/Sub, Firestore) on free loopback ports."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sandbox.procs import ManagedProcess, free_port


def emulator_gcloud(component: str) -> str | None:
    """Path of gcloud if its emulator ``component`` (e.g. ``pubsub-emulator``) is installed."""
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return None
    root = Path(gcloud).resolve().parent.parent
    candidates = {
        "pubsub-emulator": ["pubsub-emulator"],
        "cloud-firestore-emulator": ["cloud-firestore-emulator"],
    }[component]
    for name in candidates:
        for base in (root / "platform", Path("/usr/lib/google-cloud-sdk/platform")):
            if (base / name).is_dir():
                return gcloud
    return None


def start_emulator(
    gcloud: str,
    kind: str,
    workdir: Path,
    extra_args: Callable[[str], list[str]],
    project: str,
) -> tuple[str, ManagedProcess]:
    """Launch ``gcloud beta emulators KIND start`` on a free port; returns host:port and process."""
    port = free_port()
    host = f"127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        gcloud,
        "beta",
        "emulators",
        kind,
        "start",
        f"--host-port={host}",
        f"--project={project}",
        "--quiet",
    ]
    process = ManagedProcess(
        f"{kind}-emulator", argv + extra_args(host), log_path=workdir / f"{kind}-{port}.log"
    )
    return host, process


def http_ready(host: str, process: ManagedProcess) -> bool:
    """True when the emulator answers HTTP on ``host``; raises if its process died."""
    if not process.alive():
        raise RuntimeError(f"{process.name} exited:\n{process.log_text()[-2000:]}")
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=0.5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False
