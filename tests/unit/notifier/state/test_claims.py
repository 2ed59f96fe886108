"""Idempotency keys: one per pipeline run and final state."""

from __future__ import annotations

from notifier.sources.final_status import parse_status
from notifier.sources.pubsub import PubSubMessage
from notifier.state.claims import idempotency_key

RESOURCE = "projects/p/locations/us-central1/pipelineJobs/run-1"


def status(state: str, resource: str = RESOURCE):
    return parse_status(f'{{"state": "{state}", "pipelineJobResourceName": "{resource}"}}'.encode())


def test_key_is_job_and_state_not_message() -> None:
    a = idempotency_key(status("FAILED"), PubSubMessage("m1", b""))
    b = idempotency_key(status("FAILED"), PubSubMessage("m2", b""))
    assert a == b == f"{RESOURCE}#FAILED"
    assert idempotency_key(status("SUCCEEDED"), PubSubMessage("m1", b"")) != a


def test_message_id_when_there_is_no_job() -> None:
    bare = parse_status(b'{"state": "SUCCEEDED", "pipelineTaskName": "tfx-dag"}')
    assert idempotency_key(bare, PubSubMessage("m9", b"")) == "message:m9"
