"""Read the files given to ``replay`` and validate all of them before anything is sent.

A file is either a raw final status (the ``FinalStatusStr`` JSON a pipeline hands its exit
handler) or saved Pub/Sub messages as ``gcloud pubsub subscriptions pull --format=json``
prints them: a list of ``{"ackId": ..., "message": {"data": <base64>, "attributes": {...}}}``.
A single ``{"message": {...}}`` object (a push body) is accepted as well, and so is a
Cloud Logging entry of Vertex AI's pipeline job events (as the log sink publishes it).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notifier import bounded_json
from notifier.errors import BadMessageError
from notifier.sources.final_status import parse_status
from notifier.sources.job_event import is_log_entry, parse_job_event
from replay.errors import BadInputError


@dataclass(frozen=True)
class Message:
    """One message to replay.

    ``attributes`` is None for a raw status: the stub then sets them as a pipeline would.
    For a saved message they are the saved ones, replayed unchanged.
    """

    source: str
    data: bytes
    attributes: dict[str, str] | None = None
    message_id: str = ""
    publish_time: str = ""

    @property
    def is_raw_status(self) -> bool:
        """True when the file held a bare final status rather than a Pub/Sub message."""
        return self.attributes is None


def load_files(paths: Iterable[str]) -> list[Message]:
    """Every message of every file, in order; the first bad file raises BadInputError."""
    messages: list[Message] = []
    for path in paths:
        messages.extend(load_file(path))
    return messages


def load_file(path: str) -> list[Message]:
    """The messages one file holds, or BadInputError naming the file and the problem."""
    raw = _read(path)
    try:
        document = bounded_json.loads(raw, bounded_json.REPLAY_FILE)
    except bounded_json.JsonInputError as exc:
        raise BadInputError(f"{path}: {exc}") from None

    if isinstance(document, list):
        if not document:
            raise BadInputError(f"{path}: an empty list, no messages to replay")
        return [_saved_message(item, f"{path}[{i}]") for i, item in enumerate(document)]
    if isinstance(document, Mapping) and "message" in document:
        return [_saved_message(document, path)]
    if is_log_entry(document):
        try:
            parse_job_event(document)
        except BadMessageError as exc:
            raise BadInputError(f"{path}: not a pipeline job event ({exc})") from None
        # As the log sink publishes it: the entry's bytes, no attributes.
        return [Message(source=path, data=raw, attributes={})]
    if isinstance(document, Mapping):
        try:
            parse_status(raw)
        except BadMessageError as exc:
            raise BadInputError(f"{path}: not a pipeline final status ({exc})") from None
        # The file's bytes as they are: a replay must be byte-identical to what was saved.
        return [Message(source=path, data=raw)]
    kind = type(document).__name__
    raise BadInputError(
        f"{path}: a JSON {kind}, expected a final status object or a list of Pub/Sub messages"
    )


def _read(path: str) -> bytes:
    file = Path(path)
    try:
        # Checked before reading: the parser refuses it anyway, without holding it in memory first.
        size = file.stat().st_size
        if size > bounded_json.REPLAY_FILE.max_bytes:
            raise BadInputError(
                f"{path}: is {size:,} bytes, over the {bounded_json.REPLAY_FILE.max_bytes:,}-byte limit "
                "(split it: gcloud pubsub subscriptions pull --limit)"
            )
        return file.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInputError(f"{path}: is a directory, expected a JSON file") from None
    except PermissionError:
        raise BadInputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise BadInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _saved_message(item: Any, source: str) -> Message:
    if not isinstance(item, Mapping) or not isinstance(item.get("message"), Mapping):
        raise BadInputError(
            f"{source}: expected an object with a 'message' (as gcloud pubsub subscriptions pull "
            "--format=json prints it)"
        )
    message = item["message"]
    data = message.get("data")
    if not isinstance(data, str) or not data:
        raise BadInputError(f"{source}: message.data is missing or not base64 text")
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadInputError(f"{source}: message.data is not valid base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise BadInputError(f"{source}: message.attributes must be an object of strings")
    return Message(
        source=source,
        data=decoded,
        attributes=dict(attributes),
        message_id=_short_text(message.get("messageId") or message.get("message_id")),
        publish_time=_short_text(message.get("publishTime") or message.get("publish_time")),
    )


def _short_text(value: Any) -> str:
    return str(value)[:100] if isinstance(value, (str, int)) else ""
