"""Replay's input files: every file read and checked before anything is sent, each refusal naming the file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier import bounded_json
from replay.errors import BadInputError
from replay.inputs import load_file
from tests.support.hostile import SLOW_OK, attribute_maps, examples, hostile_bytes
from tests.support.paths import DATA


def test_a_job_event_log_entry_is_replayed_as_the_sink_publishes_it(tmp_path) -> None:
    source = DATA / "events" / "feature-backfill-failed.logentry.json"
    [message] = load_file(str(source))
    assert message.data == source.read_bytes()
    assert message.attributes == {}  # not through the stub: no attributes, flags refused
    broken = tmp_path / "broken.logentry.json"
    broken.write_text('{"logName": "projects/p/logs/other", "resource": {}}')
    with pytest.raises(BadInputError, match="not a pipeline job event"):
        load_file(str(broken))


# --- hostile files (tests.support.hostile) -------------------------------------------------


saved_files = st.one_of(
    hostile_bytes,
    st.lists(
        st.builds(
            lambda raw, attrs: {"message": {"data": base64.b64encode(raw).decode(), "attributes": attrs}},
            hostile_bytes,
            attribute_maps,
        ),
        max_size=3,
    ).map(lambda items: json.dumps(items).encode()),
)


@settings(max_examples=examples(300, 3000), deadline=None, suppress_health_check=SLOW_OK)
@given(raw=saved_files)
def test_replay_input_files(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(raw)
    try:
        messages = load_file(str(path))
    except BadInputError as exc:
        assert str(exc).startswith(str(path))  # names the file (and the item in it)
        return
    assert messages
    for message in messages:
        assert isinstance(message.data, bytes)


def test_replay_refuses_an_oversized_file_before_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(bounded_json.REPLAY_FILE.max_bytes + 1)  # sparse: no disk, no memory
    with pytest.raises(BadInputError, match="over the 67,108,864-byte limit"):
        load_file(str(path))
