"""Publish a pipeline's final status to Pub/Sub, exactly as the orchestrator handed it over.

This module runs inside the pipeline's own container as its exit-handler task, so it
imports only the standard library at import time; google-cloud-pubsub (which TFX images
already carry through apache-beam[gcp]) is imported inside the publish call.

The message contract with the notifier Cloud Function:

- data: the final status bytes, unchanged (the function owns parsing, so a status it
  cannot read still reaches it and gets reported);
- attributes ``state`` and ``pipeline_job`` copied from the JSON when present, so
  subscriptions can filter on them without decoding the data;
- attributes ``gcp_region``, ``slack_channel_id`` and ``on_failure_only`` ("true") when
  set, which override the function's defaults for this pipeline.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

# Pub/Sub naming rules: a project id is 6-30 characters of lowercase letters, digits and
# hyphens, starting with a letter and not ending with a hyphen (legacy domain-scoped ids
# carry a "domain:" prefix); a topic name is 3-255 characters of letters, digits and
# - _ . ~ + %, starting with a letter.
TOPIC_RE = re.compile(
    r"projects/(?P<project>(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"/topics/(?P<topic>[A-Za-z][A-Za-z0-9._~+%-]{2,254})"
)

# Pub/Sub rejects the whole message when one attribute value exceeds 1024 bytes; the
# data still carries everything, so an oversized value is dropped rather than risked.
_MAX_ATTRIBUTE_BYTES = 1024

DEFAULT_TIMEOUT_SECONDS = 120.0


class PublishError(RuntimeError):
    """Publishing the final status failed after the client's retries."""


def validate_topic(topic: str) -> str:
    """Return ``topic`` if it is a full Pub/Sub topic path, else raise ValueError."""
    if not isinstance(topic, str):
        raise ValueError(f"topic must be a string like 'projects/<project-id>/topics/<name>', got {topic!r}")
    match = TOPIC_RE.fullmatch(topic)
    if match is None or match["topic"].startswith("goog"):
        raise ValueError(
            f"malformed Pub/Sub topic path {topic!r}: expected 'projects/<project-id>/topics/<name>' "
            "(project id 6-30 lowercase letters, digits or hyphens; topic name 3-255 characters "
            "starting with a letter, not with 'goog'), e.g. the notifier's Terraform output"
        )
    return topic


def status_attributes(data: bytes) -> dict[str, str]:
    """The ``state`` and ``pipeline_job`` attributes found in a final-status JSON, if any."""
    try:
        status = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(status, dict):
        return {}
    found = {
        "state": status.get("state"),
        # Vertex sends camelCase; snake_case comes from hand-made or KFP-SDK statuses.
        "pipeline_job": status.get("pipelineJobResourceName") or status.get("pipeline_job_resource_name"),
    }
    return {key: value for key, value in found.items() if isinstance(value, str) and _fits(value)}


def _fits(value: str) -> bool:
    return 0 < len(value.encode()) <= _MAX_ATTRIBUTE_BYTES


def message_attributes(
    data: bytes, *, gcp_region: str = "", slack_channel_id: str = "", on_failure_only: bool = False
) -> dict[str, str]:
    """All attributes of the message for ``data`` and the exit handler's settings."""
    attributes = status_attributes(data)
    for key, value in (("gcp_region", gcp_region), ("slack_channel_id", slack_channel_id)):
        if value:
            if not _fits(value):
                raise ValueError(
                    f"{key} is longer than Pub/Sub's {_MAX_ATTRIBUTE_BYTES}-byte attribute limit"
                )
            attributes[key] = value
    if on_failure_only:
        attributes["on_failure_only"] = "true"
    return attributes


def final_status_json(
    *,
    state: str,
    pipeline_job_resource_name: str = "",
    pipeline_task_name: str = "",
    error_code: int | None = None,
    error_message: str = "",
) -> str:
    """Serialise a KFP ``PipelineTaskFinalStatus`` the way Vertex serialises TFX's FinalStatusStr.

    The KFP SDK hands its exit task an object rather than the JSON string TFX receives;
    rebuilding Vertex's camelCase JSON lets one Cloud Function parse both.
    """
    status: dict[str, Any] = {"state": state}
    if pipeline_job_resource_name:
        status["pipelineJobResourceName"] = pipeline_job_resource_name
    if pipeline_task_name:
        status["pipelineTaskName"] = pipeline_task_name
    if error_code or error_message:
        error: dict[str, Any] = {}
        if error_code:
            error["code"] = error_code
        if error_message:
            error["message"] = error_message
        status["error"] = error
    return json.dumps(status, sort_keys=True)


def _default_publisher(timeout: float) -> Any:
    # Imported here so that importing the stub stays cheap and works without the client.
    from google.api_core import exceptions, retry  # noqa: PLC0415 - keeps the stub import cheap
    from google.cloud import pubsub_v1  # noqa: PLC0415

    # The client's own publish retry runs for up to 600 s; an exit-handler task should
    # fail visibly well before that, so the same retryable codes get a shorter deadline.
    publish_retry = retry.Retry(
        predicate=retry.if_exception_type(
            exceptions.Aborted,
            exceptions.Cancelled,
            exceptions.DeadlineExceeded,
            exceptions.InternalServerError,
            exceptions.ResourceExhausted,
            exceptions.ServiceUnavailable,
            exceptions.Unknown,
        ),
        initial=0.1,
        maximum=10.0,
        multiplier=1.3,
        timeout=timeout,
    )
    # PUBSUB_EMULATOR_HOST is honoured by the client itself (insecure channel, no credentials).
    return pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(retry=publish_retry, timeout=timeout)
    )


def publish_final_status(
    final_status: str | bytes,
    topic: str,
    *,
    gcp_region: str = "",
    slack_channel_id: str = "",
    on_failure_only: bool = False,
    publisher: Any = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> str:
    """Publish ``final_status`` unchanged to ``topic`` and return the Pub/Sub message id.

    ``publisher`` is anything with ``publish(topic, data, **attributes)`` returning a
    future (a ``google.cloud.pubsub_v1.PublisherClient`` by default). A malformed topic
    raises ValueError before any client is made; a publish that still fails after the
    client's retries (bounded by ``timeout`` seconds) raises PublishError naming the
    topic and the cause, so the exit-handler task fails visibly.
    """
    validate_topic(topic)
    if isinstance(final_status, str):
        data = final_status.encode("utf-8")
    elif isinstance(final_status, (bytes, bytearray)):
        data = bytes(final_status)
    else:
        raise TypeError(f"final_status must be str or bytes, got {type(final_status).__name__}")
    attributes = message_attributes(
        data, gcp_region=gcp_region, slack_channel_id=slack_channel_id, on_failure_only=on_failure_only
    )

    owned = publisher is None
    try:
        if owned:
            publisher = _default_publisher(timeout)
        future = publisher.publish(topic, data, **attributes)
        # A little past the retry deadline, so the client's own error (with its cause)
        # normally arrives before this wait gives up.
        message_id = future.result(timeout=timeout + 10.0)
    except Exception as exc:
        raise PublishError(
            f"could not publish the pipeline's final status to {topic}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        if owned and publisher is not None:
            _stop(publisher)
    log.info(
        "Published final status (state=%s) to %s as message %s", attributes.get("state"), topic, message_id
    )
    return message_id


def _stop(publisher: Any) -> None:
    # Closing the channel lets the exit-handler process end promptly; a failure here
    # must not mask the publish result.
    try:
        publisher.stop()
        publisher.transport.close()
    except Exception:
        log.debug("closing the Pub/Sub publisher failed", exc_info=True)
