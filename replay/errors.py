"""The two ways a replay fails, each with its own exit code (documented in docs/replay.md)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ReplayError(Exception):
    """A failure reported as one line on stderr, with ``exit_code`` as the process status."""

    exit_code = EXIT_RUNTIME


class BadInputError(ReplayError):
    """A file, flag or value is wrong: nothing was sent, fixing the input will help."""

    exit_code = EXIT_USAGE


class RuntimeFailure(ReplayError):
    """Input was fine but sending failed (Pub/Sub or the function unreachable, a publish failed)."""

    exit_code = EXIT_RUNTIME
