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
  description = "Secret Manager secret the token version must be added to."
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
