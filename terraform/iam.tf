# Two identities, so neither holds the other's rights: the function's runtime
# account, and the account whose OIDC token Pub/Sub presents when pushing.
resource "google_service_account" "function" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-fn"
  display_name = "Vertex pipeline Slack notifier (function runtime)"
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "Vertex pipeline Slack notifier (Pub/Sub push identity)"
}

# --- Function runtime account ----------------------------------------------------

# Reading pipeline jobs: a custom role with exactly the Vertex AI permissions the
# function's calls need, rather than roles/aiplatform.viewer, which also reads
# every other Vertex AI resource of the project (datasets, models, endpoints,
# feature stores, notebooks, ...):
#   - aiplatform.pipelineJobs.get   GetPipelineJob (enrichment, and checking a claim)
#   - aiplatform.pipelineJobs.list  ListPipelineJobs (the sweep, and a schedule's runs)
#   - aiplatform.schedules.list     ListSchedules (the sweep's check of Vertex AI Schedules)
# A feature that makes another call adds its permission to vertex_permissions;
# tests/terraform pins the list. Project level because jobs are read by name from
# any region of the project and Vertex AI offers no per-job IAM. One role per
# project, as for the log reader below (extra projects: projects.tf).
locals {
  vertex_permissions = [
    "aiplatform.pipelineJobs.get",
    "aiplatform.pipelineJobs.list",
    "aiplatform.schedules.list",
  ]
  vertex_reader_title       = "Vertex pipeline Slack notifier: read pipeline jobs and schedules"
  vertex_reader_description = "Get and list Vertex AI pipeline jobs and list schedules, to report, verify and sweep pipeline runs and schedules. Nothing else."
}

resource "google_project_iam_custom_role" "function_vertex_reader" {
  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_vertex_reader"
  title       = local.vertex_reader_title
  description = local.vertex_reader_description
  permissions = local.vertex_permissions
}

resource "google_project_iam_member" "function_vertex_reader" {
  project = var.project_id
  role    = google_project_iam_custom_role.function_vertex_reader.id
  member  = "serviceAccount:${google_service_account.function.email}"
}

# Reading the failed tasks' own log lines (the traceback tail in a failure message).
# A custom role with the one permission entries.list needs, logging.logEntries.list,
# rather than a predefined role:
#   - roles/logging.viewer reads the same log entries but also the project's logging
#     configuration (sinks, buckets, views, log-based metrics, exclusions);
#   - roles/logging.privateLogViewer adds Data Access audit logs, which can hold request
#     payloads: never for this function.
# IAM cannot narrow the read to ml_job entries (that would take a log view on a bucket of
# their own); what the function asks for is narrowed in code: one CustomJob's entries,
# within the task's own run. Creating a custom role needs roles/iam.roleAdmin (or
# iam.roles.create) for whoever applies this module.
resource "google_project_iam_custom_role" "function_log_reader" {
  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_log_reader"
  title       = "Vertex pipeline Slack notifier: read task logs"
  description = "List log entries, to quote a failed pipeline task's own error lines. Nothing else."
  permissions = ["logging.logEntries.list"]
}

resource "google_project_iam_member" "function_log_reader" {
  project = var.project_id
  role    = google_project_iam_custom_role.function_log_reader.id
  member  = "serviceAccount:${google_service_account.function.email}"
}

# No roles/logging.logWriter: the function never calls the Logging API to write.
# It logs JSON lines to stdout (notifier/logs.py, StructuredLogHandler on
# sys.stdout), and Cloud Run's own logging agent ships a container's stdout and
# stderr to Cloud Logging without the service's identity. Its one Logging API
# call, entries.list for task logs, is the log reader above.

# On the one secret only; no project-wide secret access. None with Slack off.
resource "google_secret_manager_secret_iam_member" "function_token_access" {
  count = var.slack_enabled ? 1 : 0

  project   = var.project_id
  secret_id = local.slack_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function.email}"
}

# Firestore has no per-database IAM resource, so the grant is project level
# with an IAM condition that limits it to the de-duplication database.
resource "google_project_iam_member" "function_firestore_user" {
  count = var.dedup_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function.email}"

  condition {
    title       = "${var.name_prefix}-dedup-database-only"
    description = "Only the notifier's de-duplication database."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

# --- Push identity -----------------------------------------------------------------

# Invoke this function's Cloud Run service and nothing else.
resource "google_cloud_run_v2_service_iam_member" "push_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.notifier.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

# Pub/Sub mints the push OIDC token by impersonating the push account; needed
# explicitly in projects created before April 2021, harmless after. Granted on
# the push account only, not project-wide.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# --- Pub/Sub service agent (dead-lettering) ------------------------------------

resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

# Lets the agent acknowledge a message on the source subscription once it has
# forwarded it to the dead-letter topic.
resource "google_pubsub_subscription_iam_member" "push_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# --- Pipelines --------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "pipeline_publishers" {
  for_each = toset(var.pipeline_service_accounts)

  project = var.project_id
  topic   = google_pubsub_topic.status.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${each.value}"
}
