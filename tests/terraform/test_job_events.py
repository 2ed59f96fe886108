"""Vertex AI's job events: sinks into the status topic, their identities, extra projects."""

from __future__ import annotations

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

FUNCTION_SA = "serviceAccount:${google_service_account.function.email}"
SINK = "google_logging_project_sink"
WRITER = "${google_logging_project_sink.job_events[each.key].writer_identity}"

# The filter as Cloud Logging receives it for project my-ml-project.
EXPECTED_FILTER = (
    'logName="projects/my-ml-project/logs/aiplatform.googleapis.com%2Fpipeline_job_events"'
    ' AND resource.type="aiplatform.googleapis.com/PipelineJob"'
    ' AND jsonPayload.state=("PIPELINE_STATE_SUCCEEDED" OR "PIPELINE_STATE_FAILED" OR "PIPELINE_STATE_CANCELLED")'
)


def _rendered_filter(tf, project: str) -> str:
    template = tf.resource(SINK, "job_events")["filter"]  # python-hcl2 undoes the \" escapes
    return template.replace("${each.key}", project)


def test_sink_filter_is_the_final_states_of_the_job_event_log(tf):
    assert _rendered_filter(tf, "my-ml-project") == EXPECTED_FILTER


def test_sink_filter_leaves_out_every_other_state(tf):
    # PipelineState values (aiplatform v1): only the three final ones reach the topic.
    text = _rendered_filter(tf, "p")
    for state in ("QUEUED", "PENDING", "RUNNING", "CANCELLING", "PAUSED", "UNSPECIFIED"):
        assert f"PIPELINE_STATE_{state}" not in text
    for state in ("SUCCEEDED", "FAILED", "CANCELLED"):
        assert f'"PIPELINE_STATE_{state}"' in text


def test_filter_is_documented_verbatim():
    from tests.terraform.hcl_model import REPO

    documented = EXPECTED_FILTER.replace("my-ml-project", "PROJECT_ID")
    for page in (REPO / "README.md", REPO / "docs" / "no-run-unnoticed.md"):
        assert documented in page.read_text(encoding="utf-8"), f"{page.name} must show the exact sink filter"


def test_a_sink_per_covered_project_writes_to_the_status_topic(tf):
    sink = tf.resource(SINK, "job_events")
    assert sink["for_each"] == "${local.job_event_projects}"
    assert sink["project"] == "${each.key}"
    assert sink["destination"] == "pubsub.googleapis.com/${google_pubsub_topic.status.id}"
    assert sink["unique_writer_identity"] is True
    assert tf.locals["job_event_projects"] == (
        "${var.job_events_enabled ? toset(local.covered_projects) : toset([])}"
    )
    assert tf.locals["covered_projects"] == "${concat([var.project_id], var.extra_projects)}"
    assert tf.variables["job_events_enabled"]["default"] is True
    assert tf.variables["extra_projects"]["default"] == []


def test_job_events_share_the_status_subscription(tf):
    # One push subscription, one backoff and dead-letter policy, one replay path.
    assert set(tf.resources["google_pubsub_topic"]) == {"status", "dead_letter", "sweep", "actions"}
    topics_fed_by_sinks = {b["destination"] for b in tf.resources[SINK].values()}
    assert topics_fed_by_sinks == {"pubsub.googleapis.com/${google_pubsub_topic.status.id}"}


def test_each_writer_identity_may_publish_to_the_status_topic_only(tf):
    grant = tf.resource("google_pubsub_topic_iam_member", "job_event_writers")
    assert grant["for_each"] == "${local.job_event_projects}"
    assert grant["project"] == "${var.project_id}"
    assert grant["topic"] == "${google_pubsub_topic.status.name}"
    assert grant["role"] == "roles/pubsub.publisher"
    assert grant["member"] == WRITER
    writer_grants = [
        (rtype, name)
        for rtype, name, body in tf.all_resources()
        if "role" in body and "writer_identity" in str(body.get("member", ""))
    ]
    assert writer_grants == [("google_pubsub_topic_iam_member", "job_event_writers")]


def test_extra_projects_grant_the_function_vertex_read_only(tf):
    role = tf.resource("google_project_iam_custom_role", "function_vertex_reader_extra")
    assert role["for_each"] == "${local.extra_projects}"
    assert role["project"] == "${each.key}"
    assert role["permissions"] == "${local.vertex_permissions}"  # the same as in project_id
    grant = tf.resource("google_project_iam_member", "function_vertex_reader_extra")
    assert grant["for_each"] == "${local.extra_projects}"
    assert grant["project"] == "${each.key}"
    assert grant["role"] == "${google_project_iam_custom_role.function_vertex_reader_extra[each.key].id}"
    assert grant["member"] == FUNCTION_SA
    assert tf.locals["extra_projects"] == "${toset(var.extra_projects)}"
    # Nothing else is granted in another project: Vertex read, and the task-log reader.
    elsewhere = sorted(
        (rtype, name)
        for rtype, name, body in tf.all_resources()
        if "role" in body and body.get("project") not in (None, "${var.project_id}")
    )
    assert elsewhere == [
        ("google_project_iam_member", "function_log_reader_extra"),
        ("google_project_iam_member", "function_vertex_reader_extra"),
    ]


def test_extra_projects_get_the_one_permission_log_reader(tf):
    role = tf.resource("google_project_iam_custom_role", "function_log_reader_extra")
    assert role["for_each"] == "${local.extra_projects}"
    assert role["project"] == "${each.key}"
    assert role["permissions"] == ["logging.logEntries.list"]
    grant = tf.resource("google_project_iam_member", "function_log_reader_extra")
    assert grant["project"] == "${each.key}"
    assert grant["role"] == "${google_project_iam_custom_role.function_log_reader_extra[each.key].id}"
    assert grant["member"] == FUNCTION_SA


def test_extra_projects_may_not_repeat_the_main_project(tf):
    grant = tf.resource("google_project_iam_member", "function_vertex_reader_extra")
    (lifecycle,) = grant["lifecycle"]
    (precondition,) = lifecycle["precondition"]
    assert precondition["condition"] == "${each.key != var.project_id}"


def test_outputs_show_each_sink_and_its_writer(tf):
    value = tf.outputs["job_event_sinks"]["value"]
    assert "google_logging_project_sink.job_events" in value
    assert "writer_identity" in value and "filter" in value
    assert tf.outputs["covered_projects"]["value"] == "${local.covered_projects}"
