# Root module: a Pub/Sub-fed Cloud Function (2nd gen) that posts Vertex AI
# pipeline final states to Slack. Resources are split by concern:
#   pubsub.tf    status topic, push subscription to the function, dead letters
#   function.tf  source archive, source bucket, the function
#   iam.tf       service accounts and every role binding
#   secret.tf    the Slack token's secret container (never a version)
#   firestore.tf de-duplication (and thread state) database, TTL policies on claims and streaks
#   scope.tf     the projects and regions covered (ALLOWED_PROJECTS, ALLOWED_REGIONS)
#   projects.tf  extra projects: their numbers, Vertex AI and task-log read access there
#   job_events.tf Cloud Logging sinks: Vertex AI's job events into the status topic
#   sweep.tf     Cloud Scheduler -> sweep topic -> the function, for hung runs
#   monitoring.tf alert policies on the notifier's own health

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = merge(var.labels, {
    managed-by = "terraform"
    component  = "vertex-slack-notifier"
  })

  # Pub/Sub's per-project service agent: it pushes, dead-letters and acks on
  # our behalf, so it needs roles on exactly the resources involved.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  function_source_dir = coalesce(var.function_source_dir, "${path.module}/../function")

  # The deployed topology. topology.json is the one source of the defaults: the local
  # stack (sandbox/topology.py) starts the function with the same values, and
  # tests/terraform fails if a value below stops coming from it.
  topology                  = jsondecode(file("${path.module}/topology.json"))
  max_instances             = coalesce(var.max_instances, local.topology.max_instances)
  concurrency               = coalesce(var.function_concurrency, local.topology.concurrency)
  workers                   = local.topology.workers
  cpu                       = coalesce(var.function_cpu, local.topology.cpu)
  memory                    = coalesce(var.function_memory, local.topology.memory)
  timeout_seconds           = coalesce(var.function_timeout_seconds, local.topology.timeout_seconds)
  slack_hold_seconds        = coalesce(var.slack_hold_seconds, local.topology.slack_hold_seconds)
  min_retry_backoff_seconds = coalesce(var.min_retry_backoff_seconds, local.topology.min_retry_backoff_seconds)
  max_retry_backoff_seconds = coalesce(var.max_retry_backoff_seconds, local.topology.max_retry_backoff_seconds)
  max_delivery_attempts     = coalesce(var.max_delivery_attempts, local.topology.max_delivery_attempts)

  slack_secret_id = var.existing_slack_secret_id != "" ? var.existing_slack_secret_id : google_secret_manager_secret.slack_token[0].secret_id

  create_firestore_database = var.dedup_enabled && var.existing_firestore_database == ""
  firestore_database = (
    var.existing_firestore_database != "" ? var.existing_firestore_database :
    local.create_firestore_database ? google_firestore_database.dedup[0].name : "(default)"
  )

  # A pending claim must outlive the request that holds it, or a redelivery
  # could take over a claim whose post is still in flight.
  dedup_lease_seconds = coalesce(var.dedup_lease_seconds, local.timeout_seconds)

  # Names must match ENV_VARS in function/notifier/config.py; a test enforces it.
  # SLACK_BOT_TOKEN is deliberately absent: it only ever arrives from Secret
  # Manager (see function.tf).
  function_env_all = {
    SLACK_CHANNEL_ID         = var.slack_channel_id
    ON_FAILURE_ONLY          = var.on_failure_only ? "true" : "false"
    SLACK_MENTION_ON_FAILURE = var.slack_mention_on_failure
    GCP_REGION               = var.region
    GOOGLE_CLOUD_PROJECT     = var.project_id
    VERTEX_TIMEOUT_SECONDS   = tostring(var.vertex_timeout_seconds)
    SLACK_MAX_PER_SECOND     = tostring(var.slack_max_per_second)
    SLACK_HOLD_SECONDS       = tostring(local.slack_hold_seconds)
    MAX_DELIVERY_ATTEMPTS    = tostring(local.max_delivery_attempts)
    # functions-framework serves through gunicorn with WORKERS processes of THREADS
    # threads; Google recommends THREADS equal to the request concurrency for Python.
    # One worker: the pacer lives in one process's memory.
    WORKERS             = tostring(local.workers)
    THREADS             = tostring(local.concurrency)
    LOG_LEVEL           = var.log_level
    DEDUP_COLLECTION    = var.dedup_enabled ? var.dedup_collection : ""
    FIRESTORE_DATABASE  = local.firestore_database
    DEDUP_LEASE_SECONDS = tostring(local.dedup_lease_seconds)
    DEDUP_TTL_DAYS      = tostring(var.dedup_ttl_days)
    SLACK_ROUTES        = length(var.routes) > 0 ? jsonencode(var.routes) : ""
    # The scope (scope.tf): the function acts on jobs of these projects (by id or
    # number) and regions only.
    ALLOWED_PROJECTS = join(",", local.allowed_projects)
    ALLOWED_REGIONS  = join(",", local.pipeline_regions)
    SWEEP_REGIONS    = join(",", local.sweep_regions)
    SWEEP_PROJECTS   = join(",", local.covered_projects)
    # action=sweep is honoured only from the sweep topic (never from the status
    # topic every pipeline may publish to); no sweep topic, no sweep.
    SWEEP_TOPIC                = var.sweep_enabled ? google_pubsub_topic.sweep[0].id : ""
    SWEEP_MIN_INTERVAL_MINUTES = tostring(var.sweep_min_interval_minutes)
    SWEEP_AFTER_HOURS          = tostring(var.sweep_after_hours)
    # Threads keep their state beside the claims: without de-duplication they are off.
    SLACK_THREADS      = var.dedup_enabled && var.slack_threads ? "true" : "false"
    NOTIFY_ON_RECOVERY = var.notify_on_recovery ? "true" : "false"
    STREAK_EXPIRY_DAYS = tostring(var.streak_expiry_days)
    STREAKS_COLLECTION = var.streaks_collection
    # Google Chat and SMS; their webhooks and credentials come from Secret Manager (destinations.tf).
    GOOGLE_CHAT_SPACES  = join(",", var.google_chat_spaces)
    TWILIO_FROM         = var.sms_enabled ? var.twilio_from : ""
    SMS_TO              = join(",", var.sms_to)
    SMS_ON_FAILURE_ONLY = var.sms_on_failure_only ? "true" : "false"
    # PagerDuty and Teams; their routing keys and webhooks come from Secret Manager (destinations_paging.tf).
    PAGERDUTY_SERVICES  = join(",", var.pagerduty_services)
    PAGERDUTY_SEVERITY  = var.pagerduty_severity
    TEAMS_CHANNELS      = join(",", var.teams_channels)
    NOTIFY_NOT_BLESSED  = var.notify_not_blessed ? "true" : "false"
    SLACK_WORKSPACE_URL = var.slack_workspace_url
  }

  # Unset optional values are left out rather than set to "", except
  # DEDUP_COLLECTION whose empty value is the documented "off" switch.
  function_env = {
    for name, value in local.function_env_all : name => value
    if value != "" || name == "DEDUP_COLLECTION"
  }
}
