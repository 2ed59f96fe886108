# The notifier's own health: two Cloud Monitoring alert policies, created only
# when alert_notification_channels names at least one channel (an alert nobody
# receives is only noise in the console). Each policy's documentation says what
# fired and what to do; the README's "When things go wrong" says the same.

locals {
  alerts_enabled = length(var.alert_notification_channels) > 0

  redrive_command = "replay redrive --subscription ${google_pubsub_subscription.dead_letter.id} --topic ${google_pubsub_topic.status.id}"
}

# (1) Notifications are waiting on the dead-letter subscription: each one
# failed max_delivery_attempts times and has not been posted. They stay there
# (dead_letter_retention_days) until `replay redrive` sends them back, and the
# incident closes itself once the subscription is empty again.
resource "google_monitoring_alert_policy" "dead_letters" {
  count = local.alerts_enabled ? 1 : 0

  project      = var.project_id
  display_name = "${var.name_prefix} notifier: notifications dead-lettered"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Undelivered messages on ${google_pubsub_subscription.dead_letter.name}"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      # Five minutes: a redrive already under way empties it before anyone is paged.
      duration = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "${var.name_prefix}: pipeline notifications are waiting in the dead-letter subscription"
    mime_type = "text/markdown"
    content   = <<-EOT
      **What fired:** the dead-letter subscription `${google_pubsub_subscription.dead_letter.id}` has held undelivered messages for 5 minutes. Each is a pipeline notification (or a job event) that the function failed to handle ${local.max_delivery_attempts} times, so it was **not posted to Slack**.

      **What to do:**
      1. Find the cause in the function's logs (Cloud Run service `${google_cloudfunctions2_function.notifier.name}`, severity ERROR or WARNING): Slack unreachable or rejecting the token, the Slack token secret without a version, a bug (a traceback).
      2. Fix it, then send the messages back to the status topic:

         `${local.redrive_command}`

         (`--max N` re-drives part of them first; the function's de-duplication makes a second delivery harmless.)
      3. The incident closes by itself once the subscription is empty. Messages are kept for ${var.dead_letter_retention_days} days.
    EOT
  }
}

# (2) The function answers 5xx: it asked Pub/Sub to redeliver (a transient
# failure: Slack down, a claim still pending), or it cannot start at all (a
# configuration error, a missing secret version) or crashed. A few are normal
# retries; more than alert_5xx_threshold within 10 minutes is not.
resource "google_monitoring_alert_policy" "function_5xx" {
  count = local.alerts_enabled ? 1 : 0

  project      = var.project_id
  display_name = "${var.name_prefix} notifier: function answering 5xx"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels  = local.labels

  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "5xx responses of ${google_cloudfunctions2_function.notifier.name}"

    condition_threshold {
      # Cloud Functions (2nd gen) serve from the Cloud Run service of the same name.
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.notifier.name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_5xx_threshold
      duration        = "0s"

      # The count of 5xx responses in a rolling 10-minute window, summed over
      # revisions and response codes.
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "${var.name_prefix}: the notifier function is failing (5xx)"
    mime_type = "text/markdown"
    content   = <<-EOT
      **What fired:** the function `${google_cloudfunctions2_function.notifier.name}` answered more than ${var.alert_5xx_threshold} requests with a 5xx status within 10 minutes. Pub/Sub is retrying those notifications (and sweeps) with backoff; a notification that keeps failing goes to the dead-letter subscription after ${local.max_delivery_attempts} attempts.

      **What to do:**
      1. Read the function's logs (Cloud Run service `${google_cloudfunctions2_function.notifier.name}`, severity WARNING and above):
         - a configuration error at start-up names the variable (e.g. a malformed `ROUTES` rule): fix it in Terraform and apply;
         - the Slack token secret has no version: add one (`gcloud secrets versions add`);
         - Slack unreachable or answering 5xx: nothing to do, the retries deliver once it recovers;
         - a traceback is a bug: fix and deploy.
      2. Once fixed, retried messages arrive by themselves. If the dead-letter alert fired too, send those back with:

         `${local.redrive_command}`
    EOT
  }
}
