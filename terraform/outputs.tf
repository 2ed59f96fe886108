output "status_topic_id" {
  description = "Topic the exit-handler stub publishes to (projects/P/topics/T)."
  value       = google_pubsub_topic.status.id
}

output "status_topic_name" {
  description = "Short name of the status topic."
  value       = google_pubsub_topic.status.name
}

output "function_name" {
  description = "Name of the Cloud Function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.notifier.name
}

output "function_uri" {
  description = "run.app URI of the function; internal-only ingress, reachable by Pub/Sub push in this project."
  value       = google_cloudfunctions2_function.notifier.service_config[0].uri
}

output "push_subscription_id" {
  description = "Subscription that pushes status messages to the function (retry and dead-letter policies live here)."
  value       = google_pubsub_subscription.push.id
}

output "dead_letter_topic_id" {
  description = "Topic receiving notifications that exhausted max_delivery_attempts."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription_id" {
  description = "Pull subscription keeping dead letters for the replay tool."
  value       = google_pubsub_subscription.dead_letter.id
}

output "slack_secret_id" {
  description = "Secret Manager secret the Slack token version must be added to (null when slack_enabled is false)."
  value       = local.slack_secret_id
}

output "function_service_account_email" {
  description = "Runtime identity of the function."
  value       = google_service_account.function.email
}

output "push_service_account_email" {
  description = "Identity in the OIDC token Pub/Sub presents to the function."
  value       = google_service_account.push.email
}

output "firestore_database" {
  description = "Firestore database holding de-duplication claims (null when de-duplication is off)."
  value       = var.dedup_enabled ? local.firestore_database : null
}

output "job_event_sinks" {
  description = "Per covered project: the job-event sink's name, its writer identity (publisher on the status topic only) and its filter. Empty when job_events_enabled is false."
  value = {
    for project, sink in google_logging_project_sink.job_events : project => {
      name            = sink.name
      writer_identity = sink.writer_identity
      filter          = sink.filter
    }
  }
}

output "covered_projects" {
  description = "Projects whose pipelines the notifier reports, enriches and sweeps (project_id, then extra_projects)."
  value       = local.covered_projects
}

output "sweep_topic_id" {
  description = "Topic Cloud Scheduler publishes the sweep trigger to (null when sweep_enabled is false)."
  value       = var.sweep_enabled ? google_pubsub_topic.sweep[0].id : null
}

output "sweep_scheduler_job_id" {
  description = "Cloud Scheduler job that triggers the sweep; `gcloud scheduler jobs run` starts one now (null when sweep_enabled is false)."
  value       = var.sweep_enabled ? google_cloud_scheduler_job.sweep[0].id : null
}

output "alert_policy_ids" {
  description = "Alert policies on the notifier's health (dead_letters, function_5xx); empty when alert_notification_channels is empty."
  value = merge(
    { for policy in google_monitoring_alert_policy.dead_letters : "dead_letters" => policy.id },
    { for policy in google_monitoring_alert_policy.function_5xx : "function_5xx" => policy.id },
  )
}
