"""Least-privilege IAM: who gets which role, and on what."""

from __future__ import annotations

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from tests.terraform.hcl_model import REPO, block

REPO_FUNCTION = REPO / "function"

FUNCTION_SA = "serviceAccount:${google_service_account.function.email}"
PUSH_SA = "serviceAccount:${google_service_account.push.email}"
PUBSUB_AGENT = "${local.pubsub_service_agent}"
PRIMITIVE = {"roles/owner", "roles/editor", "roles/viewer"}


def _grants(tf):
    """(type, name, body) of every resource that grants a role."""
    return [(t, n, b) for t, n, b in tf.all_resources() if "role" in b]


def _by_role(tf, role):
    return [(t, n, b) for t, n, b in _grants(tf) if b["role"] == role]


def test_grants_are_additive_members_only(tf):
    # _binding and _policy resources are authoritative and would remove grants
    # made outside this module.
    types = {t for t, _, _ in _grants(tf)}
    assert types and all(t.endswith("_iam_member") for t in types), sorted(types)


def test_no_primitive_roles(tf):
    for rtype, name, body in _grants(tf):
        assert body["role"] not in PRIMITIVE, f"{rtype}.{name} grants {body['role']}"


INTERACTIVITY_SA = "serviceAccount:${google_service_account.interactivity[0].email}"


def test_project_level_roles_are_exactly_the_function_needs(tf):
    project = tf.resources["google_project_iam_member"]
    roles = {b["role"] for b in project.values()}
    assert roles == {
        "roles/datastore.user",
        "${google_project_iam_custom_role.function_vertex_reader.id}",
        "${google_project_iam_custom_role.function_vertex_reader_extra[each.key].id}",
        "${google_project_iam_custom_role.function_log_reader.id}",
        "${google_project_iam_custom_role.function_log_reader_extra[each.key].id}",
        "${google_project_iam_custom_role.function_vertex_actions[0].id}",
    }
    # The interactivity function's one project grant: its replay guard's database (test_actions.py).
    others = {n: b["member"] for n, b in project.items() if b["member"] != FUNCTION_SA}
    assert others == {"interactivity_firestore_user": INTERACTIVITY_SA}


# The Vertex AI calls the function makes (GetPipelineJob, ListPipelineJobs, ListSchedules),
# and so the permissions it holds; a new call adds its permission here and in iam.tf.
VERTEX_PERMISSIONS = [
    "aiplatform.pipelineJobs.get",
    "aiplatform.pipelineJobs.list",
    "aiplatform.schedules.list",
]


def test_vertex_jobs_are_read_with_exactly_the_permissions_used(tf):
    assert tf.locals["vertex_permissions"] == VERTEX_PERMISSIONS
    for name, project in (
        ("function_vertex_reader", "${var.project_id}"),
        ("function_vertex_reader_extra", "${each.key}"),
    ):
        role = tf.resource("google_project_iam_custom_role", name)
        assert role["permissions"] == "${local.vertex_permissions}"
        assert role["project"] == project
        assert role["role_id"] == '${replace(var.name_prefix, "-", "_")}_vertex_reader'
        grant = tf.resource("google_project_iam_member", name)
        assert (
            grant["role"]
            == f"${{google_project_iam_custom_role.{name}{'[each.key]' if 'extra' in name else ''}.id}}"
        )
        assert grant["project"] == project
        assert grant["member"] == FUNCTION_SA
    # Not the predefined role, which reads every Vertex AI resource of the project.
    assert not [n for _, n, b in _grants(tf) if b["role"].startswith("roles/aiplatform.")]


# Google API client methods the function's code calls -> the permission each needs.
API_CALLS = {
    "get_pipeline_job": "aiplatform.pipelineJobs.get",
    "list_pipeline_jobs": "aiplatform.pipelineJobs.list",
    "list_schedules": "aiplatform.schedules.list",
    "list_entries": "logging.logEntries.list",
    # Acting from Slack, opt-in (actions.tf grants each only when allow_actions names it).
    "cancel_pipeline_job": "aiplatform.pipelineJobs.cancel",
    "create_pipeline_job": "aiplatform.pipelineJobs.create",
}
# Firestore client methods of the same shape: the conditioned datastore.user grant on the
# de-duplication database covers them (test_firestore_access_is_limited_to_the_dedup_database).
FIRESTORE_CALLS = {"get_all"}
ACTION_PERMISSIONS = {"aiplatform.pipelineJobs.cancel", "aiplatform.pipelineJobs.create"}


def test_the_roles_cover_exactly_the_api_calls_the_function_makes(tf):
    # The other side of the custom roles: the API client methods called in the
    # function's code. A new call fails here until its permission is granted
    # (added to vertex_permissions in iam.tf) and mapped above.
    import re

    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_FUNCTION / "notifier").rglob("*.py"))
    calls = set(re.findall(r"\.((?:get|list|search|create|update|delete|cancel|batch)_[a-z_]+)\(", source))
    calls -= FIRESTORE_CALLS
    assert calls == set(API_CALLS), f"API calls without a mapped permission: {sorted(calls - set(API_CALLS))}"
    granted = set(VERTEX_PERMISSIONS) | set(
        tf.resource("google_project_iam_custom_role", "function_log_reader")["permissions"]
    )
    actions = tf.locals["actions_permissions"]
    assert all(f'["{permission}"]' in actions for permission in ACTION_PERMISSIONS)
    assert granted | ACTION_PERMISSIONS == set(API_CALLS.values())


def test_no_log_writer_role(tf):
    # The function logs JSON to stdout, which Cloud Run ships to Cloud Logging by
    # itself; it never writes through the Logging API (see iam.tf).
    assert not _by_role(tf, "roles/logging.logWriter")
    assert "function_log_writer" not in tf.resources["google_project_iam_member"]
    logs = (REPO_FUNCTION / "notifier" / "logs.py").read_text(encoding="utf-8")
    assert '"StructuredLogHandler"' in logs and "structured_log_handler_class()(stream=sys.stdout)" in logs
    assert "CloudLoggingHandler" not in logs


def test_task_logs_are_read_with_one_permission_only(tf):
    role = tf.resource("google_project_iam_custom_role", "function_log_reader")
    # Not roles/logging.viewer (it also reads the logging configuration), never
    # roles/logging.privateLogViewer (Data Access audit logs).
    assert role["permissions"] == ["logging.logEntries.list"]
    assert role["project"] == "${var.project_id}"
    assert not _by_role(tf, "roles/logging.viewer") and not _by_role(tf, "roles/logging.privateLogViewer")
    grant = tf.resource("google_project_iam_member", "function_log_reader")
    assert grant["member"] == FUNCTION_SA


def test_no_project_wide_secret_access(tf):
    for rtype, name, body in _grants(tf):
        if body["role"].startswith("roles/secretmanager."):
            assert rtype == "google_secret_manager_secret_iam_member", f"{rtype}.{name}"


def test_function_reads_only_its_own_secrets(tf):
    grants = {name: body for _, name, body in _by_role(tf, "roles/secretmanager.secretAccessor")}
    assert set(grants) == {
        "function_token_access",
        "function_destination_access",
        "function_signing_secret",
        "interactivity_signing_secret",
    }
    assert all(
        rtype == "google_secret_manager_secret_iam_member"
        for rtype, _, _ in _by_role(tf, "roles/secretmanager.secretAccessor")
    )
    assert grants["function_token_access"]["secret_id"] == "${local.slack_secret_id}"
    assert grants["function_token_access"]["count"] == "${var.slack_enabled ? 1 : 0}"  # no Slack, no grant
    # One grant per destination secret the module creates, on that secret only.
    destination = grants["function_destination_access"]
    assert destination["for_each"] == "${local.destination_secrets}"
    assert destination["secret_id"] == "${google_secret_manager_secret.destination[each.key].secret_id}"
    # Slack's signing secret: to the notifier and the interactivity function, on that secret only.
    for name in ("function_signing_secret", "interactivity_signing_secret"):
        assert (
            grants[name]["secret_id"] == "${google_secret_manager_secret.slack_signing_secret[0].secret_id}"
        )
    assert grants.pop("interactivity_signing_secret")["member"] == INTERACTIVITY_SA
    assert all(body["member"] == FUNCTION_SA for body in grants.values())


def test_firestore_access_is_limited_to_the_dedup_database(tf):
    body = tf.resource("google_project_iam_member", "function_firestore_user")
    assert body["count"] == "${var.dedup_enabled ? 1 : 0}"
    condition = block(body, "condition")
    assert "resource.name ==" in condition["expression"]
    assert "/databases/${local.firestore_database}" in condition["expression"]


def test_push_identity_may_invoke_only_this_function(tf):
    invokers = _by_role(tf, "roles/run.invoker")
    # Besides: everyone may call the interactivity function, Slack signing instead (test_actions.py).
    public = [(t, n) for t, n, b in invokers if b["member"] == "allUsers"]
    assert public == [("google_cloud_run_v2_service_iam_member", "interactivity_public")]
    invokers = [grant for grant in invokers if grant[2]["member"] != "allUsers"]
    assert [(t, b["member"]) for t, _, b in invokers] == [("google_cloud_run_v2_service_iam_member", PUSH_SA)]
    (_, _, body) = invokers[0]
    assert body["name"] == "${google_cloudfunctions2_function.notifier.name}"
    assert body["location"] == "${var.region}"
    assert not _by_role(tf, "roles/cloudfunctions.invoker")


def test_pubsub_agent_can_dead_letter(tf):
    publisher = tf.resource("google_pubsub_topic_iam_member", "dead_letter_publisher")
    assert publisher["topic"] == "${google_pubsub_topic.dead_letter.name}"
    assert publisher["role"] == "roles/pubsub.publisher"
    assert publisher["member"] == PUBSUB_AGENT

    subscriber = tf.resource("google_pubsub_subscription_iam_member", "push_subscriber")
    assert subscriber["subscription"] == "${google_pubsub_subscription.push.name}"
    assert subscriber["role"] == "roles/pubsub.subscriber"
    assert subscriber["member"] == PUBSUB_AGENT

    assert "gcp-sa-pubsub.iam.gserviceaccount.com" in tf.locals["pubsub_service_agent"]
    assert "data.google_project.this.number" in tf.locals["pubsub_service_agent"]


def test_pubsub_agent_mints_tokens_only_for_the_push_account(tf):
    ((rtype, _, body),) = _by_role(tf, "roles/iam.serviceAccountTokenCreator")
    assert rtype == "google_service_account_iam_member"
    assert body["service_account_id"] == "${google_service_account.push.name}"
    assert body["member"] == PUBSUB_AGENT


def test_pipelines_may_only_publish_to_the_status_topic(tf):
    body = tf.resource("google_pubsub_topic_iam_member", "pipeline_publishers")
    assert body["for_each"] == "${toset(var.pipeline_service_accounts)}"
    assert body["topic"] == "${google_pubsub_topic.status.name}"
    assert body["role"] == "roles/pubsub.publisher"
    pipeline_grants = [
        (t, n)
        for t, n, b in _grants(tf)
        if "var.pipeline_service_accounts" in str(b) or "each.value" in b["member"]
    ]
    assert pipeline_grants == [("google_pubsub_topic_iam_member", "pipeline_publishers")]


def test_function_and_push_identities_are_separate_accounts(tf):
    accounts = tf.resources["google_service_account"]
    assert {"function", "push"} <= set(accounts)
    assert accounts["function"]["account_id"] != accounts["push"]["account_id"]
