"""The notifier's own health: alert policies on dead letters and the function's 5xx."""

from __future__ import annotations

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from tests.terraform.hcl_model import block

POLICY = "google_monitoring_alert_policy"


def _condition(tf, name):
    policy = tf.resource(POLICY, name)
    condition = block(policy, "conditions")
    return block(condition, "condition_threshold")


def test_there_are_exactly_the_two_policies_and_none_without_channels(tf):
    assert set(tf.resources[POLICY]) == {"dead_letters", "function_5xx"}
    assert tf.locals["alerts_enabled"] == "${length(var.alert_notification_channels) > 0}"
    assert tf.variables["alert_notification_channels"]["default"] == []
    for name, policy in tf.resources[POLICY].items():
        assert policy["count"] == "${local.alerts_enabled ? 1 : 0}", name
        assert policy["notification_channels"] == "${var.alert_notification_channels}", name


def test_dead_letter_policy_watches_undelivered_messages_on_the_dead_letter_subscription(tf):
    condition = _condition(tf, "dead_letters")
    filters = [part.strip() for part in condition["filter"].split(" AND ")]
    assert sorted(filters) == sorted(
        [
            'resource.type = "pubsub_subscription"',
            'resource.labels.subscription_id = "${google_pubsub_subscription.dead_letter.name}"',
            'metric.type = "pubsub.googleapis.com/subscription/num_undelivered_messages"',
        ]
    )
    assert condition["comparison"] == "COMPARISON_GT"
    assert condition["threshold_value"] == 0
    assert condition["duration"] == "300s"


def test_5xx_policy_counts_the_functions_5xx_responses(tf):
    condition = _condition(tf, "function_5xx")
    filters = [part.strip() for part in condition["filter"].split(" AND ")]
    assert sorted(filters) == sorted(
        [
            'resource.type = "cloud_run_revision"',
            'resource.labels.service_name = "${google_cloudfunctions2_function.notifier.name}"',
            'metric.type = "run.googleapis.com/request_count"',
            'metric.labels.response_code_class = "5xx"',
        ]
    )
    assert condition["comparison"] == "COMPARISON_GT"
    assert condition["threshold_value"] == "${var.alert_5xx_threshold}"
    aggregation = block(condition, "aggregations")
    assert aggregation["alignment_period"] == "600s"
    assert aggregation["per_series_aligner"] == "ALIGN_DELTA"
    assert aggregation["cross_series_reducer"] == "REDUCE_SUM"


@pytest.mark.parametrize("name", ["dead_letters", "function_5xx"])
def test_each_policy_says_what_fired_and_what_to_do(tf, name):
    doc = block(tf.resource(POLICY, name), "documentation")
    assert doc["mime_type"] == "text/markdown"
    assert "What fired" in doc["content"] and "What to do" in doc["content"]
    assert "${local.redrive_command}" in doc["content"]
    assert tf.locals["redrive_command"] == (
        "replay redrive --subscription ${google_pubsub_subscription.dead_letter.id}"
        " --topic ${google_pubsub_topic.status.id}"
    )


def test_alert_policy_ids_output(tf):
    value = tf.outputs["alert_policy_ids"]["value"]
    assert "google_monitoring_alert_policy.dead_letters" in value
    assert "google_monitoring_alert_policy.function_5xx" in value
