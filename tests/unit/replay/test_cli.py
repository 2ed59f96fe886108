"""The command line: help everywhere, one-line errors and exit codes on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from replay.errors import EXIT_RUNTIME, EXIT_USAGE
from sandbox.procs import free_port
from tests.support.paths import REPO, SAMPLES

FAILED = str(SAMPLES / "churn-failed.status.json")
TOPIC = "projects/local-project/topics/replay-cli"
SUB = "projects/local-project/subscriptions/replay-cli-dead"


@pytest.mark.parametrize("command", [[], ["publish"], ["invoke"], ["redrive"]])
def test_every_subcommand_has_help(replay, command: list[str]) -> None:
    result = replay(*command, "--help")
    assert result.code == 0
    assert "usage: replay" in result.out
    assert "exit codes" in result.out


def test_help_names_the_options_of_each_subcommand(replay) -> None:
    assert "--topic" in replay("publish", "--help").out
    assert "--dry-run" in replay("invoke", "--help").out
    assert "--max" in replay("redrive", "--help").out


def _write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


BAD_INPUTS = [
    # (files to write, argv after the files, text the one-line error must contain)
    ({}, ["publish", "missing.json", "--topic", TOPIC], "missing.json: no such file"),
    ({"bad.json": "{not json"}, ["publish", "bad.json", "--topic", TOPIC], "bad.json: is not JSON"),
    ({"bin.json": b"\xff\xfe"}, ["publish", "bin.json", "--topic", TOPIC], "bin.json: is not UTF-8"),
    ({"num.json": "42"}, ["publish", "num.json", "--topic", TOPIC], "num.json: a JSON int"),
    ({"empty.json": "[]"}, ["publish", "empty.json", "--topic", TOPIC], "empty.json: an empty list"),
    (
        {"obj.json": '{"hello": 1}'},
        ["publish", "obj.json", "--topic", TOPIC],
        "obj.json: not a pipeline final status",
    ),
    (
        {"b64.json": '[{"ackId": "a", "message": {"data": "%%%"}}]'},
        ["publish", "b64.json", "--topic", TOPIC],
        "b64.json[0]: message.data is not valid base64",
    ),
    (
        {"attrs.json": '[{"message": {"data": "e30=", "attributes": {"n": 1}}}]'},
        ["publish", "attrs.json", "--topic", TOPIC],
        "attrs.json[0]: message.attributes must be an object of strings",
    ),
    ({}, ["publish", FAILED, "--topic", "my-topic"], "malformed Pub/Sub topic path 'my-topic'"),
    ({}, ["publish", FAILED, "--topic", TOPIC, "--region", "Mars 1"], "'Mars 1' is not a GCP region"),
    (
        {},
        ["publish", FAILED, "--topic", TOPIC, "--channel", "C0123ABCD"],
        "unrecognized arguments: --channel",
    ),
    ({}, ["publish", FAILED], "the following arguments are required: --topic"),
    ({}, ["invoke", FAILED], "one of the arguments --url --dry-run is required"),
    ({}, ["invoke", FAILED, "--url", "ftp://host/"], "--url 'ftp://host/': expected an http(s) URL"),
    ({}, ["redrive", "--subscription", "dlq", "--topic", TOPIC], "--subscription 'dlq': expected"),
    ({}, ["redrive", "--subscription", SUB, "--topic", TOPIC, "--max", "0"], "'0' must be at least 1"),
    ({}, ["publish", FAILED, "--topic", TOPIC, "--timeout", "soon"], "'soon' is not a number"),
]


@pytest.mark.parametrize(("files", "argv", "expected"), BAD_INPUTS, ids=[b[2][:40] for b in BAD_INPUTS])
def test_bad_input_is_one_line_naming_the_problem_and_exits_2(
    replay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict, argv: list[str], expected: str
) -> None:
    # Unreachable on purpose: a bad input must fail before any Pub/Sub call is attempted.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        _write(tmp_path, name, text)
    result = replay(*argv)
    assert result.code == EXIT_USAGE, result.err
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("replay")
    assert expected in lines[0]


def test_a_saved_message_refuses_attribute_flags(replay, tmp_path: Path) -> None:
    saved = _write(
        tmp_path, "saved.json", '[{"message": {"data": "e30=", "attributes": {"state": "FAILED"}}}]'
    )
    result = replay("publish", saved, "--topic", TOPIC, "--region", "us-east1")
    assert result.code == EXIT_USAGE
    assert "replayed with its own attributes" in result.err


def test_unreachable_pubsub_is_a_runtime_failure_within_the_timeout(replay, monkeypatch) -> None:
    host = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", host)
    started = time.monotonic()
    result = replay("publish", FAILED, "--topic", TOPIC, "--timeout", "2")
    assert result.code == EXIT_RUNTIME
    assert time.monotonic() - started < 20
    [line] = result.err.strip().splitlines()
    assert "nothing published" in line
    assert host in line
    assert "churn-failed.status.json" in line


def test_unreachable_function_is_a_runtime_failure(replay) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    result = replay("invoke", FAILED, "--url", url, "--timeout", "5")
    assert result.code == EXIT_RUNTIME
    [line] = result.err.strip().splitlines()
    assert f"--url {url}: the function is unreachable" in line


def test_python_dash_m_replay_runs_the_same_command() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "function")])}
    done = subprocess.run(
        [sys.executable, "-m", "replay", "publish", "missing.json", "--topic", TOPIC],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_USAGE
    assert done.stderr.strip() == "replay publish: error: missing.json: no such file"
