# PagerDuty (Events API v2) and Microsoft Teams (Workflows webhooks), beside Slack,
# Google Chat and SMS; both off unless turned on. As in destinations.tf, only the
# secrets' containers: the values (a JSON object of service name -> routing key, and one
# of webhook name -> workflow trigger URL) are added with `gcloud secrets versions add`,
# so they never pass through Terraform state or a .tfvars file. destinations.tf creates,
# grants and mounts them with the other destinations' secrets (local.destination_secrets).

locals {
  # Environment variable -> secret id, per destination.
  pagerduty_secrets = {
    PAGERDUTY_ROUTING_KEYS = "${var.name_prefix}-pagerduty-routing-keys"
  }
  teams_secrets = {
    TEAMS_WEBHOOKS = "${var.name_prefix}-teams-webhooks"
  }
  paging_secrets = merge(
    var.pagerduty_enabled ? local.pagerduty_secrets : {},
    var.teams_enabled ? local.teams_secrets : {},
  )
}
