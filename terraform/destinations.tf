# Google Chat and SMS (Twilio), beside Slack. Only the secrets' containers: the
# values (the webhooks' JSON, Twilio's account SID and auth token) are added with
# `gcloud secrets versions add`, as the Slack token is, so they never pass through
# Terraform state or a .tfvars file. A revision only starts once every secret it
# reads has a version: add them before the apply that turns a destination on.

locals {
  # Environment variable -> secret id, per destination.
  chat_secrets = {
    GOOGLE_CHAT_WEBHOOKS = "${var.name_prefix}-google-chat-webhooks"
  }
  sms_secrets = {
    TWILIO_ACCOUNT_SID = "${var.name_prefix}-twilio-account-sid"
    TWILIO_AUTH_TOKEN  = "${var.name_prefix}-twilio-auth-token"
  }
  destination_secrets = merge(
    var.google_chat_enabled ? local.chat_secrets : {},
    var.sms_enabled ? local.sms_secrets : {},
    local.paging_secrets, # PagerDuty and Teams (destinations_paging.tf)
  )
}

resource "google_secret_manager_secret" "destination" {
  for_each = local.destination_secrets

  project   = var.project_id
  secret_id = each.value
  labels    = local.labels

  replication {
    auto {}
  }
}

# Each secret to the function alone, as the Slack token's; no project-wide access.
resource "google_secret_manager_secret_iam_member" "function_destination_access" {
  for_each = local.destination_secrets

  project   = var.project_id
  secret_id = google_secret_manager_secret.destination[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function.email}"
}
