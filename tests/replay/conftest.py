"""Helpers for the replay tests: run the command in process, and fresh emulator topics."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from replay.cli import main
from sandbox.pubsub_emulator import PubSubEmulator

_names = itertools.count(1)


@dataclass
class Result:
    """A finished ``replay`` run."""

    code: int
    out: str
    err: str


@pytest.fixture
def replay(capsys: pytest.CaptureFixture[str]):
    """Call ``replay`` with arguments; returns its exit code and output."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse exits for --help and usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@dataclass
class Topic:
    """A topic with a pull subscription that sees everything published to it."""

    emulator: PubSubEmulator
    topic: str
    subscription: str

    def received(self) -> list[dict[str, Any]]:
        """Pull and acknowledge everything waiting; messages decoded to data and attributes."""
        got: list[dict[str, Any]] = []
        while batch := self.emulator.pull(self.subscription):
            self.emulator.acknowledge(self.subscription, [m["ackId"] for m in batch])
            got.extend(batch)
        return [
            {"data": base64.b64decode(m["message"]["data"]), "attributes": m["message"].get("attributes", {})}
            for m in got
        ]


@pytest.fixture
def topic(emulator_env: PubSubEmulator) -> Topic:
    """A fresh topic and pull subscription on the session's emulator."""
    n = next(_names)
    path = emulator_env.create_topic(f"replay-{n}")
    return Topic(emulator_env, path, emulator_env.create_subscription(f"replay-{n}-all", path))
