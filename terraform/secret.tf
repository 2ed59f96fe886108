# Only the container: the token is added with `gcloud secrets versions add`, so
# its value never passes through Terraform state or a .tfvars file. None with
# Slack off (a Google Chat or SMS only install), or with an existing secret.
resource "google_secret_manager_secret" "slack_token" {
  count = var.slack_enabled && var.existing_slack_secret_id == "" ? 1 : 0

  project   = var.project_id
  secret_id = "${var.name_prefix}-slack-bot-token"
  labels    = local.labels

  replication {
    auto {}
  }
}
