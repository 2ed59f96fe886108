resource "google_pubsub_topic" "status" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption at rest is used; messages carry pipeline state and error text, no credentials, and CMEK would add a key ring the notifier does not otherwise need.
  project = var.project_id
  name    = "${var.name_prefix}-status"
  labels  = local.labels
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Same data as the status topic (undeliverable copies of it); Google-managed encryption at rest, see the status topic.
  project = var.project_id
  name    = "${var.name_prefix}-status-dead-letter"
  labels  = local.labels
}

# An explicit push subscription rather than an Eventarc trigger: Eventarc owns
# the subscription it creates, and its API cannot set a dead-letter topic on it
# (hashicorp/terraform-provider-google#17697), so dead-lettering and a
# tunable backoff are only possible on a subscription we manage ourselves.
resource "google_pubsub_subscription" "push" {
  project = var.project_id
  name    = "${var.name_prefix}-status-push"
  topic   = google_pubsub_topic.status.id
  labels  = local.labels

  # For push, this is how long Pub/Sub waits for the HTTP response; it must
  # cover a full function run or slow runs would be redelivered while running.
  ack_deadline_seconds = min(600, local.timeout_seconds + 30)

  message_retention_duration = "604800s"

  # Pipelines may be quiet for longer than the 31-day default; an expired
  # subscription would silently drop every later notification.
  expiration_policy {
    ttl = ""
  }

  push_config {
    # The /projects/P/topics/T path lets functions-framework, which turns a raw
    # push body into a CloudEvent, fill in the event source like Eventarc would.
    # The default run.app URL (not a custom domain) is what keeps Pub/Sub
    # traffic "internal" for the ALLOW_INTERNAL_ONLY ingress setting.
    push_endpoint = "${google_cloudfunctions2_function.notifier.service_config[0].uri}/${google_pubsub_topic.status.id}"

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.notifier.service_config[0].uri
    }
  }

  # A busy Slack channel hands messages back (HTTP 429) and this backoff brings them
  # again; each hand-back counts as a delivery attempt, so the defaults (topology.json)
  # keep the backoff short and the attempt budget large. See docs/topology.md.
  retry_policy {
    minimum_backoff = "${local.min_retry_backoff_seconds}s"
    maximum_backoff = "${max(local.min_retry_backoff_seconds, local.max_retry_backoff_seconds)}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.max_delivery_attempts
  }

  # Without these, the first failures could not be dead-lettered or pushed.
  depends_on = [
    google_pubsub_topic_iam_member.dead_letter_publisher,
    google_cloud_run_v2_service_iam_member.push_invoker,
  ]
}

# Keeps dead letters (no push, no expiry) until the replay tool re-drives them.
resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-status-dead-letter"
  topic   = google_pubsub_topic.dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.dead_letter_retention_days * 86400}s"
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }
}
