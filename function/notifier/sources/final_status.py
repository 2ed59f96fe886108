"""Parse the pipeline's final status into a frozen dataclass, once.

The payload is the JSON of KFP's ``PipelineTaskFinalStatus`` (TFX's ``FinalStatusStr``):
camelCase as Vertex AI sends it, snake_case accepted too, e.g.::

    {"error": {"code": 9, "message": "The DAG failed because some tasks failed. ..."},
     "pipelineJobResourceName": "projects/1/locations/us-central1/pipelineJobs/job-1",
     "pipelineTaskName": "my-pipeline", "state": "FAILED"}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from notifier import bounded_json
from notifier.errors import BadMessageError
from notifier.model import FinalStatus, json_text, normalize_state


def _pick(obj: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in obj and obj[key] is not None:
            return obj[key]
    return None


def parse_status(raw: bytes) -> FinalStatus:
    """Parse final-status bytes, or raise BadMessageError saying what is wrong."""
    try:
        obj = bounded_json.loads(raw, bounded_json.MESSAGE_DATA)
    except bounded_json.JsonInputError as exc:
        raise BadMessageError(f"final status {exc}") from None
    return status_from_document(obj)


def status_from_document(obj: Any) -> FinalStatus:
    """The final status in an already parsed JSON document, or BadMessageError."""
    if not isinstance(obj, dict):
        raise BadMessageError(f"final status is a JSON {type(obj).__name__}, expected an object")

    state = _pick(obj, "state")
    resource = json_text(_pick(obj, "pipelineJobResourceName", "pipeline_job_resource_name")).strip()
    if state is None and not resource:
        raise BadMessageError("final status has neither 'state' nor 'pipelineJobResourceName'")

    error = _pick(obj, "error")
    code: Any = None
    message: Any = None
    if isinstance(error, Mapping):
        code = _pick(error, "code")
        message = _pick(error, "message")
    elif error is not None:
        message = error
    # KFP's Python PipelineTaskFinalStatus flattens the error into two fields.
    code = code if code is not None else _pick(obj, "errorCode", "error_code")
    message = message if message is not None else _pick(obj, "errorMessage", "error_message")

    try:
        error_code = int(code) if code is not None and not isinstance(code, bool) else None
    except (TypeError, ValueError, OverflowError):
        error_code = None

    return FinalStatus(
        state=normalize_state(state),
        pipeline_job_resource_name=resource,
        pipeline_task_name=json_text(_pick(obj, "pipelineTaskName", "pipeline_task_name")).strip(),
        error_code=error_code,
        error_message=json_text(message).strip(),
    )
