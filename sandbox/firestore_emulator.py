"""The gcloud Firestore emulator as a managed local process."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sandbox.gcloud_emulator import FIRESTORE, component_dir, start_emulator
from sandbox.procs import ManagedProcess
from sandbox.pubsub_emulator import PROJECT

INSTALL_HINT = (
    "the Firestore emulator is not installed: install the Google Cloud CLI and run "
    "`gcloud components install cloud-firestore-emulator` (or apt-get install "
    "google-cloud-cli-firestore-emulator), plus Java 17"
)


def firestore_gcloud() -> str | None:
    """The Firestore emulator's folder if it (and Java) is installed, else None."""
    folder = component_dir(FIRESTORE)
    return str(folder) if folder else None


@dataclass
class FirestoreEmulator:
    """A running Firestore emulator."""

    host: str
    process: ManagedProcess
    project: str = PROJECT

    @classmethod
    def start(cls, workdir: Path, *, project: str = PROJECT, timeout: float = 60.0) -> FirestoreEmulator:
        """Start the emulator on a free loopback port and wait until it answers."""
        if firestore_gcloud() is None:
            raise RuntimeError(INSTALL_HINT)
        host, proc = start_emulator(FIRESTORE, workdir, timeout)
        return cls(host=host, process=proc, project=project)

    @property
    def env(self) -> dict[str, str]:
        """Environment that points the Firestore client at this emulator."""
        return {"FIRESTORE_EMULATOR_HOST": self.host, "GOOGLE_CLOUD_PROJECT": self.project}

    def stop(self) -> None:
        """Stop the emulator and its JVM."""
        self.process.stop()
