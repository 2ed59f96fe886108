"""The gcloud Firestore emulator as a managed local process."""

from __future__ import annotations

from sandbox.gcloud_emulator import FIRESTORE, Emulator, component_dir

INSTALL_HINT = (
    "the Firestore emulator is not installed: install the Google Cloud CLI and run "
    "`gcloud components install cloud-firestore-emulator` (or apt-get install "
    "google-cloud-cli-firestore-emulator), plus Java 17"
)


def firestore_gcloud() -> str | None:
    """The Firestore emulator's folder if it (and Java) is installed, else None."""
    folder = component_dir(FIRESTORE)
    return str(folder) if folder else None


class FirestoreEmulator(Emulator):
    """A running Firestore emulator (native mode)."""

    component = FIRESTORE
    install_hint = INSTALL_HINT

    @property
    def env(self) -> dict[str, str]:
        """Environment that points the Firestore client at this emulator."""
        return {"FIRESTORE_EMULATOR_HOST": self.host, "GOOGLE_CLOUD_PROJECT": self.project}
