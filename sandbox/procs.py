"""Start, wait for and stop local processes without leaking them or their ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition did not become true before its deadline."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Poll ``condition`` until it returns a truthy value, or raise WaitTimeout at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for {text}")
        time.sleep(interval)


class ManagedProcess:
    """A child process in its own process group, stopped with everything it spawned.

    The gcloud emulator wrapper forks a JVM, so killing only the direct child would
    leave the emulator holding its port: signals go to the whole group instead.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log_path: Path,
        cwd: str | os.PathLike[str] | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process-group id."""
        return self.proc.pid

    def alive(self) -> bool:
        """True while the direct child is running."""
        return self.proc.poll() is None

    def log_text(self) -> str:
        """Everything the process has written so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``timeout``."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        # Grandchildren (the emulator's JVM) may outlive the leader; sweep the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        wait_until(
            lambda: not group_alive(self.pid),
            timeout=timeout,
            message=f"process group of {self.name} ({self.pid}) to exit",
        )
        self._log.close()


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the parent dies (Linux prctl).

    The child runs in its own session (so ``stop`` can signal its whole group), which
    also shields it from the terminal's Ctrl-C; this ties its life to ours instead, so
    a test run that is killed outright leaves no emulator or server behind.
    """
    if sys.platform != "linux":
        return
    import ctypes  # noqa: PLC0415 - runs in the forked child only

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    """True while any process of the group ``pgid`` exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def group_pids(pgid: int) -> list[int]:
    """Pids of every live process in process group ``pgid`` (from /proc, no psutil needed)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name may contain spaces and parentheses: split after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids
