# Root module: a Pub/Sub-fed Cloud Function (2nd gen) that posts Vertex AI
# pipeline final states to Slack, Google Chat and SMS. Resources are split by concern:
#   pubsub.tf    status topic, push subscription to the function, dead letters
#   function.tf  source archive, source bucket, the function
#   iam.tf       service accounts and every role binding
#   secret.tf    the Slack token's secret container (never a version)
#   destinations.tf Google Chat's and Twilio's secret containers
#   firestore.tf de-duplication (and thread state) database, TTL policies on claims and streaks
#   history.tf   run history: its variables, TTL policy and composite indexes
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

  # Slack's token: an existing secret, or the container secret.tf creates; none with Slack off.
  slack_secret_id = (
    !var.slack_enabled ? null :
    var.existing_slack_secret_id != "" ? var.existing_slack_secret_id : google_secret_manager_secret.slack_token[0].secret_id
  )
  # One thread per failing streak: a Slack feature, whose state lives beside the claims.
  slack_threads = var.slack_enabled && var.dedup_enabled && var.slack_threads

  create_firestore_database = var.dedup_enabled && var.existing_firestore_database == ""
  firestore_database = (
    var.existing_firestore_database != "" ? var.existing_firestore_database :
    local.create_firestore_database ? google_firestore_database.dedup[0].name : "(default)"
  )

  # A pending claim must outlive the request that holds it, or a redelivery
  # could take over a claim whose post is still in flight.
  dedup_lease_seconds = coalesce(var.dedup_lease_seconds, local.timeout_seconds)

  # Every name is a setting of function/notifier/settings.py (SETTINGS), and every
  # value one it accepts: tests/terraform/test_settings.py walks the table against
  # these. The secrets are absent: they only ever arrive from Secret Manager
  # (local.function_secrets). With Slack off, Slack's own settings are left out.
  function_env_all = {
    SLACK_CHANNEL_ID         = var.slack_enabled ? var.slack_channel_id : ""
    ON_FAILURE_ONLY          = var.on_failure_only ? "true" : "false"
    SLACK_MENTION_ON_FAILURE = var.slack_enabled ? var.slack_mention_on_failure : ""
    GCP_REGION               = var.region
    GOOGLE_CLOUD_PROJECT     = var.project_id
    VERTEX_TIMEOUT_SECONDS   = tostring(var.vertex_timeout_seconds)
    SLACK_MAX_PER_SECOND     = var.slack_enabled ? tostring(var.slack_max_per_second) : ""
    # The longest a message waits for its channel or space: Google Chat's pacer holds
    # by it too, so it stays with Slack off.
    SLACK_HOLD_SECONDS    = tostring(local.slack_hold_seconds)
    MAX_DELIVERY_ATTEMPTS = tostring(local.max_delivery_attempts)
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
    ROUTES              = length(var.routes) > 0 ? jsonencode(var.routes) : ""
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
    # Threads keep their state beside the claims: without de-duplication (or Slack)
    # they are off, said explicitly, as the function's default follows DEDUP_COLLECTION.
    SLACK_THREADS      = local.slack_threads ? "true" : "false"
    NOTIFY_ON_RECOVERY = var.notify_on_recovery ? "true" : "false"
    STREAK_EXPIRY_DAYS = tostring(var.streak_expiry_days)
    STREAKS_COLLECTION = var.streaks_collection
    # Google Chat and SMS; their webhooks and credentials come from Secret Manager (destinations.tf).
    GOOGLE_CHAT_SPACES  = join(",", var.google_chat_spaces)
    TWILIO_FROM         = var.sms_enabled ? var.twilio_from : ""
    SMS_TO              = join(",", var.sms_to)
    SMS_ON_FAILURE_ONLY = var.sms_on_failure_only ? "true" : "false"
    # Run history (history.tf): kept beside the claims; without de-duplication it is off.
    RUNS_COLLECTION     = var.runs_collection
    RUN_HISTORY_DAYS    = local.run_history ? tostring(var.run_history_days) : "0"
    BASELINE_MIN_RUNS   = tostring(var.baseline_min_runs)
    DURATION_FACTOR     = tostring(var.duration_factor)
    DURATION_MIN_EXTRA  = tostring(var.duration_min_extra_minutes)
    NOTIFY_SLOW_SUCCESS = var.notify_slow_success ? "true" : "false"
    # The weekly digest (sweep.tf): requested on the sweep topic, read from run history.
    DIGEST_ENABLED = var.digest_enabled ? "true" : "false"
    # Vertex AI Schedules, checked by each sweep.
    CHECK_SCHEDULES        = var.check_schedules ? "true" : "false"
    SCHEDULE_GRACE_MINUTES = tostring(var.schedule_grace_minutes)
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
    for name, value in merge(local.function_env_all, local.actions_function_env) : name => value
    if value != "" || name == "DEDUP_COLLECTION"
  }

  # Environment variable -> Secret Manager secret id, for every secret the function
  # reads: Slack's token (secret.tf), Google Chat's webhooks and Twilio's
  # credentials (destinations.tf), each only while its destination is on.
  slack_secrets = { SLACK_BOT_TOKEN = local.slack_secret_id }
  function_secrets = merge(
    var.slack_enabled ? local.slack_secrets : {},
    { for name, secret in google_secret_manager_secret.destination : name => secret.secret_id },
    # Slack's signing secret, with actions on (actions.tf): every click is verified again here.
    { for secret in google_secret_manager_secret.slack_signing_secret : "SLACK_SIGNING_SECRET" => secret.secret_id },
  )
}
