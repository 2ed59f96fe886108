"""The Cloud Functions served locally by functions-framework, as managed processes.

``notify`` by default; ``target="slack_actions"`` serves the interactivity function (an
HTTP function) from the same source, as Terraform deploys it beside ``notify``.

It starts the way Cloud Run starts the deployed function: the functions-framework CLI,
which serves through gunicorn with ``WORKERS`` processes of ``THREADS`` threads and reads
``CLOUD_RUN_TIMEOUT_SECONDS``, all taken from the topology Terraform deploys
(``sandbox.topology``), plus the notifier settings Terraform derives from it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from notifier.settings import ENV_VARS
from sandbox import topology as topology_file
from sandbox.paths import FUNCTION_DIR
from sandbox.procs import ManagedProcess, free_port, port_open, wait_until

# The developer's shell must not leak into the function under test: every variable the
# function reads (Config's own list, so a new one is never forgotten) and a few that
# change where Google libraries connect.
_SCRUB = frozenset(ENV_VARS) | {
    "GOOGLE_APPLICATION_CREDENTIALS",
    "K_SERVICE",
    "FIRESTORE_EMULATOR_HOST",
    "PUBSUB_EMULATOR_HOST",
}
# ... and the settings of Cloud Run and gunicorn, which the topology sets below.
_SCRUB_PREFIXES = ("CLOUD_RUN_", "GUNICORN_")


def scrubbed_environ() -> dict[str, str]:
    """This process's environment without anything that would reconfigure the function."""
    return {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith(_SCRUB_PREFIXES)}


# Each entry point and its signature type.
TARGETS = {"notify": "cloudevent", "slack_actions": "http"}


class FunctionServer:
    """``functions-framework --target notify`` (or ``slack_actions``) on a free loopback port."""

    def __init__(self, process: ManagedProcess, port: int) -> None:
        self.process = process
        self.port = port
        self.env: dict[str, str] = {}
        self.target = "notify"
        self.url = f"http://127.0.0.1:{port}/"

    @classmethod
    def start(
        cls,
        workdir: Path,
        env: dict[str, str],
        *,
        timeout: float = 30.0,
        port: int | None = None,
        interval: float = 0.05,
        target: str = "notify",
    ) -> FunctionServer:
        """Start the function ``target`` with ``env`` layered over the deployed topology's settings.

        Those go over a scrubbed copy of this environment. ``port`` reuses a known port (to
        restart "the same" function after a simulated crash); ``interval`` is how often the
        port is polled while it starts (the cold-start benchmark polls faster).
        """
        port = port or free_port()
        base = scrubbed_environ()
        deployed = topology_file.load()
        full_env = {
            **base,
            "PYTHONUNBUFFERED": "1",
            "LOG_FORMAT": "text",
            **deployed.runtime_env(),
            **deployed.function_env(),
            **env,
        }
        argv = [
            sys.executable, "-m", "functions_framework",
            "--target", target, "--source", str(FUNCTION_DIR / "main.py"),
            "--signature-type", TARGETS[target], "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
        process = ManagedProcess(
            "functions-framework",
            argv,
            env=full_env,
            log_path=workdir / f"{'function' if target == 'notify' else target}-{port}.log",
            cwd=FUNCTION_DIR,
        )
        server = cls(process, port)
        server.env = dict(env)
        server.target = target

        def ready() -> bool:
            if not process.alive():
                raise RuntimeError(f"the function exited at start-up:\n{process.log_text()[-3000:]}")
            return port_open(port)

        try:
            wait_until(
                ready, timeout=timeout, interval=interval, message=f"functions-framework on port {port}"
            )
        except BaseException:
            process.stop()
            raise
        return server

    def push(self, body: dict[str, Any], *, timeout: float = 60.0) -> int:
        """POST a Pub/Sub push body, as a push subscription would; returns the HTTP status."""
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def post(self, body: bytes, headers: dict[str, str], *, timeout: float = 30.0) -> tuple[int, str]:
        """POST ``body`` with ``headers`` (an HTTP function's request, e.g. Slack's); returns status and body."""
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def log_text(self) -> str:
        """Everything the function has logged so far."""
        return self.process.log_text()

    def stop(self) -> None:
        """Stop the server and its workers."""
        self.process.stop()

    def kill(self) -> None:
        """Crash the server: SIGKILL its whole process group, no clean shutdown."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.stop()

    def restart(self, workdir: Path) -> FunctionServer:
        """A new server on the same port with the same environment."""
        return FunctionServer.start(workdir, self.env, port=self.port, target=self.target)
