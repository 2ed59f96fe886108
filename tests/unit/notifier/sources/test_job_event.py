"""Vertex AI's job events: the LogEntry parser and the exit-handler rule (the stub in a spec:
tests/unit/notifier/enrich/test_pipeline_spec.py).

The LogEntries in tests/data/events are built on the documented fields (log name,
monitored resource type and labels, ``jsonPayload.state``); the job files carry a real
KFP 2.17 compiled spec with the stub as its exit handler (see tests/data/events/README.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.enrich.vertex import VertexEnricher
from notifier.errors import BadMessageError
from notifier.model import EXIT_HANDLER, JOB_EVENT
from notifier.names import Region, Scope, parse_job_name
from notifier.sources.job_event import JobEvents, is_log_entry, parse_job_event
from sandbox.vertex_standin import VertexStandin
from tests.support.hostile import examples, json_values
from tests.support.paths import DATA

EVENTS = DATA / "events"
NUMBER = "271009669852"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_a_failed_event_names_the_run_from_its_labels_and_log_name() -> None:
    status = parse_job_event(load("feature-backfill-failed.logentry.json"))
    assert status.state == "FAILED"
    assert status.source == JOB_EVENT
    # The log name carries the project id; the stub would carry the number.
    assert status.pipeline_job_resource_name == (
        "projects/acme-ml-prod/locations/us-central1/pipelineJobs/feature-backfill-20261127020000"
    )


def test_a_resource_name_in_the_payload_wins() -> None:
    entry = load("feature-backfill-failed.logentry.json")
    name = f"projects/{NUMBER}/locations/us-central1/pipelineJobs/feature-backfill-20261127020000"
    entry["jsonPayload"]["pipelineJobName"] = name
    assert parse_job_event(entry).pipeline_job_resource_name == name


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        (
            lambda e: e.update(logName="projects/p/logs/cloudaudit.googleapis.com%2Factivity"),
            "not the aiplatform",
        ),
        (lambda e: e["resource"].update(type="gce_instance"), "resource type is 'gce_instance'"),
        (lambda e: e.pop("jsonPayload"), "no jsonPayload"),
        (lambda e: e["jsonPayload"].pop("state"), "no jsonPayload.state"),
        (lambda e: e["jsonPayload"].update(state=["FAILED"]), "no jsonPayload.state"),
        (lambda e: e["resource"]["labels"].pop("pipeline_job_id"), "lack the job id"),
        (lambda e: e["resource"].update(labels={}), "lack the job id and the location"),
        (lambda e: e["resource"]["labels"].update(pipeline_job_id="a/b"), "pipelineJobs/a/b' is malformed"),
        (lambda e: e["resource"]["labels"].update(location="127.0.0.1:9#"), "region '127.0.0.1:9#' is not"),
        (lambda e: e["resource"]["labels"].update(location="Us-Central1"), "region 'Us-Central1' is not"),
    ],
)
def test_malformed_entries_name_the_cause(change, cause: str) -> None:
    entry = load("feature-backfill-failed.logentry.json")
    change(entry)
    with pytest.raises(BadMessageError, match=cause):
        parse_job_event(entry)


def test_states_as_numbers_and_not_final_states() -> None:
    entry = load("feature-backfill-failed.logentry.json")
    entry["jsonPayload"]["state"] = 7
    assert parse_job_event(entry).state == "CANCELLED"
    entry["jsonPayload"]["state"] = "PIPELINE_STATE_RUNNING"
    assert parse_job_event(entry).state == "RUNNING"


def test_only_log_entries_are_recognised_as_such() -> None:
    assert is_log_entry(load("feature-backfill-failed.logentry.json"))
    assert not is_log_entry(json.loads((DATA / "failed-with-tasks.status.json").read_text()))
    assert not is_log_entry(["logName", "resource"])


log_entry_like = st.fixed_dictionaries(
    {},
    optional={
        "logName": st.sampled_from(["projects/p/logs/aiplatform.googleapis.com%2Fpipeline_job_events", "x"])
        | json_values,
        "resource": st.fixed_dictionaries(
            {},
            optional={
                "type": st.just("aiplatform.googleapis.com/PipelineJob") | json_values,
                "labels": st.dictionaries(
                    st.sampled_from(["location", "pipeline_job_id", "job_id", "resource_container"]),
                    st.text(max_size=30) | json_values,
                )
                | json_values,
            },
        )
        | json_values,
        "jsonPayload": st.dictionaries(st.sampled_from(["state", "error", "name"]), json_values | st.text())
        | json_values,
    },
)


@settings(max_examples=examples(300, 3000), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry=log_entry_like)
def test_any_log_entry_shape_parses_or_is_refused_with_a_reason(entry: dict) -> None:
    try:
        status = parse_job_event(entry)
    except BadMessageError as exc:
        assert str(exc)
        return
    assert status.pipeline_job_resource_name.count("/") == 5
    assert status.has_valid_resource_name and status.region  # enriched in its own region, always
    assert status.state


# --- the exit-handler rule, through the real Vertex client ---------------------------------


SCOPE = Scope(frozenset({"acme-ml-prod", NUMBER}), frozenset({"us-central1"}))


@pytest.fixture(scope="module")
def vertex() -> VertexStandin:
    with VertexStandin() as standin:
        standin.load_jobs(EVENTS)
        standin.project_numbers["acme-ml-prod"] = NUMBER
        yield standin


def job_events(vertex: VertexStandin) -> JobEvents:
    return JobEvents(VertexEnricher(lambda region: vertex.url, 2.0).enrich, SCOPE)


def entry_for(job_id: str) -> dict:
    entry = load("feature-backfill-failed.logentry.json")
    entry["resource"]["labels"]["pipeline_job_id"] = job_id
    return entry


def test_covered_when_the_stub_succeeded(vertex: VertexStandin) -> None:
    assert job_events(vertex).notices(entry_for("churn-scoring-20261127070000")) == []


def test_reported_with_the_stubs_settings_when_the_stub_failed(vertex: VertexStandin) -> None:
    [notice] = job_events(vertex).notices(entry_for("churn-scoring-20261128070000"))
    assert dict(notice.enrichment.details.stub_settings) == {
        "slack_channel_id": "C0CHURN01",
        "on_failure_only": "false",
        "gcp_region": "us-central1",
    }
    # Keyed as the stub would key it: Vertex's own name, with the project number.
    assert notice.status.pipeline_job_resource_name.startswith(f"projects/{NUMBER}/")
    assert notice.enrichment is not None and notice.enrichment.details is not None


def test_reported_without_settings_when_there_is_no_stub(vertex: VertexStandin) -> None:
    [notice] = job_events(vertex).notices(load("feature-backfill-failed.logentry.json"))
    assert notice.enrichment.details.stub_settings == ()
    assert notice.enrichment.details.labels == (("env", "prod"), ("team", "data-eng"))


def test_reported_when_vertex_cannot_say(vertex: VertexStandin) -> None:
    vertex.fail_next(403)  # permanent: not retried, so one answer is all it takes (none left over)
    [notice] = job_events(vertex).notices(entry_for("churn-scoring-20261127070000"))
    assert "403" in notice.enrichment.note


def test_not_final_states_are_not_reported(vertex: VertexStandin) -> None:
    entry = entry_for("churn-scoring-20261127070000")
    entry["jsonPayload"]["state"] = "PIPELINE_STATE_RUNNING"
    before = len(vertex.requests)
    assert job_events(vertex).notices(entry) == []
    assert len(vertex.requests) == before  # decided without asking Vertex


def test_event_files_are_valid_json(tmp_path: Path) -> None:
    for path in EVENTS.glob("*.json"):
        json.loads(path.read_text())


def test_out_of_scope_events_are_refused_before_vertex_is_asked(vertex: VertexStandin) -> None:
    before = len(vertex.requests)
    entry = entry_for("churn-scoring-20261127070000")
    entry["resource"]["labels"]["location"] = "asia-east1"
    with pytest.raises(BadMessageError, match="ALLOWED_REGIONS"):
        job_events(vertex).notices(entry)
    entry = entry_for("churn-scoring-20261127070000")
    entry["logName"] = entry["logName"].replace("acme-ml-prod", "someone-else")
    with pytest.raises(BadMessageError, match="ALLOWED_PROJECTS"):
        job_events(vertex).notices(entry)
    assert len(vertex.requests) == before


def test_every_lookup_reads_the_stub_but_a_listed_job_does_not(vertex: VertexStandin) -> None:
    # A stub's claim is checked against its task (verify), so every lookup reads the spec;
    # the sweep's list view needs no stub and skips that cost.
    enricher = VertexEnricher(lambda region: vertex.url, 2.0)
    event = parse_job_event(entry_for("churn-scoring-20261127070000"))
    name = parse_job_name(event.pipeline_job_resource_name)
    from_event = enricher.enrich(event, name).details
    from_stub = enricher.enrich(replace(event, source=EXIT_HANDLER), name).details
    assert from_event is not None and from_event.stub_task_state == "SUCCEEDED"
    assert from_event.reported_task_state == "FAILED"
    assert from_stub == from_event
    [listed] = [
        j
        for j in enricher.list_jobs("acme-ml-prod", Region("us-central1"), "")
        if j.name.endswith("20261127070000")
    ]
    assert (listed.stub_task_state, listed.stub_settings) == ("", ())
