"""The function under test (sandbox, e2e tests, benchmarks) never inherits the developer's settings."""

from __future__ import annotations

import pytest

from notifier.settings import ENV_VARS
from sandbox.function_server import scrubbed_environ


def test_every_variable_the_function_reads_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    leaked = {name: "from-the-shell" for name in ENV_VARS}
    leaked |= {"CLOUD_RUN_TIMEOUT_SECONDS": "1", "GUNICORN_CMD_ARGS": "--workers 9", "THREADS": "1"}
    for name, value in leaked.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME_GROWN_SETTING", "kept")

    env = scrubbed_environ()

    assert not set(leaked) & set(env)
    assert env["HOME_GROWN_SETTING"] == "kept"
    assert "SLACK_BOT_TOKEN" in ENV_VARS  # the list is the real one, not empty
