data "archive_file" "function_source" {
  type        = "zip"
  source_dir  = local.function_source_dir
  output_path = "${path.module}/.build/function-source.zip"

  # Local caches and virtualenvs would change the hash (and redeploy) without
  # any code change, and must not be shipped.
  excludes = [
    "**/__pycache__/**",
    "**/*.pyc",
    "**/.pytest_cache/**",
    "**/.venv/**",
    "**/.DS_Store",
  ]
}

resource "google_storage_bucket" "function_source" {
  #checkov:skip=CKV_GCP_62:Holds only build inputs reproducible from the repository; bucket changes are in Admin Activity audit logs, and a separate access-log bucket would add cost with nothing to act on.
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-fn-src"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Everything here can be rebuilt from the repository.
  force_destroy = true

  versioning {
    enabled = true
  }

  # Versioning protects against an accidental overwrite; old archives are of no
  # use after a few newer deployments.
  lifecycle_rule {
    condition {
      num_newer_versions = 3
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_object" "function_source" {
  # The content hash in the name is what makes a code change redeploy: a new
  # object name changes build_config and so the function.
  name   = "function-source/${data.archive_file.function_source.output_md5}.zip"
  bucket = google_storage_bucket.function_source.name
  source = data.archive_file.function_source.output_path
}

resource "google_cloudfunctions2_function" "notifier" {
  project     = var.project_id
  name        = "${var.name_prefix}-notifier"
  location    = var.region
  description = "Posts Vertex AI pipeline final states from Pub/Sub to Slack, Google Chat and SMS."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = "notify"
    service_account = var.build_service_account

    source {
      storage_source {
        bucket = google_storage_bucket.function_source.name
        object = google_storage_bucket_object.function_source.name
      }
    }
  }

  # No event_trigger: delivery is the push subscription in pubsub.tf, which
  # carries the retry and dead-letter policies an Eventarc trigger cannot.
  # One instance serving many requests at once: the per-channel pacer in its memory
  # sees every post (see docs/topology.md).
  service_config {
    available_memory                 = local.memory
    available_cpu                    = local.cpu
    timeout_seconds                  = local.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = local.max_instances
    max_instance_request_concurrency = local.concurrency
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.function.email
    environment_variables            = local.function_env

    # Slack's token, Google Chat's webhooks and Twilio's credentials, each while its
    # destination is on: secrets only ever reach the function this way.
    dynamic "secret_environment_variables" {
      for_each = local.function_secrets
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = local.dedup_lease_seconds >= local.timeout_seconds
      error_message = "dedup_lease_seconds must not be shorter than function_timeout_seconds, or a slow post could be duplicated."
    }
    precondition {
      condition     = !local.slack_threads || var.streaks_collection != var.dedup_collection
      error_message = "streaks_collection must differ from dedup_collection: streak documents and claims are different things."
    }
    precondition {
      condition     = local.concurrency == 1 || tonumber(local.cpu) >= 1
      error_message = "function_concurrency above 1 needs function_cpu of at least 1 (a Cloud Run requirement)."
    }
    precondition {
      condition     = local.workers == 1
      error_message = "topology.json must keep workers at 1: each gunicorn worker is a process with its own pacer, and two would post to a channel twice as fast."
    }
    precondition {
      # A message on its last delivery attempt may wait twice the hold for its channel.
      condition     = 2 * local.slack_hold_seconds + 10 <= local.timeout_seconds
      error_message = "function_timeout_seconds must be at least twice slack_hold_seconds plus 10 s: a message on its last delivery attempt waits up to twice the hold for its channel, then posts."
    }
    precondition {
      # A handed-back message must be back before its channel's queue (at most the hold
      # long) has run dry, or the channel idles while messages sit in backoff.
      condition     = var.slack_max_per_second == 0 || max(local.min_retry_backoff_seconds, local.max_retry_backoff_seconds) <= local.slack_hold_seconds
      error_message = "max_retry_backoff_seconds must not exceed slack_hold_seconds: a message handed back by a busy channel would sit in backoff while its channel runs idle."
    }
    # The function stops at start-up for the same mistakes; here they stop the plan.
    precondition {
      condition     = var.slack_enabled || var.google_chat_enabled || var.sms_enabled
      error_message = "No destination: set slack_enabled (the default), google_chat_enabled or sms_enabled; the function refuses to start without one."
    }
    precondition {
      condition     = var.slack_enabled || (var.slack_channel_id == "" && alltrue([for rule in var.routes : rule.channel == null || rule.channel == ""]))
      error_message = "slack_channel_id and routes name Slack channels: set slack_enabled = true (and add the token's secret version), or send those runs to google_chat or sms."
    }
    precondition {
      condition     = var.google_chat_enabled || (length(var.google_chat_spaces) == 0 && alltrue([for rule in var.routes : length(coalesce(rule.google_chat, [])) == 0]))
      error_message = "google_chat_spaces and routes name Google Chat webhooks: set google_chat_enabled = true (and add the webhooks' secret version)."
    }
    precondition {
      condition     = var.sms_enabled || (length(var.sms_to) == 0 && alltrue([for rule in var.routes : length(coalesce(rule.sms, [])) == 0]))
      error_message = "sms_to and routes name SMS numbers: set sms_enabled = true and twilio_from (and add the Twilio secrets' versions)."
    }
    precondition {
      condition     = var.pagerduty_enabled || (length(var.pagerduty_services) == 0 && alltrue([for rule in var.routes : length(coalesce(rule.pagerduty, [])) == 0]))
      error_message = "pagerduty_services and routes name PagerDuty services: set pagerduty_enabled = true (and add the routing keys' secret version)."
    }
    precondition {
      condition     = var.teams_enabled || (length(var.teams_channels) == 0 && alltrue([for rule in var.routes : length(coalesce(rule.teams, [])) == 0]))
      error_message = "teams_channels and routes name Teams webhooks: set teams_enabled = true (and add the webhooks' secret version)."
    }
    precondition {
      condition     = !var.sms_enabled || var.twilio_from != ""
      error_message = "sms_enabled needs twilio_from: the sending number (E.164) or Messaging Service SID (MG...)."
    }
    # The sweep stays within the scope the function is given, and runs on schedule.
    precondition {
      condition     = length(local.sweep_regions_outside) == 0
      error_message = "sweep_regions must be among pipeline_regions (default [region]), the regions the function may act on; not among them: ${join(", ", local.sweep_regions_outside)}. Add them to pipeline_regions or drop them from sweep_regions."
    }
    precondition {
      condition     = !var.sweep_enabled || local.sweep_interval_fits
      error_message = "sweep_min_interval_minutes (${var.sweep_min_interval_minutes}) must be shorter than the shortest gap between two runs of sweep_schedule \"${var.sweep_schedule}\" (${coalesce(local.sweep_gap_minutes, 0)} minutes), or the function skips scheduled sweeps as too soon after the last one."
    }
  }

  # The revision fails to start if its account cannot read a secret.
  depends_on = [
    google_secret_manager_secret_iam_member.function_token_access,
    google_secret_manager_secret_iam_member.function_destination_access,
    google_secret_manager_secret_iam_member.function_signing_secret,
  ]
}
