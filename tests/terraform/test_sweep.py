"""The sweep for hung runs: Cloud Scheduler -> sweep topic -> push to the function."""

from __future__ import annotations

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from tests.terraform.hcl_model import block


def test_scheduler_publishes_the_sweep_trigger_to_the_sweep_topic(tf):
    job = tf.resource("google_cloud_scheduler_job", "sweep")
    assert job["count"] == "${var.sweep_enabled ? 1 : 0}"
    assert job["schedule"] == "${var.sweep_schedule}"
    assert job["time_zone"] == "${var.sweep_time_zone}"
    target = block(job, "pubsub_target")
    assert target["topic_name"] == "${google_pubsub_topic.sweep[0].id}"
    assert target["attributes"] == {"action": "sweep"}
    assert target["data"] == '${base64encode("{}")}'


def test_sweep_defaults(tf):
    assert tf.variables["sweep_enabled"]["default"] is True
    assert tf.variables["sweep_schedule"]["default"] == "*/30 * * * *"
    assert tf.variables["sweep_regions"]["default"] == []
    assert tf.variables["sweep_after_hours"]["default"] == 12
    assert tf.variables["sweep_min_interval_minutes"]["default"] == 10
    assert tf.variables["pipeline_regions"]["default"] == []
    # The sweep covers the pipeline regions unless told fewer (test_scope.py checks "fewer").
    assert tf.locals["sweep_regions"] == (
        "${length(var.sweep_regions) > 0 ? var.sweep_regions : local.pipeline_regions}"
    )
    assert tf.locals["pipeline_regions"] == (
        "${length(var.pipeline_regions) > 0 ? var.pipeline_regions : [var.region]}"
    )


def test_sweep_subscription_pushes_to_the_function_like_the_status_one(tf):
    sweep = tf.resource("google_pubsub_subscription", "sweep")
    status = tf.resource("google_pubsub_subscription", "push")
    assert sweep["count"] == "${var.sweep_enabled ? 1 : 0}"
    assert sweep["topic"] == "${google_pubsub_topic.sweep[0].id}"
    push, status_push = block(sweep, "push_config"), block(status, "push_config")
    uri = "${google_cloudfunctions2_function.notifier.service_config[0].uri}"
    assert push["push_endpoint"] == f"{uri}/${{google_pubsub_topic.sweep[0].id}}"
    assert block(push, "oidc_token") == block(status_push, "oidc_token")
    assert block(push, "oidc_token")["service_account_email"] == "${google_service_account.push.email}"
    assert sweep["ack_deadline_seconds"] == status["ack_deadline_seconds"]
    assert "google_cloud_run_v2_service_iam_member.push_invoker" in str(sweep["depends_on"])


def test_a_stale_sweep_expires_instead_of_being_kept_or_dead_lettered(tf):
    sweep = tf.resource("google_pubsub_subscription", "sweep")
    # Pub/Sub's minimum retention: a trigger older than 10 minutes is dropped,
    # well before the next one (every 30 minutes by default) is due.
    assert sweep["message_retention_duration"] == "600s"
    assert sweep["retain_acked_messages"] is False
    assert "dead_letter_policy" not in sweep
    # The same backoff as the status subscription.
    status = tf.resource("google_pubsub_subscription", "push")
    assert block(sweep, "retry_policy") == block(status, "retry_policy")
    # The subscription itself never expires, even with the scheduler paused.
    assert block(sweep, "expiration_policy")["ttl"] == ""


def test_sweep_topic_is_only_the_trigger(tf):
    topic = tf.resource("google_pubsub_topic", "sweep")
    assert topic["count"] == "${var.sweep_enabled ? 1 : 0}"
    # No one but Cloud Scheduler's service agent (which needs no grant) publishes to it.
    grants = [
        name
        for name, body in tf.resources.get("google_pubsub_topic_iam_member", {}).items()
        if "sweep" in body["topic"]
    ]
    assert grants == []


def test_sweep_outputs(tf):
    assert "google_pubsub_topic.sweep[0].id" in tf.outputs["sweep_topic_id"]["value"]
    assert "google_cloud_scheduler_job.sweep[0].id" in tf.outputs["sweep_scheduler_job_id"]["value"]


def test_scheduler_publishes_the_digest_request_to_the_sweep_topic(tf):
    job = tf.resource("google_cloud_scheduler_job", "digest")
    assert job["count"] == "${var.sweep_enabled && var.digest_enabled && local.run_history ? 1 : 0}"
    assert job["schedule"] == "${var.digest_schedule}"
    assert job["time_zone"] == "${var.digest_time_zone}"
    target = block(job, "pubsub_target")
    assert target["topic_name"] == "${google_pubsub_topic.sweep[0].id}"
    assert target["attributes"] == {"action": "digest"}
    assert target["data"] == '${base64encode("{}")}'


def test_digest_defaults(tf):
    assert tf.variables["digest_enabled"]["default"] is True
    assert tf.variables["digest_schedule"]["default"] == "0 9 * * 1"
    assert tf.variables["digest_time_zone"]["default"] == "Etc/UTC"
