"""Structural tests of the root module: function, delivery, dead letters, Firestore."""

from __future__ import annotations

import ast
import re

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from sandbox import topology
from tests.terraform.hcl_model import (
    EXAMPLE_DIR,
    REPO,
    TERRAFORM_DIR,
    block,
    blocks,
    load_module,
    parse,
)

FUNCTION_DIR = REPO / "function"


def _function(tf):
    return tf.resource("google_cloudfunctions2_function", "notifier")


def _plain_env_names(tf) -> set[str]:
    env = tf.locals["function_env_all"]
    assert isinstance(env, dict), "local.function_env_all must be a literal map of env vars"
    actions = tf.locals["actions_function_env"]  # merged in with actions on (actions.tf)
    assert isinstance(actions, dict), "local.actions_function_env must be a literal map of env vars"
    return set(env) | set(actions)


# --- the function -------------------------------------------------------------------


def test_entry_point_exists_in_function_main():
    main = FUNCTION_DIR / "main.py"
    if not main.is_file():
        pytest.fail(f"{main} does not exist: Terraform deploys entry point 'notify' from it")
    tree = ast.parse(main.read_text(encoding="utf-8"))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "notify" in functions, "function/main.py must define a top-level notify()"
    decorators = [ast.unparse(d) for d in functions["notify"].decorator_list]
    assert any(d.endswith("cloud_event") for d in decorators), (
        f"notify must be a CloudEvent function (functions-framework converts the raw "
        f"Pub/Sub push body only for those); decorators: {decorators}"
    )


def test_function_build_uses_notify_on_a_current_python(tf):
    build = block(_function(tf), "build_config")
    assert build["entry_point"] == "notify"
    match = re.fullmatch(r"python3(\d+)", build["runtime"])
    assert match and int(match.group(1)) >= 12, build["runtime"]


def test_function_is_internal_bounded_and_has_its_own_account(tf):
    fn = _function(tf)
    service = block(fn, "service_config")
    assert service["ingress_settings"] == "ALLOW_INTERNAL_ONLY"
    assert service["min_instance_count"] == 0
    assert service["max_instance_count"] == "${local.max_instances}"
    assert service["service_account_email"] == "${google_service_account.function.email}"
    assert service["environment_variables"] == "${local.function_env}"
    # Delivery is the explicit push subscription; an Eventarc trigger would
    # bypass its retry and dead-letter policies.
    assert "event_trigger" not in fn


def test_source_object_name_changes_with_the_code(tf):
    obj = tf.resource("google_storage_bucket_object", "function_source")
    assert re.search(r"data\.archive_file\.function_source\.output_(md5|sha|sha256)", obj["name"])
    storage = block(block(block(_function(tf), "build_config"), "source"), "storage_source")
    assert storage["object"] == "${google_storage_bucket_object.function_source.name}"
    archive = tf.data["archive_file"]["function_source"]
    assert "../function" in tf.locals["function_source_dir"]
    assert archive["source_dir"] == "${local.function_source_dir}"
    assert any("__pycache__" in pattern for pattern in archive["excludes"])


def test_source_bucket_is_private(tf):
    bucket = tf.resource("google_storage_bucket", "function_source")
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert block(bucket, "versioning")["enabled"] is True


def _preconditions(tf) -> list[str]:
    lifecycle = block(_function(tf), "lifecycle")
    return [p["condition"] for p in blocks(lifecycle.get("precondition"))]


# --- the topology: one file, read by Terraform and by the local stack ------------------

# topology.json key -> (the local Terraform deploys it through, the variable that may override it)
TOPOLOGY_LOCALS = {
    "max_instances": ("max_instances", "max_instances"),
    "concurrency": ("concurrency", "function_concurrency"),
    "cpu": ("cpu", "function_cpu"),
    "memory": ("memory", "function_memory"),
    "timeout_seconds": ("timeout_seconds", "function_timeout_seconds"),
    "slack_hold_seconds": ("slack_hold_seconds", "slack_hold_seconds"),
    "min_retry_backoff_seconds": ("min_retry_backoff_seconds", "min_retry_backoff_seconds"),
    "max_retry_backoff_seconds": ("max_retry_backoff_seconds", "max_retry_backoff_seconds"),
    "max_delivery_attempts": ("max_delivery_attempts", "max_delivery_attempts"),
}


def test_terraform_reads_the_topology_file_the_local_stack_reads(tf):
    assert topology.TOPOLOGY_FILE == TERRAFORM_DIR / "topology.json"
    assert tf.locals["topology"] == '${jsondecode(file("${path.module}/topology.json"))}'
    deployed = topology.load()  # fails on a missing or unknown key
    assert set(TOPOLOGY_LOCALS) | {"workers"} == set(deployed.__dataclass_fields__)
    for key, (local, variable) in TOPOLOGY_LOCALS.items():
        assert tf.locals[local] == f"${{coalesce(var.{variable}, local.topology.{key})}}", key
        assert tf.variables[variable]["default"] is None, f"{variable}: its default is topology.json's {key}"
    assert tf.locals["workers"] == "${local.topology.workers}"


def test_the_function_is_deployed_with_the_topology(tf):
    service = block(_function(tf), "service_config")
    assert service["max_instance_count"] == "${local.max_instances}"
    assert service["max_instance_request_concurrency"] == "${local.concurrency}"
    assert service["available_cpu"] == "${local.cpu}"
    assert service["available_memory"] == "${local.memory}"
    assert service["timeout_seconds"] == "${local.timeout_seconds}"


def test_terraform_and_the_local_stack_give_the_function_the_same_settings(tf):
    env = tf.locals["function_env_all"]
    assert env["THREADS"] == "${tostring(local.concurrency)}"  # Google: THREADS = concurrency for Python
    assert env["WORKERS"] == "${tostring(local.workers)}"
    assert env["SLACK_HOLD_SECONDS"] == "${tostring(local.slack_hold_seconds)}"
    assert env["MAX_DELIVERY_ATTEMPTS"] == "${tostring(local.max_delivery_attempts)}"
    deployed = topology.load()
    local_env = {**deployed.runtime_env(), **deployed.function_env()}
    # CLOUD_RUN_TIMEOUT_SECONDS comes from the platform (the function's timeout), not from us.
    assert set(local_env) - {"CLOUD_RUN_TIMEOUT_SECONDS"} <= set(env)
    assert local_env["THREADS"] == str(deployed.concurrency)
    assert local_env["WORKERS"] == str(deployed.workers)
    assert local_env["CLOUD_RUN_TIMEOUT_SECONDS"] == str(deployed.timeout_seconds)


def test_the_default_topology_keeps_the_pacing_guarantee(tf):
    deployed = topology.load()
    conditions = _preconditions(tf)
    # One process of one instance sees every post, so its pacer is the channel's only one.
    assert deployed.max_instances == 1 and deployed.workers == 1
    assert "${local.workers == 1}" in conditions
    max_instances = tf.variables["max_instances"]["validation"][0]["condition"]
    assert max_instances == "${var.max_instances == null || var.max_instances == 1}"
    # Cloud Run serves more than one request at a time only with a whole vCPU.
    assert "${local.concurrency == 1 || tonumber(local.cpu) >= 1}" in conditions
    assert deployed.concurrency > 1 and float(deployed.cpu) >= 1
    # The last delivery attempt may wait twice the hold, and must still post in time.
    assert "${2 * local.slack_hold_seconds + 10 <= local.timeout_seconds}" in conditions
    assert 2 * deployed.slack_hold_seconds + 10 <= deployed.timeout_seconds
    # A handed-back message is back before its channel's queue can run dry.
    assert any("<= local.slack_hold_seconds" in c and "max_retry_backoff_seconds" in c for c in conditions)
    assert (
        deployed.min_retry_backoff_seconds
        <= deployed.max_retry_backoff_seconds
        <= deployed.slack_hold_seconds
    )


# --- environment ---------------------------------------------------------------------


def test_routing_and_sweep_settings_reach_the_function(tf):
    env = tf.locals["function_env_all"]
    assert env["ROUTES"] == '${length(var.routes) > 0 ? jsonencode(var.routes) : ""}'
    assert env["SWEEP_REGIONS"] == '${join(",", local.sweep_regions)}'
    assert env["SWEEP_PROJECTS"] == '${join(",", local.covered_projects)}'
    assert env["SWEEP_AFTER_HOURS"] == "${tostring(var.sweep_after_hours)}"
    # project_id first: the function falls back to it for jobs without a project.
    assert tf.locals["covered_projects"] == "${concat([var.project_id], var.extra_projects)}"


def test_env_filter_keeps_dedup_collection_even_when_empty(tf):
    # An empty DEDUP_COLLECTION is the "off" switch; dropping it would let the
    # function fall back to its default and silently turn de-duplication on.
    assert "DEDUP_COLLECTION" in tf.locals["function_env"]
    assert tf.locals["function_env_all"]["DEDUP_COLLECTION"] == (
        '${var.dedup_enabled ? var.dedup_collection : ""}'
    )


def test_threads_follow_de_duplication_and_keep_their_own_collection(tf):
    env = tf.locals["function_env_all"]
    # The streak state lives in the claims' database: no de-duplication (or no Slack), no
    # threads, said explicitly (the function's own default follows DEDUP_COLLECTION).
    assert tf.locals["slack_threads"] == "${var.slack_enabled && var.dedup_enabled && var.slack_threads}"
    assert env["SLACK_THREADS"] == '${local.slack_threads ? "true" : "false"}'
    assert env["NOTIFY_ON_RECOVERY"] == '${var.notify_on_recovery ? "true" : "false"}'
    assert env["STREAK_EXPIRY_DAYS"] == "${tostring(var.streak_expiry_days)}"
    assert env["STREAKS_COLLECTION"] == "${var.streaks_collection}"
    assert tf.variables["slack_threads"]["default"] is True
    assert tf.variables["notify_on_recovery"]["default"] is True
    preconditions = [p["condition"] for p in blocks(block(_function(tf), "lifecycle").get("precondition"))]
    assert "${!local.slack_threads || var.streaks_collection != var.dedup_collection}" in preconditions


def test_secrets_reach_the_function_only_from_secret_manager(tf):
    service = block(_function(tf), "service_config")
    assert "secret_environment_variables" not in service  # only the one dynamic block
    (dynamic,) = blocks(service["dynamic"])
    secret_env = dynamic["secret_environment_variables"]
    assert secret_env["for_each"] == "${local.function_secrets}"
    content = block(secret_env, "content")
    assert content["key"] == "${secret_environment_variables.key}"
    assert content["secret"] == "${secret_environment_variables.value}"
    assert content["version"] == "latest"
    assert tf.locals["function_secrets"] == (
        "${merge(var.slack_enabled ? local.slack_secrets : {}, "
        "{for name, secret in google_secret_manager_secret.destination : name => secret.secret_id}, "
        '{for secret in google_secret_manager_secret.slack_signing_secret : "SLACK_SIGNING_SECRET" => '
        "secret.secret_id})}"
    )
    assert tf.locals["slack_secrets"] == {"SLACK_BOT_TOKEN": "${local.slack_secret_id}"}
    assert "SLACK_BOT_TOKEN" not in _plain_env_names(tf)
    # A version resource would put the token into Terraform state.
    assert "google_secret_manager_secret_version" not in tf.resources


def test_slack_token_secret_exists_only_with_slack(tf):
    secret = tf.resource("google_secret_manager_secret", "slack_token")
    assert "auto" in block(secret, "replication")
    assert secret["count"] == '${var.slack_enabled && var.existing_slack_secret_id == "" ? 1 : 0}'
    assert tf.locals["slack_secret_id"] == (
        '${(!var.slack_enabled ? null : var.existing_slack_secret_id != "" ? var.existing_slack_secret_id : '
        "google_secret_manager_secret.slack_token[0].secret_id)}"
    )
    assert tf.outputs["slack_secret_id"]["value"] == "${local.slack_secret_id}"
    assert tf.variables["slack_enabled"]["default"] is True


# --- delivery -------------------------------------------------------------------------


def test_push_subscription_feeds_the_function_with_retry_and_dead_letter(tf):
    sub = tf.resource("google_pubsub_subscription", "push")
    assert sub["topic"] == "${google_pubsub_topic.status.id}"
    push = block(sub, "push_config")
    assert "google_cloudfunctions2_function.notifier" in push["push_endpoint"]
    oidc = block(push, "oidc_token")
    assert oidc["service_account_email"] == "${google_service_account.push.email}"
    assert "google_cloudfunctions2_function.notifier" in oidc["audience"]

    retry = block(sub, "retry_policy")
    assert "local.min_retry_backoff_seconds" in retry["minimum_backoff"]
    assert "local.max_retry_backoff_seconds" in retry["maximum_backoff"]

    dead = block(sub, "dead_letter_policy")
    assert dead["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert dead["max_delivery_attempts"] == "${local.max_delivery_attempts}"
    assert block(sub, "expiration_policy")["ttl"] == ""


def test_only_the_status_sweep_and_actions_subscriptions_push_to_the_function(tf):
    # Job events arrive on the status topic (its one subscription); the sweep
    # trigger and Slack's clicks have a subscription each (test_sweep.py, test_actions.py).
    pushing = [
        name for name, body in tf.resources["google_pubsub_subscription"].items() if "push_config" in body
    ]
    assert sorted(pushing) == ["actions", "push", "sweep"]
    assert "google_eventarc_trigger" not in tf.resources


def test_dead_letter_subscription_keeps_messages_for_replay(tf):
    sub = tf.resource("google_pubsub_subscription", "dead_letter")
    assert sub["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert "push_config" not in sub, "dead letters are pulled by the replay tool"
    assert block(sub, "expiration_policy")["ttl"] == ""
    assert "var.dead_letter_retention_days" in sub["message_retention_duration"]
    assert tf.variables["dead_letter_retention_days"]["default"] >= 7


def test_ack_deadline_covers_the_function_timeout(tf):
    sub = tf.resource("google_pubsub_subscription", "push")
    assert sub["ack_deadline_seconds"] == "${min(600, local.timeout_seconds + 30)}"
    # The local stack derives the same deadline for its subscriptions.
    assert topology.load().ack_deadline_seconds == min(600, topology.load().timeout_seconds + 30)


# --- Firestore de-duplication ---------------------------------------------------------


def test_ttl_policy_is_on_expires_at_of_the_dedup_collection(tf):
    field = tf.resource("google_firestore_field", "dedup_ttl")
    assert field["field"] == "expires_at"
    assert field["collection"] == "${var.dedup_collection}"
    assert field["database"] == "${local.firestore_database}"
    assert "ttl_config" in field
    assert field["count"] == "${var.dedup_enabled ? 1 : 0}"


def test_ttl_policy_is_on_expires_at_of_the_streaks_collection_with_threads_only(tf):
    field = tf.resource("google_firestore_field", "streaks_ttl")
    assert field["field"] == "expires_at"
    assert field["collection"] == "${var.streaks_collection}"
    assert field["database"] == "${local.firestore_database}"
    assert field["project"] == "${var.project_id}"
    assert "ttl_config" in field
    # The same condition as SLACK_THREADS: streaks are kept only then.
    assert field["count"] == "${local.slack_threads ? 1 : 0}"
    assert tf.locals["function_env_all"]["SLACK_THREADS"].startswith("${local.slack_threads ?")
    # No single-field index on a timestamp nothing queries, as on the claims.
    index_config = block(field, "index_config")
    assert not [key for key in index_config if not key.startswith("__")]  # empty: no indexes
    assert index_config == block(tf.resource("google_firestore_field", "dedup_ttl"), "index_config")


def test_firestore_database_is_native_and_optional(tf):
    db = tf.resource("google_firestore_database", "dedup")
    assert db["type"] == "FIRESTORE_NATIVE"
    assert db["count"] == "${local.create_firestore_database ? 1 : 0}"
    assert tf.locals["create_firestore_database"] == (
        '${var.dedup_enabled && var.existing_firestore_database == ""}'
    )


def test_dedup_lease_is_never_shorter_than_the_function_timeout(tf):
    assert tf.locals["dedup_lease_seconds"] == "${coalesce(var.dedup_lease_seconds, local.timeout_seconds)}"
    assert "${local.dedup_lease_seconds >= local.timeout_seconds}" in _preconditions(tf)


# --- interface: variables, outputs, versions, example -----------------------------------


REQUIRED_VARIABLES = {
    "project_id", "region", "name_prefix", "slack_channel_id", "on_failure_only",
    "slack_mention_on_failure", "pipeline_service_accounts", "function_memory",
    "function_timeout_seconds", "max_instances", "max_delivery_attempts",
    "min_retry_backoff_seconds", "max_retry_backoff_seconds", "existing_slack_secret_id",
    "dedup_enabled", "dedup_collection", "existing_firestore_database", "labels",
}  # fmt: skip


def test_variables_are_typed_and_described(tf):
    assert set(tf.variables) >= REQUIRED_VARIABLES
    for name, var in tf.variables.items():
        assert var.get("type"), f"variable {name} has no type"
        assert len(var.get("description", "")) > 10, f"variable {name} has no description"


REQUIRED_OUTPUTS = {
    "status_topic_id", "function_name", "function_uri", "dead_letter_subscription_id",
    "dead_letter_topic_id", "slack_secret_id", "function_service_account_email",
    "push_service_account_email",
}  # fmt: skip


def test_outputs_tell_the_stub_where_to_publish(tf):
    assert set(tf.outputs) >= REQUIRED_OUTPUTS
    assert tf.outputs["status_topic_id"]["value"] == "${google_pubsub_topic.status.id}"
    for name, out in tf.outputs.items():
        assert out.get("description"), f"output {name} has no description"


def test_versions_are_bounded(tf):
    (terraform,) = tf.terraform
    assert terraform["required_version"] == ">= 1.5, < 2.0"
    providers = terraform["required_providers"][0]
    assert providers["google"]["version"] == ">= 6.0, < 7.0"
    assert re.fullmatch(r">= [\d.]+, < [\d.]+", providers["archive"]["version"])


def test_basic_example_sets_every_required_input_and_only_declared_ones(tf):
    example = load_module(EXAMPLE_DIR)
    call = example.modules["notifier"]
    assert call["source"] == "../.."
    args = {k for k in call if k != "source" and not k.startswith("__")}
    assert args <= set(tf.variables), f"undeclared inputs: {sorted(args - set(tf.variables))}"
    required = {n for n, v in tf.variables.items() if "default" not in v}
    assert required <= args, f"example misses required inputs: {sorted(required - args)}"

    tfvars = parse((EXAMPLE_DIR / "terraform.tfvars.example").read_text(encoding="utf-8"))
    assert set(tfvars) <= set(example.variables)
    assert "slack_bot_token" not in {k.lower() for k in tfvars}


def test_no_slack_token_in_any_terraform_file():
    for path in TERRAFORM_DIR.rglob("*"):
        if path.is_file() and ".terraform" not in path.parts and ".build" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not re.search(r"xox[abpr]-[0-9A-Za-z-]{10,}", text), f"token-like text in {path}"


def test_every_checkov_skip_is_justified():
    skips = []
    for path in TERRAFORM_DIR.rglob("*.tf"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                match = re.search(r"#checkov:skip=(CKV2?_[A-Z]+_\d+):(.+)", line)
                assert match, f"{path.name}: malformed skip: {line.strip()}"
                assert len(match.group(2).strip()) > 40, f"{path.name}: skip needs a reason"
                skips.append(match.group(1))
    assert skips, "expected the documented skips (see docs/terraform.md, Checks)"


# --- Google Chat and SMS ---------------------------------------------------------


def test_destination_secrets_are_containers_granted_to_the_function_only(tf):
    secret = tf.resource("google_secret_manager_secret", "destination")
    assert secret["for_each"] == "${local.destination_secrets}"
    assert "google_secret_manager_secret_version" not in tf.resources  # values are added out of band
    assert tf.locals["destination_secrets"] == (
        "${merge(var.google_chat_enabled ? local.chat_secrets : {}, var.sms_enabled ? local.sms_secrets : {},"
        " local.paging_secrets)}"
    )
    assert tf.locals["paging_secrets"] == (
        "${merge(var.pagerduty_enabled ? local.pagerduty_secrets : {}, var.teams_enabled ? local.teams_secrets : {})}"
    )
    assert set(tf.locals["chat_secrets"]) == {"GOOGLE_CHAT_WEBHOOKS"}
    assert set(tf.locals["sms_secrets"]) == {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}
    assert set(tf.locals["pagerduty_secrets"]) == {"PAGERDUTY_ROUTING_KEYS"}
    assert set(tf.locals["teams_secrets"]) == {"TEAMS_WEBHOOKS"}
    # That these are secret settings, never plain environment variables: test_settings.py.


def test_destination_settings_reach_the_function(tf):
    env = tf.locals["function_env_all"]
    assert env["GOOGLE_CHAT_SPACES"] == '${join(",", var.google_chat_spaces)}'
    assert env["SMS_TO"] == '${join(",", var.sms_to)}'
    assert env["TWILIO_FROM"] == '${var.sms_enabled ? var.twilio_from : ""}'
    assert env["SMS_ON_FAILURE_ONLY"] == '${var.sms_on_failure_only ? "true" : "false"}'
    assert tf.variables["google_chat_enabled"]["default"] is False
    assert tf.variables["sms_enabled"]["default"] is False
    assert tf.variables["sms_on_failure_only"]["default"] is True
    preconditions = [p["condition"] for p in blocks(block(_function(tf), "lifecycle").get("precondition"))]
    assert any("var.google_chat_enabled ||" in c for c in preconditions)
    assert any("var.sms_enabled ||" in c for c in preconditions)
    assert any('!var.sms_enabled || var.twilio_from != ""' in c for c in preconditions)


def test_pagerduty_and_teams_settings_reach_the_function_and_are_off_by_default(tf):
    env = tf.locals["function_env_all"]
    assert env["PAGERDUTY_SERVICES"] == '${join(",", var.pagerduty_services)}'
    assert env["PAGERDUTY_SEVERITY"] == "${var.pagerduty_severity}"
    assert env["TEAMS_CHANNELS"] == '${join(",", var.teams_channels)}'
    assert env["NOTIFY_NOT_BLESSED"] == '${var.notify_not_blessed ? "true" : "false"}'
    assert env["SLACK_WORKSPACE_URL"] == "${var.slack_workspace_url}"
    assert tf.variables["pagerduty_enabled"]["default"] is False
    assert tf.variables["teams_enabled"]["default"] is False
    assert tf.variables["notify_not_blessed"]["default"] is True
    assert tf.variables["pagerduty_severity"]["default"] == "error"
    preconditions = [p["condition"] for p in blocks(block(_function(tf), "lifecycle").get("precondition"))]
    assert any("var.pagerduty_enabled ||" in c and "rule.pagerduty" in c for c in preconditions)
    assert any("var.teams_enabled ||" in c and "rule.teams" in c for c in preconditions)
