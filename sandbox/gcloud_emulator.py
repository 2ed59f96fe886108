"""Starting the gcloud SDK's emulators (Pub/Sub, Firestore) on free loopback ports.

The emulators' own launchers are run directly rather than through ``gcloud beta
emulators … start``: gcloud's Python wrapper keeps the JVM as a grandchild, which
outlives a test run that is killed. Run directly, the JVM is our child (the Pub/Sub
launcher ``exec``s java; the Firestore jar is started with java here) and dies with us.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from sandbox.procs import ManagedProcess, free_port, wait_until

PUBSUB = "pubsub-emulator"
FIRESTORE = "cloud-firestore-emulator"
PROJECT = "local-project"
E = TypeVar("E", bound="Emulator")


def sdk_platform_dirs() -> list[Path]:
    """Where the Cloud SDK keeps its components: next to gcloud, and the Debian package path."""
    dirs = []
    gcloud = shutil.which("gcloud")
    if gcloud:
        dirs.append(Path(gcloud).resolve().parent.parent / "platform")
    dirs.append(Path("/usr/lib/google-cloud-sdk/platform"))
    return dirs


def component_dir(component: str) -> Path | None:
    """The installed emulator component's folder, or None (Java is needed as well)."""
    if not shutil.which("java"):
        return None
    for base in sdk_platform_dirs():
        if (base / component).is_dir():
            return base / component
    return None


def emulator_command(component: str, port: int) -> list[str]:
    """The command line that serves ``component`` on 127.0.0.1:port."""
    folder = component_dir(component)
    if folder is None:
        raise RuntimeError(f"the {component} component of the Google Cloud CLI is not installed")
    if component == PUBSUB:
        return [str(folder / "bin" / "cloud-pubsub-emulator"), "--host=127.0.0.1", f"--port={port}"]
    jar = folder / "cloud-firestore-emulator.jar"
    return [
        shutil.which("java") or "java", "-Duser.language=en", "-cp", str(jar),
        "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
        "--host=127.0.0.1", f"--port={port}", "--database-mode=firestore-native",
    ]  # fmt: skip


def start_emulator(component: str, workdir: Path, timeout: float = 60.0) -> tuple[str, ManagedProcess]:
    """Launch an emulator on a free port and wait until it answers; returns host:port and process."""
    port = free_port()
    host = f"127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    process = ManagedProcess(
        component,
        emulator_command(component, port),
        log_path=workdir / f"{component}-{port}.log",
        die_with_parent=True,
    )
    try:
        wait_until(
            lambda: http_ready(host, process),
            timeout=timeout,
            interval=0.1,
            message=lambda: f"{component} on {host}; log:\n{process.log_text()[-2000:]}",
        )
    except BaseException:
        process.stop()
        raise
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


@dataclass
class Emulator:
    """A running emulator on loopback; subclasses name their component and install hint."""

    host: str
    process: ManagedProcess
    project: str = PROJECT

    component: ClassVar[str]
    install_hint: ClassVar[str]

    @classmethod
    def start(cls: type[E], workdir: Path, *, project: str = PROJECT, timeout: float = 60.0) -> E:
        """Start the emulator on a free loopback port and wait until it answers."""
        if component_dir(cls.component) is None:
            raise RuntimeError(cls.install_hint)
        host, process = start_emulator(cls.component, workdir, timeout)
        return cls(host=host, process=process, project=project)

    def stop(self) -> None:
        """Stop the emulator and its JVM."""
        self.process.stop()
