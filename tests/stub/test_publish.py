"""tfx_exit_stub.publish_final_status: the message contract, topic checks and failure behaviour."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tfx_exit_stub
from notifier.sources.final_status import parse_status
from sandbox.procs import free_port, wait_until
from sandbox.pubsub_emulator import PubSubEmulator
from tfx_exit_stub import PublishError, final_status_json, publish_final_status, validate_topic

REPO = Path(__file__).resolve().parents[2]
TOPIC = "projects/my-project/topics/pipeline-status"
JOB = "projects/123/locations/us-central1/pipelineJobs/churn-20240101"
FAILED = json.dumps(
    {
        "error": {"code": 9, "message": "The DAG failed because some tasks failed."},
        "pipelineJobResourceName": JOB,
        "pipelineTaskName": "churn",
        "state": "FAILED",
    },
    indent=2,
)


class _Done:
    def __init__(self, value: str = "", error: BaseException | None = None) -> None:
        self.value, self.error = value, error

    def result(self, timeout: float | None = None) -> str:
        if self.error is not None:
            raise self.error
        return self.value


class RecordingPublisher:
    """Stands in for PublisherClient: records every call and answers with ``future``."""

    def __init__(self, future: _Done | None = None) -> None:
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []
        self.future = future or _Done("msg-1")

    def publish(self, topic: str, data: bytes, **attributes: str) -> _Done:
        self.calls.append((topic, data, attributes))
        return self.future


# --- topic paths -------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    [
        TOPIC,
        "projects/local-project/topics/abc",
        "projects/example.com:my-project/topics/status.v1~x+y%20",
        "projects/a12345/topics/" + "T" * 255,
    ],
)
def test_valid_topic_paths_pass(topic: str) -> None:
    assert validate_topic(topic) == topic


@pytest.mark.parametrize(
    "topic",
    [
        "pipeline-status",  # a bare name, not a path
        "projects/my-project/subscriptions/pipeline-status",
        "projects/my-project/topics/",
        "projects/My-Project/topics/pipeline-status",  # project ids are lowercase
        "projects/short/topics/pipeline-status",  # project ids have 6+ characters
        "projects/my-project-/topics/pipeline-status",
        "projects/1project/topics/pipeline-status",
        "projects/my-project/topics/ab",  # topic names have 3+ characters
        "projects/my-project/topics/1status",
        "projects/my-project/topics/goog-status",
        "projects/my-project/topics/" + "t" * 256,
        "projects/my-project/topics/pipeline status",
        TOPIC + "\n",  # a Terraform output pasted with its newline
        "//pubsub.googleapis.com/" + TOPIC,
    ],
)
def test_malformed_topic_raises_before_any_publish_call(topic: str) -> None:
    publisher = RecordingPublisher()
    with pytest.raises(ValueError, match="malformed Pub/Sub topic path") as info:
        publish_final_status(FAILED, topic, publisher=publisher)
    assert repr(topic) in str(info.value)
    assert publisher.calls == []


def test_malformed_topic_never_builds_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(timeout: float) -> Any:
        raise AssertionError("a client was built for a malformed topic")

    monkeypatch.setattr("tfx_exit_stub.publish._default_publisher", no_client)
    with pytest.raises(ValueError, match="malformed"):
        publish_final_status(FAILED, "topics/pipeline-status")


def test_non_string_topic_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="topic must be a string"):
        publish_final_status(FAILED, None)  # type: ignore[arg-type]


# --- the message --------------------------------------------------------------------


def test_data_is_the_status_unchanged_and_attributes_follow_the_contract() -> None:
    publisher = RecordingPublisher()
    message_id = publish_final_status(
        FAILED,
        TOPIC,
        gcp_region="us-central1",
        slack_channel_id="C0123ABCD",
        on_failure_only=True,
        publisher=publisher,
    )
    assert message_id == "msg-1"
    [(topic, data, attributes)] = publisher.calls
    assert topic == TOPIC
    assert data == FAILED.encode()  # indentation and key order kept: no re-serialising
    assert attributes == {
        "state": "FAILED",
        "pipeline_job": JOB,
        "gcp_region": "us-central1",
        "slack_channel_id": "C0123ABCD",
        "on_failure_only": "true",
    }


def test_unset_settings_add_no_attributes() -> None:
    publisher = RecordingPublisher()
    publish_final_status('{"state": "SUCCEEDED"}', TOPIC, publisher=publisher)
    assert publisher.calls[0][2] == {"state": "SUCCEEDED"}


def test_snake_case_resource_name_becomes_pipeline_job() -> None:
    publisher = RecordingPublisher()
    status = json.dumps({"state": "CANCELLED", "pipeline_job_resource_name": JOB})
    publish_final_status(status, TOPIC, publisher=publisher)
    assert publisher.calls[0][2] == {"state": "CANCELLED", "pipeline_job": JOB}


@pytest.mark.parametrize(
    "status",
    ["not json at all", "[1, 2]", '"FAILED"', '{"state": 3, "pipelineJobResourceName": null}', ""],
)
def test_unreadable_status_is_published_as_is_without_status_attributes(status: str) -> None:
    publisher = RecordingPublisher()
    publish_final_status(status, TOPIC, gcp_region="europe-west4", publisher=publisher)
    [(_, data, attributes)] = publisher.calls
    assert data == status.encode()
    assert attributes == {"gcp_region": "europe-west4"}


def test_bytes_are_published_byte_for_byte() -> None:
    publisher = RecordingPublisher()
    raw = b'{"state": "FAILED"}\xff\x00'
    publish_final_status(raw, TOPIC, publisher=publisher)
    assert publisher.calls[0][1] == raw
    assert publisher.calls[0][2] == {}


def test_an_oversized_attribute_value_from_the_status_is_dropped_not_fatal() -> None:
    publisher = RecordingPublisher()
    status = json.dumps({"state": "FAILED", "pipelineJobResourceName": "x" * 1025})
    publish_final_status(status, TOPIC, publisher=publisher)
    assert publisher.calls[0][2] == {"state": "FAILED"}


def test_an_oversized_setting_is_refused_before_publishing() -> None:
    publisher = RecordingPublisher()
    with pytest.raises(ValueError, match="slack_channel_id"):
        publish_final_status(FAILED, TOPIC, slack_channel_id="C" * 1025, publisher=publisher)
    assert publisher.calls == []


def test_non_text_status_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="final_status must be str or bytes"):
        publish_final_status({"state": "FAILED"}, TOPIC, publisher=RecordingPublisher())  # type: ignore[arg-type]


def test_a_failed_publish_raises_publish_error_naming_topic_and_cause() -> None:
    publisher = RecordingPublisher(_Done(error=ConnectionError("socket closed")))
    with pytest.raises(PublishError) as info:
        publish_final_status(FAILED, TOPIC, publisher=publisher)
    assert isinstance(info.value, RuntimeError)
    assert TOPIC in str(info.value)
    assert "ConnectionError: socket closed" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionError)


def test_kfp_status_json_is_parsed_by_the_function_like_vertex_json() -> None:
    """The KFP twin rebuilds Vertex's JSON; the Cloud Function must read both alike."""
    rebuilt = final_status_json(
        state="FAILED",
        pipeline_job_resource_name=JOB,
        pipeline_task_name="churn",
        error_code=9,
        error_message="The DAG failed because some tasks failed.",
    )
    assert json.loads(rebuilt) == json.loads(FAILED)
    assert parse_status(rebuilt.encode()) == parse_status(FAILED.encode())


def test_kfp_status_json_leaves_out_what_kfp_did_not_give() -> None:
    assert json.loads(final_status_json(state="SUCCEEDED", error_code=None)) == {"state": "SUCCEEDED"}


# --- staying tiny -------------------------------------------------------------------


def test_importing_the_stub_imports_nothing_heavy() -> None:
    code = (
        "import sys, tfx_exit_stub\n"
        "heavy = ('tfx', 'kfp', 'google.cloud.pubsub_v1', 'google.protobuf', 'grpc', 'google.api_core')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_the_tfx_part_says_what_is_missing_without_tfx() -> None:
    code = (
        "import tfx_exit_stub\n"
        "try:\n"
        "    tfx_exit_stub.PubSubExitHandler\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    try:
        import tfx  # noqa: F401
    except ImportError:
        assert "needs the 'tfx' package" in out.stdout
    else:
        assert out.stdout == ""


def test_unknown_attributes_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = tfx_exit_stub.Nope


# --- against the Pub/Sub emulator ---------------------------------------------------


def _pull_one(emulator: PubSubEmulator, subscription: str) -> dict[str, Any]:
    [received] = wait_until(lambda: emulator.pull(subscription), timeout=15, message="the published message")
    emulator.acknowledge(subscription, [received["ackId"]])
    return received["message"]


@pytest.mark.emulator
def test_publishes_to_the_emulator_byte_identical(emulator_env: PubSubEmulator) -> None:
    topic = emulator_env.create_topic("stub-status")
    sub = emulator_env.create_subscription("stub-status-sub", topic)
    message_id = publish_final_status(
        FAILED, topic, gcp_region="us-central1", slack_channel_id="C0123ABCD", on_failure_only=True
    )
    message = _pull_one(emulator_env, sub)
    assert message["messageId"] == message_id
    assert base64.b64decode(message["data"]) == FAILED.encode()
    assert message["attributes"] == {
        "state": "FAILED",
        "pipeline_job": JOB,
        "gcp_region": "us-central1",
        "slack_channel_id": "C0123ABCD",
        "on_failure_only": "true",
    }


@pytest.mark.emulator
def test_non_json_status_still_reaches_the_emulator(emulator_env: PubSubEmulator) -> None:
    topic = emulator_env.create_topic("stub-garbage")
    sub = emulator_env.create_subscription("stub-garbage-sub", topic)
    publish_final_status("<html>502 Bad Gateway</html>", topic)
    message = _pull_one(emulator_env, sub)
    assert base64.b64decode(message["data"]) == b"<html>502 Bad Gateway</html>"
    assert "attributes" not in message or message["attributes"] == {}


@pytest.mark.emulator
def test_a_missing_topic_fails_with_the_servers_reason(emulator_env: PubSubEmulator) -> None:
    topic = emulator_env.topic_path("never-created")
    with pytest.raises(PublishError, match=r"never-created.*NotFound"):
        publish_final_status(FAILED, topic, timeout=10)


def test_an_unreachable_pubsub_fails_clearly_in_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing listens on this port, so every attempt is refused and retried until the deadline.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(PublishError) as info:
        publish_final_status(FAILED, TOPIC, timeout=2)
    elapsed = time.monotonic() - started
    assert TOPIC in str(info.value)
    assert info.value.__cause__ is not None
    assert elapsed < 20, f"took {elapsed:.1f}s with a 2s budget"
