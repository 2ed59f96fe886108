# Acting from Slack (docs/actions.md), off unless enable_actions = true. When on:
#   - the interactivity function (entry point slack_actions, from the same source
#     as the notifier): Slack's interactivity request URL, public because Slack
#     signs its requests instead of authenticating (ingress all, allUsers may
#     invoke); it checks each signature with the signing secret, answers at once
#     and publishes the click to the actions topic, and can do nothing else;
#   - the signing secret's container (the value comes from stdin, as the token's);
#   - the actions topic, pushed to the notifier like the status and sweep topics;
#     the notifier honours clicks only from it (ACTIONS_TOPIC), verifies each
#     signature again, and does them: acknowledgements and mutes in Firestore,
#     and, only with allow_actions, pipelineJobs.cancel / create through a custom
#     role with those permissions alone, acting as retry_service_accounts alone.

locals {
  actions_secret_id = "${var.name_prefix}-slack-signing-secret"
  # The signing secret goes to both functions: the interactivity function checks it, the
  # notifier checks it again (local.function_secrets, main.tf), so publishing to the
  # actions topic is not enough to act.

  # The notifier's actions settings, merged into its environment (main.tf); empty when off.
  actions_function_env = {
    ACTIONS_TOPIC          = var.enable_actions ? google_pubsub_topic.actions[0].id : ""
    ALLOW_ACTIONS          = var.enable_actions ? join(",", var.allow_actions) : ""
    ACTION_USERS           = var.enable_actions ? join(",", var.action_users) : ""
    ACTION_USER_GROUPS     = var.enable_actions ? join(",", var.action_user_groups) : ""
    RETRY_SERVICE_ACCOUNTS = var.enable_actions && contains(var.allow_actions, "retry") ? join(",", var.retry_service_accounts) : ""
    MUTES_COLLECTION       = var.mutes_collection
  }

  # The interactivity function's own settings: what it reads, nothing of the notifier's.
  interactivity_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    ACTIONS_TOPIC        = var.enable_actions ? google_pubsub_topic.actions[0].id : ""
    DEDUP_COLLECTION     = var.dedup_enabled ? var.dedup_collection : ""
    FIRESTORE_DATABASE   = local.firestore_database
    LOG_LEVEL            = var.log_level
    WORKERS              = "1"
    THREADS              = "1"
  }

  # Exactly the Vertex AI permissions the opted-in actions call.
  actions_permissions = concat(
    contains(var.allow_actions, "cancel") ? ["aiplatform.pipelineJobs.cancel"] : [],
    contains(var.allow_actions, "retry") ? ["aiplatform.pipelineJobs.create"] : [],
  )
  retry_accounts = var.enable_actions && contains(var.allow_actions, "retry") ? toset(var.retry_service_accounts) : toset([])
}

resource "google_secret_manager_secret" "slack_signing_secret" {
  count = var.enable_actions ? 1 : 0

  project   = var.project_id
  secret_id = local.actions_secret_id
  labels    = local.labels

  replication {
    auto {}
  }
}

resource "google_service_account" "interactivity" {
  count = var.enable_actions ? 1 : 0

  project      = var.project_id
  account_id   = "${var.name_prefix}-slack"
  display_name = "Vertex pipeline Slack notifier (Slack interactivity)"
}

resource "google_pubsub_topic" "actions" {
  #checkov:skip=CKV_GCP_83:Carries Slack's signed click requests (who clicked which button), no credentials; Google-managed encryption at rest, as the status topic.
  count = var.enable_actions ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-actions"
  labels  = local.labels
}

# Clicks go to the notifier like statuses and sweeps: same URL, same push identity,
# the path naming the actions topic as the CloudEvent's source. A click is worth
# little after Slack's response_url expires (30 minutes): short retention, and no
# dead letters to replay.
resource "google_pubsub_subscription" "actions" {
  count = var.enable_actions ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-actions-push"
  topic   = google_pubsub_topic.actions[0].id
  labels  = local.labels

  ack_deadline_seconds       = min(600, local.timeout_seconds + 30)
  message_retention_duration = "1800s"
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.notifier.service_config[0].uri}/${google_pubsub_topic.actions[0].id}"

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.notifier.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${local.min_retry_backoff_seconds}s"
    maximum_backoff = "${max(local.min_retry_backoff_seconds, local.max_retry_backoff_seconds)}s"
  }

  depends_on = [google_cloud_run_v2_service_iam_member.push_invoker]
}

resource "google_cloudfunctions2_function" "interactivity" {
  count = var.enable_actions ? 1 : 0

  project     = var.project_id
  name        = "${var.name_prefix}-slack-actions"
  location    = var.region
  description = "Slack's interactivity request URL: verifies each click and passes it to the notifier."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = "slack_actions"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }

  # Slack must reach it from the internet, and cannot present a Google identity:
  # every request is checked against the signing secret instead. One request per
  # instance, small and short: it verifies, claims and publishes, nothing more. A
  # whole vCPU, billed only while it answers: a cold start (imports, the Firestore
  # client) must fit in Slack's 3 seconds with the answer.
  service_config {
    available_memory                 = "256M"
    available_cpu                    = "1"
    timeout_seconds                  = 10
    min_instance_count               = var.actions_min_instances
    max_instance_count               = 10
    max_instance_request_concurrency = 1
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.interactivity[0].email
    environment_variables            = { for name, value in local.interactivity_env : name => value if value != "" || name == "DEDUP_COLLECTION" }

    secret_environment_variables {
      key        = "SLACK_SIGNING_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.slack_signing_secret[0].secret_id
      version    = "latest"
    }
  }

  lifecycle {
    precondition {
      condition     = var.dedup_enabled
      error_message = "enable_actions needs dedup_enabled: acknowledgements, mutes and the replay guard live in Firestore."
    }
    precondition {
      condition     = !contains(var.allow_actions, "retry") || length(var.retry_service_accounts) > 0
      error_message = "allow_actions with retry needs retry_service_accounts: the only accounts a retried run may run as."
    }
    precondition {
      condition     = !contains([var.dedup_collection, var.streaks_collection], var.mutes_collection)
      error_message = "mutes_collection must differ from dedup_collection and streaks_collection."
    }
    precondition {
      # A project-level custom role (act_as below) applies within its project only.
      condition     = alltrue([for account in var.retry_service_accounts : endswith(account, "@${var.project_id}.iam.gserviceaccount.com") || endswith(account, "-compute@developer.gserviceaccount.com")])
      error_message = "retry_service_accounts must be accounts of project_id (...@${var.project_id}.iam.gserviceaccount.com, or its default compute account)."
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.interactivity_signing_secret]
}

# --- who may do what -------------------------------------------------------------------

# Anyone may call it: Slack signs instead of authenticating (see above).
resource "google_cloud_run_v2_service_iam_member" "interactivity_public" {
  #checkov:skip=CKV_GCP_102:Slack's interactivity requests cannot carry a Google identity; each is verified against the app's signing secret (five-minute window, replay guard) and the function can only publish the verified click.
  count = var.enable_actions ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.interactivity[0].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_secret_manager_secret_iam_member" "interactivity_signing_secret" {
  count = var.enable_actions ? 1 : 0

  project   = var.project_id
  secret_id = google_secret_manager_secret.slack_signing_secret[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.interactivity[0].email}"
}

resource "google_secret_manager_secret_iam_member" "function_signing_secret" {
  count = var.enable_actions ? 1 : 0

  project   = var.project_id
  secret_id = google_secret_manager_secret.slack_signing_secret[0].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function.email}"
}

# The interactivity function publishes to the actions topic and to nothing else.
resource "google_pubsub_topic_iam_member" "interactivity_publisher" {
  count = var.enable_actions ? 1 : 0

  project = var.project_id
  topic   = google_pubsub_topic.actions[0].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.interactivity[0].email}"
}

# Its replay guard: claims in the de-duplication database only, as the notifier's.
resource "google_project_iam_member" "interactivity_firestore_user" {
  count = var.enable_actions && var.dedup_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.interactivity[0].email}"

  condition {
    title       = "${var.name_prefix}-actions-dedup-database-only"
    description = "Only the notifier's de-duplication database."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

# Cancel and retry: a custom role with exactly the permissions of the opted-in
# actions, for the notifier's identity (the worker). Nothing without allow_actions.
resource "google_project_iam_custom_role" "function_vertex_actions" {
  count = var.enable_actions && length(local.actions_permissions) > 0 ? 1 : 0

  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_vertex_actions"
  title       = "Vertex pipeline Slack notifier: cancel and retry runs"
  description = "Cancel pipeline jobs and create their retries, when someone allowed clicks in Slack. Nothing else."
  permissions = local.actions_permissions
}

resource "google_project_iam_member" "function_vertex_actions" {
  count = var.enable_actions && length(local.actions_permissions) > 0 ? 1 : 0

  project = var.project_id
  role    = google_project_iam_custom_role.function_vertex_actions[0].id
  member  = "serviceAccount:${google_service_account.function.email}"
}

# A retried run runs as the failed run's own account: the worker may act as the
# accounts in retry_service_accounts, each granted on that account alone.
resource "google_project_iam_custom_role" "function_act_as" {
  count = length(local.retry_accounts) > 0 ? 1 : 0

  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_retry_act_as"
  title       = "Vertex pipeline Slack notifier: run retries as a pipeline's account"
  description = "Act as one pipeline service account, to create a retried run under it. Nothing else."
  permissions = ["iam.serviceAccounts.actAs"]
}

resource "google_service_account_iam_member" "function_act_as" {
  for_each = local.retry_accounts

  service_account_id = "projects/${var.project_id}/serviceAccounts/${each.value}"
  role               = google_project_iam_custom_role.function_act_as[0].id
  member             = "serviceAccount:${google_service_account.function.email}"
}

# Acknowledgements and mutes carry expires_at (the later of the mute's end and the
# acknowledgement's); the policy deletes a document nobody has touched since.
resource "google_firestore_field" "mutes_ttl" {
  count = var.enable_actions && var.dedup_enabled ? 1 : 0

  project    = var.project_id
  database   = local.firestore_database
  collection = var.mutes_collection
  field      = "expires_at"

  ttl_config {}
  index_config {}
}

output "slack_interactivity_url" {
  description = "The Slack app's Interactivity Request URL (enable_actions); empty when actions are off."
  value       = var.enable_actions ? google_cloudfunctions2_function.interactivity[0].service_config[0].uri : ""
}
