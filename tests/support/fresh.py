"""Code run in a fresh interpreter in function/ (as the deployed function imports it): for
tests of what an import loads, which the test process itself has long loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.support.paths import REPO

FUNCTION_DIR = REPO / "function"


def fresh_lines(code: str, env: dict[str, str] | None = None) -> list[str]:
    """Run ``code`` in a fresh interpreter in function/ (``env``: its whole environment); its stdout lines."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=FUNCTION_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return out.stdout.splitlines()


def fresh_json(code: str, env: dict[str, str] | None = None) -> Any:
    """The JSON ``code`` printed last, run in a fresh interpreter in function/."""
    return json.loads(fresh_lines(code, env)[-1])
