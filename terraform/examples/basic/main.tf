# Minimal deployment of the notifier from this repository.
# Copy terraform.tfvars.example to terraform.tfvars and fill it in.

terraform {
  required_version = ">= 1.5, < 2.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 7.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

variable "project_id" {
  description = "Project to deploy the notifier into."
  type        = string
}

variable "region" {
  description = "Region of the function."
  type        = string
  default     = "us-central1"
}

variable "slack_channel_id" {
  description = "Default Slack channel ID."
  type        = string
}

variable "pipeline_service_accounts" {
  description = "Service accounts the pipelines run as."
  type        = list(string)
  default     = []
}

variable "routes" {
  description = "Routing rules by pipeline name and PipelineJob labels; the module's routes variable types and validates them."
  type        = any
  default     = []
}

variable "extra_projects" {
  description = "Further projects whose pipelines this notifier reports and sweeps."
  type        = list(string)
  default     = []
}

variable "pipeline_regions" {
  description = "Regions whose pipelines the notifier covers (ALLOWED_REGIONS); empty: the function's region."
  type        = list(string)
  default     = []
}

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channels for the notifier's own health alerts; empty: no alerts."
  type        = list(string)
  default     = []
}

module "notifier" {
  source = "../.."

  project_id                = var.project_id
  region                    = var.region
  slack_channel_id          = var.slack_channel_id
  pipeline_service_accounts = var.pipeline_service_accounts
  on_failure_only           = false

  routes                      = var.routes
  extra_projects              = var.extra_projects
  alert_notification_channels = var.alert_notification_channels

  # The function acts on jobs of the covered projects (project_id and
  # extra_projects, by id and number) in these regions only.
  pipeline_regions = var.pipeline_regions

  # Vertex AI's job events (every covered project) and the sweep for runs
  # still going after 12 hours are on by default; shown here to be found.
  # At most one sweep per 10 minutes, however often it is triggered.
  job_events_enabled         = true
  sweep_enabled              = true
  sweep_schedule             = "*/30 * * * *"
  sweep_min_interval_minutes = 10
  sweep_after_hours          = 12

  # Acting from Slack (docs/actions.md): Acknowledge and Mute buttons, and the
  # opt-in Cancel and Retry. Off by default; when on, set the Slack app's
  # Interactivity Request URL to the slack_interactivity_url output.
  # enable_actions         = true
  # action_user_groups     = ["S0ONCALL1"]
  # allow_actions          = ["retry"]
  # action_users           = ["retry:U0LEAD001"]
  # retry_service_accounts = ["pipelines@my-project.iam.gserviceaccount.com"]
}

output "status_topic_id" {
  description = "Give this to the exit-handler stub."
  value       = module.notifier.status_topic_id
}

output "slack_secret_id" {
  description = "Add the bot token here with gcloud secrets versions add."
  value       = module.notifier.slack_secret_id
}

output "dead_letter_subscription_id" {
  description = "Where undeliverable notifications wait for the replay tool."
  value       = module.notifier.dead_letter_subscription_id
}

output "job_event_sinks" {
  description = "Sink per covered project and the writer identity that publishes its job events."
  value       = module.notifier.job_event_sinks
}

output "alert_policy_ids" {
  description = "The notifier's health alert policies (empty without notification channels)."
  value       = module.notifier.alert_policy_ids
}

output "slack_interactivity_url" {
  description = "With enable_actions: the Slack app's Interactivity Request URL."
  value       = module.notifier.slack_interactivity_url
}
