# The sweep for hung runs: Cloud Scheduler publishes {} with the attribute
# action=sweep to a topic of its own, whose push subscription delivers it to
# the same function (same URL, same OIDC push identity) as the status topic.
# The function honours action=sweep only from this topic (SWEEP_TOPIC), at most
# once per sweep_min_interval_minutes, then lists the RUNNING/PENDING
# PipelineJobs of every covered project and region (SWEEP_PROJECTS,
# SWEEP_REGIONS) and warns once per job older than sweep_after_hours.

resource "google_pubsub_topic" "sweep" {
  #checkov:skip=CKV_GCP_83:Carries only the scheduler's empty {} trigger with action=sweep, no pipeline data; Google-managed encryption at rest.
  count = var.sweep_enabled ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-sweep"
  labels  = local.labels
}

# A sweep that fails is retried, but only briefly: every scheduled run does
# the whole sweep again, so an old trigger carries nothing a newer one lacks.
#   - message_retention_duration is Pub/Sub's minimum, 10 minutes: an
#     undelivered trigger expires instead of piling up behind an outage and
#     firing a burst of sweeps on recovery;
#   - the same exponential backoff as the status subscription, so a failing
#     sweep is tried a few times (10 s, 20 s, 40 s, ... by default) within
#     those 10 minutes;
#   - no dead-letter policy: a dead-lettered trigger would be nothing to replay,
#     would share the status dead-letter topic that replay redrive sends back
#     to the status topic, and would fire the dead-letter alert for a message
#     that needs no action. A sweep that keeps failing shows in the function's
#     5xx alert and its ERROR logs instead.
resource "google_pubsub_subscription" "sweep" {
  count = var.sweep_enabled ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-sweep-push"
  topic   = google_pubsub_topic.sweep[0].id
  labels  = local.labels

  # As for the status subscription: the push waits for the whole function run.
  ack_deadline_seconds = min(600, local.timeout_seconds + 30)

  message_retention_duration = "600s"
  retain_acked_messages      = false

  # With the scheduler paused for 31 days, an expiring subscription would
  # silently end the sweep for good.
  expiration_policy {
    ttl = ""
  }

  push_config {
    # Same function URL and identity as the status push; the path names the
    # sweep topic as the CloudEvent source.
    push_endpoint = "${google_cloudfunctions2_function.notifier.service_config[0].uri}/${google_pubsub_topic.sweep[0].id}"

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

# Cloud Scheduler publishes through its own service agent, which may publish
# to any topic of the job's project (the topic must be in that project); no
# grant is needed. A publish that fails is not retried: the next run is as good.
resource "google_cloud_scheduler_job" "sweep" {
  count = var.sweep_enabled ? 1 : 0

  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-sweep"
  description = "Triggers the ${var.name_prefix} notifier's sweep for Vertex AI pipeline runs that hang."
  schedule    = var.sweep_schedule
  time_zone   = var.sweep_time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.sweep[0].id
    data       = base64encode("{}")
    attributes = {
      action = "sweep"
    }
  }
}

# The weekly digest (docs/digest.md): the same topic carries {} with the
# attribute action=digest on digest_schedule; the function sends each Slack
# channel and Google Chat space that was sent runs in the period one digest
# of them, claimed once per channel and period. It reads run history, so it
# is scheduled only where the history is kept (local.run_history).
resource "google_cloud_scheduler_job" "digest" {
  count = var.sweep_enabled && var.digest_enabled && local.run_history ? 1 : 0

  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-digest"
  description = "Triggers the ${var.name_prefix} notifier's weekly digest of Vertex AI pipeline runs."
  schedule    = var.digest_schedule
  time_zone   = var.digest_time_zone

  pubsub_target {
    topic_name = google_pubsub_topic.sweep[0].id
    data       = base64encode("{}")
    attributes = {
      action = "digest"
    }
  }
}
