"""``replay publish`` against the Pub/Sub emulator: what arrives is what a pipeline sends."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from replay.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE
from tests.support.paths import SAMPLES
from tests.support.topics import Topic

pytestmark = pytest.mark.emulator

STATUSES = sorted(SAMPLES.glob("*.status.json"))


def test_raw_statuses_arrive_byte_identical_with_the_stubs_attributes(replay, topic: Topic) -> None:
    result = replay(
        "publish",
        *map(str, STATUSES),
        "--topic",
        topic.topic,
        "--region",
        "europe-west4",
    )
    assert result.code == EXIT_OK, result.err
    assert f"published {len(STATUSES)} message(s)" in result.out
    received = topic.received()
    assert sorted(m["data"] for m in received) == sorted(p.read_bytes() for p in STATUSES)
    by_data = {m["data"]: m["attributes"] for m in received}
    failed = by_data[(SAMPLES / "churn-failed.status.json").read_bytes()]
    assert failed == {
        "state": "FAILED",
        "pipeline_job": "projects/271009669852/locations/us-central1/pipelineJobs/churn-training-20261127061500",
        "gcp_region": "europe-west4",
    }
    snake = by_data[(SAMPLES / "kfp-snake-failed.status.json").read_bytes()]
    assert snake["pipeline_job"].endswith("/pipelineJobs/kfp-eval-20261127")


def test_a_saved_pull_keeps_its_data_and_attributes_as_they_were(
    replay, topic: Topic, tmp_path: Path
) -> None:
    # Not UTF-8 and not a status: a saved message is replayed as it was, whatever it holds.
    odd = b"\xff\x00 not json"
    status = (SAMPLES / "nightly-cancelled.status.json").read_bytes()
    saved = [
        {
            "ackId": "projects/p/subscriptions/s:1",
            "message": {
                "data": base64.b64encode(status).decode(),
                "attributes": {"state": "CANCELLED", "team": "growth", "gcp_region": "us-east1"},
                "messageId": "111",
                "publishTime": "2026-11-27T06:00:00Z",
            },
        },
        {"ackId": "x", "message": {"data": base64.b64encode(odd).decode(), "messageId": "112"}},
    ]
    path = tmp_path / "pulled.json"
    path.write_text(json.dumps(saved))
    result = replay("publish", str(path), "--topic", topic.topic)
    assert result.code == EXIT_OK, result.err
    received = {m["data"]: m["attributes"] for m in topic.received()}
    assert received == {
        status: {"state": "CANCELLED", "team": "growth", "gcp_region": "us-east1"},
        odd: {},
    }


def test_one_bad_file_means_nothing_is_published(replay, topic: Topic, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"state": "FAILED",')
    result = replay("publish", str(STATUSES[0]), str(STATUSES[1]), str(bad), "--topic", topic.topic)
    assert result.code == EXIT_USAGE
    assert "broken.json: is not JSON" in result.err
    assert topic.received() == []


def test_a_missing_topic_fails_with_one_line(replay, topic: Topic) -> None:
    missing = topic.topic + "-nowhere"
    result = replay("publish", str(STATUSES[0]), "--topic", missing, "--timeout", "5")
    assert result.code == EXIT_RUNTIME
    [line] = result.err.strip().splitlines()
    assert missing in line and "NotFound" in line
    assert "nothing published" in line
