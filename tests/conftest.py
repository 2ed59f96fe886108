"""Shared fixtures: real local services (the Pub/Sub emulator) started once and always stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import firestore_emulator
from sandbox.firestore_emulator import FirestoreEmulator
from sandbox.pubsub_emulator import INSTALL_HINT, PubSubEmulator, gcloud_path
from sandbox.slack_standin import SlackStandin
from sandbox.vertex_standin import VertexStandin

DATA = Path(__file__).parent / "data"


def require_tool(available: bool, hint: str) -> None:
    """Skip locally when a tool is missing, but fail under CI=true: CI must run everything."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {hint}")
    pytest.skip(hint)


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubSubEmulator]:
    """One Pub/Sub emulator for the session, on a free loopback port."""
    require_tool(gcloud_path() is not None, INSTALL_HINT)
    emulator = PubSubEmulator.start(tmp_path_factory.mktemp("pubsub"))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def emulator_env(pubsub_emulator: PubSubEmulator, monkeypatch: pytest.MonkeyPatch) -> PubSubEmulator:
    """Point Google client libraries in this process at the emulator for one test."""
    for key, value in pubsub_emulator.env.items():
        monkeypatch.setenv(key, value)
    return pubsub_emulator


@pytest.fixture(scope="session")
def firestore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirestoreEmulator]:
    """One Firestore emulator for the session, on a free loopback port."""
    require_tool(firestore_emulator.firestore_gcloud() is not None, firestore_emulator.INSTALL_HINT)
    emulator = FirestoreEmulator.start(tmp_path_factory.mktemp("firestore"))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def standins() -> Iterator[tuple[SlackStandin, VertexStandin]]:
    """Slack and Vertex stand-ins for one test module; Vertex serves the jobs in tests/data."""
    with SlackStandin() as slack, VertexStandin() as vertex:
        vertex.load_jobs(DATA)
        yield slack, vertex
