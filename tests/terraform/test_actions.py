"""Acting from Slack (actions.tf): off by default, least privilege when on."""

from __future__ import annotations

import re
import sys

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from tests.terraform.hcl_model import REPO, block, blocks, regex_arguments

FUNCTION_SA = "serviceAccount:${google_service_account.function.email}"
INTERACTIVITY_SA = "serviceAccount:${google_service_account.interactivity[0].email}"
SIGNING_SECRET = "${google_secret_manager_secret.slack_signing_secret[0].secret_id}"


@pytest.fixture(scope="module")
def function_settings():
    """The function's settings table (notifier.settings), function/ being its own import root."""
    path = str(REPO / "function")
    if path not in sys.path:
        sys.path.insert(0, path)
    from notifier import settings

    return settings


def _interactivity(tf):
    return tf.resource("google_cloudfunctions2_function", "interactivity")


def test_off_by_default_and_every_resource_behind_the_switch(tf):
    assert tf.variables["enable_actions"]["default"] is False
    assert tf.variables["allow_actions"]["default"] == []
    text = tf.texts["actions.tf"]
    for rtype, name, body in tf.all_resources():
        if f'"{rtype}" "{name}"' in text:
            gate = str(body.get("count", "")) + str(body.get("for_each", ""))
            assert "var.enable_actions" in gate or "local.retry_accounts" in gate, f"{rtype}.{name}: {gate}"
    assert "var.enable_actions && contains(var.allow_actions" in tf.locals["retry_accounts"]


def test_the_interactivity_function_is_slack_actions_from_the_same_source(tf):
    fn = _interactivity(tf)
    build = block(fn, "build_config")
    assert build["entry_point"] == "slack_actions"
    assert (
        build["runtime"]
        == block(tf.resource("google_cloudfunctions2_function", "notifier"), "build_config")["runtime"]
    )
    storage = block(block(build, "source"), "storage_source")
    assert storage["object"] == "${google_storage_bucket_object.function_source.name}"
    service = block(fn, "service_config")
    assert service["ingress_settings"] == "ALLOW_ALL"  # Slack calls it from the internet
    assert service["service_account_email"] == "${google_service_account.interactivity[0].email}"
    assert service["max_instance_request_concurrency"] == 1 and service["timeout_seconds"] <= 10


def test_slack_actions_is_an_http_function_in_function_main():
    import ast

    tree = ast.parse((REPO / "function" / "main.py").read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    decorators = [ast.unparse(d) for d in functions["slack_actions"].decorator_list]
    assert decorators == ["functions_framework.http"]


def test_the_interactivity_function_gets_only_what_it_reads(tf, function_settings):
    settings = function_settings
    env = tf.locals["interactivity_env"]
    assert set(env) <= settings.ENV_VARS
    # No token, no Vertex AI, no destination: it verifies and publishes, nothing more.
    assert not {"SLACK_BOT_TOKEN", "VERTEX_API_ENDPOINT", "TWILIO_ACCOUNT_SID", "ALLOWED_PROJECTS"} & set(env)
    assert env["ACTIONS_TOPIC"] == '${var.enable_actions ? google_pubsub_topic.actions[0].id : ""}'
    service = block(_interactivity(tf), "service_config")
    [secret] = blocks(service["secret_environment_variables"])
    assert (secret["key"], secret["secret"], secret["version"]) == (
        "SLACK_SIGNING_SECRET",
        SIGNING_SECRET,
        "latest",
    )
    assert "dynamic" not in service


def test_the_notifier_gets_the_actions_settings_and_the_signing_secret(tf, function_settings):
    settings = function_settings
    env = tf.locals["actions_function_env"]
    assert set(env) <= settings.ENV_VARS
    assert env["ACTIONS_TOPIC"] == '${var.enable_actions ? google_pubsub_topic.actions[0].id : ""}'
    assert "merge(local.function_env_all, local.actions_function_env)" in tf.texts["main.tf"]
    # The signing secret reaches the notifier through its one secrets block (main.tf).
    assert (
        '{for secret in google_secret_manager_secret.slack_signing_secret : "SLACK_SIGNING_SECRET" => '
        "secret.secret_id}" in tf.locals["function_secrets"]
    )


def test_the_signing_secret_is_a_container_only(tf):
    secret = tf.resource("google_secret_manager_secret", "slack_signing_secret")
    assert "auto" in block(secret, "replication")
    assert "google_secret_manager_secret_version" not in tf.resources
    assert tf.locals["actions_secret_id"] == "${var.name_prefix}-slack-signing-secret"


def test_anyone_may_call_the_interactivity_function_and_it_may_do_little(tf):
    public = tf.resource("google_cloud_run_v2_service_iam_member", "interactivity_public")
    assert (public["role"], public["member"]) == ("roles/run.invoker", "allUsers")
    assert public["name"] == "${google_cloudfunctions2_function.interactivity[0].name}"
    grants = {
        (rtype, name): body
        for rtype, name, body in tf.all_resources()
        if "role" in body and body.get("member") == INTERACTIVITY_SA
    }
    assert set(grants) == {
        ("google_pubsub_topic_iam_member", "interactivity_publisher"),
        ("google_secret_manager_secret_iam_member", "interactivity_signing_secret"),
        ("google_project_iam_member", "interactivity_firestore_user"),
    }
    publisher = grants[("google_pubsub_topic_iam_member", "interactivity_publisher")]
    assert (publisher["topic"], publisher["role"]) == (
        "${google_pubsub_topic.actions[0].name}",
        "roles/pubsub.publisher",
    )
    firestore = grants[("google_project_iam_member", "interactivity_firestore_user")]
    assert firestore["role"] == "roles/datastore.user"
    assert "/databases/${local.firestore_database}" in block(firestore, "condition")["expression"]


def test_clicks_are_pushed_to_the_notifier_from_their_own_topic(tf):
    sub = tf.resource("google_pubsub_subscription", "actions")
    assert sub["topic"] == "${google_pubsub_topic.actions[0].id}"
    push = block(sub, "push_config")
    assert push["push_endpoint"].endswith("/${google_pubsub_topic.actions[0].id}")
    assert "google_cloudfunctions2_function.notifier.service_config[0].uri" in push["push_endpoint"]
    assert block(push, "oidc_token")["service_account_email"] == "${google_service_account.push.email}"
    assert "dead_letter_policy" not in sub


def test_cancel_and_retry_hold_exactly_their_permissions(tf):
    permissions = tf.locals["actions_permissions"]
    assert re.findall(r'\["([a-z.A-Z]+)"\]', permissions) == [
        "aiplatform.pipelineJobs.cancel",
        "aiplatform.pipelineJobs.create",
    ]
    assert (
        'contains(var.allow_actions, "cancel")' in permissions
        and 'contains(var.allow_actions, "retry")' in permissions
    )
    role = tf.resource("google_project_iam_custom_role", "function_vertex_actions")
    assert role["permissions"] == "${local.actions_permissions}"
    grant = tf.resource("google_project_iam_member", "function_vertex_actions")
    assert (
        grant["member"] == FUNCTION_SA
        and grant["role"] == "${google_project_iam_custom_role.function_vertex_actions[0].id}"
    )
    act_as = tf.resource("google_project_iam_custom_role", "function_act_as")
    assert act_as["permissions"] == ["iam.serviceAccounts.actAs"]
    # Granted on each retry account alone, never project-wide.
    on_accounts = tf.resource("google_service_account_iam_member", "function_act_as")
    assert on_accounts["for_each"] == "${local.retry_accounts}"
    assert on_accounts["service_account_id"] == "projects/${var.project_id}/serviceAccounts/${each.value}"
    assert on_accounts["member"] == FUNCTION_SA
    assert not [
        n
        for _, n, b in tf.all_resources()
        if b.get("role") in ("roles/iam.serviceAccountUser", "roles/aiplatform.user")
    ]


def test_acknowledgements_and_mutes_expire(tf):
    field = tf.resource("google_firestore_field", "mutes_ttl")
    assert (field["collection"], field["field"]) == ("${var.mutes_collection}", "expires_at")
    conditions = [p["condition"] for p in blocks(block(_interactivity(tf), "lifecycle")["precondition"])]
    assert "${var.dedup_enabled}" in conditions
    assert any("var.mutes_collection" in c for c in conditions)


@pytest.mark.parametrize(("variable", "checker", "samples"), [
    ("action_users", "users", ["U0123ABCD", "retry:U0123ABCD", "ack:W0ABC", "u0123", "reboot:U0123ABCD", "<@U0123ABCD>", "S0123ABCD"]),
    ("action_user_groups", "groups", ["S0ONCALL1", "mute:S0ONCALL1", "U0123ABCD", "S0 ONCALL"]),
    ("retry_service_accounts", "accounts", [
        "pipelines@acme-ml-prod.iam.gserviceaccount.com", "271009669852-compute@developer.gserviceaccount.com",
        "pipelines@acme-ml-prod.iam.gserviceaccount.com.evil", "pipelines@gmail.com", "Pipelines@acme-ml-prod.iam.gserviceaccount.com",
    ]),
])  # fmt: skip
def test_what_terraform_accepts_the_function_accepts(tf, function_settings, variable, checker, samples):
    settings = function_settings
    check = {
        "users": settings.BY_NAME["ACTION_USERS"].kind.parse,
        "groups": settings.BY_NAME["ACTION_USER_GROUPS"].kind.parse,
        "accounts": settings.BY_NAME["RETRY_SERVICE_ACCOUNTS"].kind.parse,
    }[checker]
    [pattern] = regex_arguments(tf.variables[variable]["validation"][0]["condition"])
    for sample in samples:
        terraform = re.search(pattern, sample) is not None
        try:
            check(sample, variable)
            function = True
        except ValueError:
            function = False
        assert terraform == function, f"{variable}: {sample!r} terraform={terraform} function={function}"


def test_allow_actions_takes_cancel_and_retry_only(tf):
    condition = tf.variables["allow_actions"]["validation"][0]["condition"]
    assert 'contains(["cancel", "retry"], action)' in condition
