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

module "notifier" {
  source = "../.."

  project_id                = var.project_id
  region                    = var.region
  slack_channel_id          = var.slack_channel_id
  pipeline_service_accounts = var.pipeline_service_accounts
  on_failure_only           = false
  max_delivery_attempts     = 10
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
