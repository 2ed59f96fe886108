"""The final-status parser: camelCase and snake_case, every state, missing fields, garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from notifier.errors import BadMessageError, PermanentError
from notifier.model import CANCELLED, FAILED, SUCCEEDED, UNKNOWN, FinalStatus
from notifier.sources.final_status import parse_status
from tests.support.hostile import SLOW_OK, encodable, examples, hostile_bytes

VERTEX_FAILURE = (
    b'{"error":{"code":9,"message":"The DAG failed because some tasks failed. The failed tasks are: '
    b'[print-op, fail-op]."},"pipelineJobResourceName":"projects/271009669852/locations/us-central1/'
    b'pipelineJobs/pipeline-with-task-final-status-07-14-2023-19-07-11","pipelineTaskName":"my-pipeline",'
    b'"state":"FAILED"}'
)


def test_real_vertex_failure_payload() -> None:
    status = parse_status(VERTEX_FAILURE)
    assert status.state == FAILED
    assert status.job_id == "pipeline-with-task-final-status-07-14-2023-19-07-11"
    assert status.project == "271009669852"
    assert status.region == "us-central1"
    assert status.error_code == 9
    assert status.failed_task_names == ("print-op", "fail-op")
    assert not status.succeeded


def test_snake_case_and_flat_kfp_error_fields() -> None:
    raw = {
        "state": "FAILED",
        "pipeline_job_resource_name": "projects/acme-ml-prod/locations/europe-west4/pipelineJobs/j1",
        "pipeline_task_name": "t",
        "error_code": 13,
        "error_message": "boom",
    }
    status = parse_status(json.dumps(raw).encode())
    assert (status.job_id, status.region, status.error_code, status.error_message) == (
        "j1",
        "europe-west4",
        13,
        "boom",
    )


def test_tfx_success_with_empty_error_and_no_resource_name() -> None:
    status = parse_status(b'{"error":{},"pipelineTaskName":"tfx-dag","state":"SUCCEEDED"}')
    assert status.succeeded
    assert status.error_code is None and status.error_message == ""
    assert status.job_id == "tfx-dag"
    assert not status.has_valid_resource_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SUCCEEDED", SUCCEEDED),
        ("succeeded", SUCCEEDED),
        ("PIPELINE_STATE_SUCCEEDED", SUCCEEDED),
        ("FAILED", FAILED),
        ("CANCELLED", CANCELLED),
        ("CANCELED", CANCELLED),
        ("PIPELINE_STATE_CANCELLED", CANCELLED),
        ("PAUSED", "PAUSED"),
        ("", UNKNOWN),
    ],
)
def test_states(raw: str, expected: str) -> None:
    status = parse_status(
        json.dumps(
            {"state": raw, "pipelineJobResourceName": "projects/p/locations/r/pipelineJobs/j"}
        ).encode()
    )
    assert status.state == expected
    assert status.succeeded is (expected == SUCCEEDED)


def test_missing_state_with_resource_name_is_unknown_not_success() -> None:
    status = parse_status(b'{"pipelineJobResourceName":"projects/p/locations/r/pipelineJobs/j"}')
    assert status.state == UNKNOWN
    assert not status.succeeded


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"not json", "not JSON"),
        (b"[1,2]", "JSON list"),
        (b'"FAILED"', "JSON str"),
        (b"null", "JSON NoneType"),
        (b"{}", "neither 'state' nor"),
        (b'{"foo": 1}', "neither 'state' nor"),
    ],
)
def test_garbage_is_a_permanent_error_naming_the_problem(raw: bytes, reason: str) -> None:
    with pytest.raises(BadMessageError, match=reason) as info:
        parse_status(raw)
    assert isinstance(info.value, PermanentError)


def test_odd_field_types_do_not_crash() -> None:
    status = parse_status(b'{"state": 3, "error": "plain text", "pipelineTaskName": ["x"], "errorCode": "x"}')
    assert status.state == "3"
    assert status.error_message == "plain text"
    assert status.error_code is None


def test_status_is_frozen() -> None:
    status = parse_status(VERTEX_FAILURE)
    with pytest.raises(AttributeError):
        status.state = "SUCCEEDED"  # type: ignore[misc]


# --- hostile bytes (tests.support.hostile) -----------------------------------------------------


def status_fields(status: FinalStatus) -> list[str]:
    return [status.state, status.pipeline_job_resource_name, status.pipeline_task_name, status.error_message]


@settings(max_examples=examples(500, 5000), deadline=None, suppress_health_check=SLOW_OK)
@given(raw=hostile_bytes)
def test_final_status_parser(raw: bytes) -> None:
    try:
        status = parse_status(raw)
    except BadMessageError as exc:
        assert str(exc).startswith("final status ")
        return
    assert all(encodable(field) for field in status_fields(status))
    assert status.state
