variable "project_id" {
  description = "ID of the project that hosts the notifier (topics, function, secret, Firestore)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6-30 characters: lowercase letters, digits, hyphens; starts with a letter)."
  }
}

variable "region" {
  description = "Region of the function, its source bucket and (by default) the Firestore database. Also the fallback Vertex AI region (GCP_REGION), and the one region pipelines are covered in unless pipeline_regions names others."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]{2,20}-[a-z]{2,20}[1-9][0-9]?$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west4."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (topics, subscriptions, function, service accounts, secret)."
  type        = string
  default     = "vertex-slack"

  validation {
    # Service account ids are the tightest limit: 6-30 characters, and we append
    # at most 7 characters ("-fn", "-push") to the prefix.
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-22 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "labels" {
  description = "Labels added to every resource that supports them."
  type        = map(string)
  default     = {}
}

# --- Slack ---------------------------------------------------------------------

variable "slack_enabled" {
  description = "Post to Slack: create the bot token's secret container (unless existing_slack_secret_id names one) and hand it to the function (SLACK_BOT_TOKEN). False for a Google Chat or SMS only install: no Slack secret, no Slack settings; then slack_channel_id and routes may name no Slack channel, and google_chat_enabled or sms_enabled must be on."
  type        = bool
  default     = true
}

variable "slack_channel_id" {
  description = "Default Slack channel ID (C..., G... or D...) used when a message does not name one (SLACK_CHANNEL_ID). Empty leaves it unset. Only with slack_enabled."
  type        = string
  default     = ""

  validation {
    condition     = var.slack_channel_id == "" || can(regex("^[CGD][A-Z0-9]{2,40}$", var.slack_channel_id))
    error_message = "slack_channel_id must be a Slack channel ID such as C0123ABCD (3-41 characters, not a #name), or empty."
  }
}

variable "on_failure_only" {
  description = "Post only when a pipeline did not succeed (ON_FAILURE_ONLY)."
  type        = bool
  default     = false
}

variable "slack_mention_on_failure" {
  description = "Slack mention added to failure messages, e.g. <!subteam^S0123ABCD> or <@U0123ABCD> (SLACK_MENTION_ON_FAILURE). Empty for none."
  type        = string
  default     = ""

  validation {
    # The function's grammar: at most 10 mentions, ids of at most 40 characters, labels
    # of at most 80, at most 1000 characters in all ((?s). counts code points, as len()).
    condition     = var.slack_mention_on_failure == "" || (can(regex("^(<(!subteam\\^[A-Z0-9]{1,40}|@[UW][A-Z0-9]{1,40}|!here|!channel)(\\|[^<>]{0,80})?>\\s{0,4}){1,10}$", var.slack_mention_on_failure)) && can(regex("^(?s).{1,1000}$", var.slack_mention_on_failure)))
    error_message = "slack_mention_on_failure must be one to ten Slack mentions such as <!subteam^S0123ABCD>, <@U0123ABCD> or <!channel> (at most 1000 characters), or empty."
  }
}

variable "existing_slack_secret_id" {
  description = "ID (short name) of an existing Secret Manager secret in project_id holding the Slack bot token. Empty: the module creates the secret container (with slack_enabled)."
  type        = string
  default     = ""

  validation {
    condition     = var.existing_slack_secret_id == "" || can(regex("^[A-Za-z0-9_-]{1,255}$", var.existing_slack_secret_id))
    error_message = "existing_slack_secret_id must be a secret ID (letters, digits, _ and -), not a full resource name."
  }
}

# --- Pipelines -----------------------------------------------------------------

variable "pipeline_service_accounts" {
  description = "Emails of the service accounts the Vertex AI pipelines run as; each may publish to the status topic (and nothing else)."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for email in var.pipeline_service_accounts :
      can(regex("^[a-z0-9-]+@[a-z0-9-]+\\.iam\\.gserviceaccount\\.com$", email)) ||
      can(regex("^[0-9]+-compute@developer\\.gserviceaccount\\.com$", email))
    ])
    error_message = "pipeline_service_accounts must hold service account emails (NAME@PROJECT.iam.gserviceaccount.com or NUMBER-compute@developer.gserviceaccount.com), without a serviceAccount: prefix."
  }
}

# --- Function ------------------------------------------------------------------

variable "function_source_dir" {
  description = "Directory zipped and deployed as the function source. Null: the repository's function/ folder next to this module."
  type        = string
  default     = null
}

variable "function_memory" {
  description = "Memory of the function instance, e.g. 512Mi or 1Gi. Null: topology.json (512Mi, twice the measured peak at full concurrency)."
  type        = string
  default     = null

  validation {
    condition     = var.function_memory == null || can(regex("^[0-9]+(M|Mi|G|Gi)$", var.function_memory))
    error_message = "function_memory must be a number followed by M, Mi, G or Gi, e.g. 512Mi."
  }
}

variable "function_cpu" {
  description = "vCPUs of the function instance, e.g. \"1\". At least 1 when function_concurrency is above 1. Null: topology.json (1)."
  type        = string
  default     = null

  validation {
    condition     = var.function_cpu == null || can(regex("^[0-9]+(\\.[0-9]+)?$", var.function_cpu))
    error_message = "function_cpu must be a number of vCPUs such as \"1\" or \"2\"."
  }
}

variable "function_concurrency" {
  description = "Requests the one instance serves at once (max_instance_request_concurrency, and THREADS for functions-framework). A quarter of them always stays free for quiet channels. Null: topology.json (80)."
  type        = number
  default     = null

  validation {
    condition     = var.function_concurrency == null || try(var.function_concurrency >= 1 && var.function_concurrency <= 1000 && floor(var.function_concurrency) == var.function_concurrency, false)
    error_message = "function_concurrency must be a whole number between 1 and 1000 (Cloud Run's limit), or null."
  }
}

variable "function_timeout_seconds" {
  description = "Request timeout of the function. Also bounds the push subscription's ack deadline, so at most 540; at least twice slack_hold_seconds plus 10. Null: topology.json (60)."
  type        = number
  default     = null

  validation {
    # Pub/Sub's ack deadline tops out at 600 s; keeping the function well under
    # it means a slow request is cut by the function, not redelivered mid-flight.
    condition     = var.function_timeout_seconds == null || try(var.function_timeout_seconds >= 10 && var.function_timeout_seconds <= 540 && floor(var.function_timeout_seconds) == var.function_timeout_seconds, false)
    error_message = "function_timeout_seconds must be a whole number between 10 and 540, or null."
  }
}

variable "max_instances" {
  description = "Maximum function instances: 1, the only value that keeps the per-channel pacing (it lives in the instance's memory; two instances could post to a channel twice as fast). The minimum is 0, so idle costs nothing. Null: topology.json (1)."
  type        = number
  default     = null

  validation {
    condition     = var.max_instances == null || var.max_instances == 1
    error_message = "max_instances must be 1 (or null): the per-channel Slack pacing lives in the one instance's memory, so a second instance could post to a channel twice as fast as slack_max_per_second. Raise function_concurrency instead; see docs/topology.md."
  }
}

variable "vertex_timeout_seconds" {
  description = "Timeout of the Vertex AI API call that enriches a message (VERTEX_TIMEOUT_SECONDS)."
  type        = number
  default     = 10

  validation {
    condition     = var.vertex_timeout_seconds >= 1 && var.vertex_timeout_seconds <= 120
    error_message = "vertex_timeout_seconds must be between 1 and 120 (the function refuses other values)."
  }
}

variable "slack_max_per_second" {
  description = "Slack's per-channel post rate the function paces to (SLACK_MAX_PER_SECOND); 0 turns pacing off."
  type        = number
  default     = 1

  validation {
    condition     = var.slack_max_per_second >= 0 && var.slack_max_per_second <= 1000
    error_message = "slack_max_per_second must be between 0 and 1000."
  }
}

variable "slack_hold_seconds" {
  description = "Longest queue for its channel a request may wait in (SLACK_HOLD_SECONDS); a longer one hands the message back to Pub/Sub. At least max_retry_backoff_seconds. Null: topology.json (25)."
  type        = number
  default     = null

  validation {
    condition     = var.slack_hold_seconds == null || try(var.slack_hold_seconds >= 0 && var.slack_hold_seconds <= 265, false)
    error_message = "slack_hold_seconds must be between 0 and 265 (half the longest function timeout, less 5), or null."
  }
}

variable "log_level" {
  description = "Log level of the function (LOG_LEVEL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "build_service_account" {
  description = "Full resource name (projects/P/serviceAccounts/EMAIL) of the account Cloud Build uses to build the function. Null: the project's default build account."
  type        = string
  default     = null

  validation {
    condition     = var.build_service_account == null || can(regex("^projects/[^/]+/serviceAccounts/[^/]+@[^/]+$", var.build_service_account))
    error_message = "build_service_account must look like projects/PROJECT/serviceAccounts/EMAIL."
  }
}

# --- Delivery ------------------------------------------------------------------

variable "max_delivery_attempts" {
  description = "Deliveries of one message before it is moved to the dead-letter topic (Pub/Sub allows 5-100). A busy channel's hand-backs count too: see docs/topology.md for the backlog this covers. Null: topology.json (100)."
  type        = number
  default     = null

  validation {
    condition     = var.max_delivery_attempts == null || try(var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts, false)
    error_message = "max_delivery_attempts must be a whole number between 5 and 100, or null."
  }
}

variable "min_retry_backoff_seconds" {
  description = "Shortest wait before a failed or handed-back delivery is retried (exponential backoff starts here; Pub/Sub allows 0-600). Null: topology.json (10)."
  type        = number
  default     = null

  validation {
    condition     = var.min_retry_backoff_seconds == null || try(var.min_retry_backoff_seconds >= 0 && var.min_retry_backoff_seconds <= 600, false)
    error_message = "min_retry_backoff_seconds must be between 0 and 600, or null."
  }
}

variable "max_retry_backoff_seconds" {
  description = "Longest wait between retries (exponential backoff stops growing here; Pub/Sub allows 0-600). Must not be below min_retry_backoff_seconds, nor above slack_hold_seconds while pacing is on. Null: topology.json (20)."
  type        = number
  default     = null

  validation {
    condition     = var.max_retry_backoff_seconds == null || try(var.max_retry_backoff_seconds >= 0 && var.max_retry_backoff_seconds <= 600, false)
    error_message = "max_retry_backoff_seconds must be between 0 and 600, or null."
  }
}

variable "dead_letter_retention_days" {
  description = "How long undelivered notifications are kept on the dead-letter subscription for the replay tool (1-31 days)."
  type        = number
  default     = 7

  validation {
    condition     = var.dead_letter_retention_days >= 1 && var.dead_letter_retention_days <= 31 && floor(var.dead_letter_retention_days) == var.dead_letter_retention_days
    error_message = "dead_letter_retention_days must be a whole number between 1 and 31."
  }
}

# --- De-duplication (Firestore) ------------------------------------------------

variable "dedup_enabled" {
  description = "De-duplicate notifications through Firestore claims. False: DEDUP_COLLECTION is empty and no Firestore resources or roles are created."
  type        = bool
  default     = true
}

variable "dedup_collection" {
  description = "Firestore collection holding the claim documents (DEDUP_COLLECTION); the TTL policy is set on its expires_at field."
  type        = string
  default     = "slack_notifier_claims"

  validation {
    # Firestore reserves collection ids of the form __name__ and splits paths at /;
    # refusing every leading __ keeps clear of the reserved ids whatever their end.
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.dedup_collection)) && !startswith(var.dedup_collection, "__")
    error_message = "dedup_collection must be 1-100 letters, digits, _ or - (no /), and not start with __ (Firestore reserves __name__ ids)."
  }
}

variable "existing_firestore_database" {
  description = "ID of an existing Firestore (native mode) database to use, e.g. \"(default)\". Empty: the module creates a database named <name_prefix>-dedup."
  type        = string
  default     = ""

  validation {
    condition     = var.existing_firestore_database == "" || var.existing_firestore_database == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.existing_firestore_database))
    error_message = "existing_firestore_database must be \"(default)\" or a database ID (4-63 lowercase letters, digits, hyphens)."
  }
}

variable "firestore_location" {
  description = "Location of the Firestore database the module creates. Null: region."
  type        = string
  default     = null
}

variable "dedup_lease_seconds" {
  description = "How long a pending claim blocks redeliveries (DEDUP_LEASE_SECONDS). Null: the function timeout. Must not be shorter than the function timeout."
  type        = number
  default     = null

  validation {
    condition     = var.dedup_lease_seconds == null || try(var.dedup_lease_seconds >= 10 && var.dedup_lease_seconds <= 3600, false)
    error_message = "dedup_lease_seconds must be between 10 and 3600 seconds, or null."
  }
}

variable "dedup_ttl_days" {
  description = "Days a claim document lives before Firestore's TTL policy deletes it (DEDUP_TTL_DAYS)."
  type        = number
  default     = 7

  validation {
    condition     = var.dedup_ttl_days >= 1 && var.dedup_ttl_days <= 365 && floor(var.dedup_ttl_days) == var.dedup_ttl_days
    error_message = "dedup_ttl_days must be a whole number between 1 and 365."
  }
}

# --- Routing table (ROUTES) -------------------------------------------------------

variable "routes" {
  description = "Routing rules (ROUTES): the first rule whose match fits a run's pipeline name (glob) and PipelineJob labels (lowercase key = glob) sends it to its destinations (channel: Slack, google_chat: webhook names, sms: E.164 numbers), with an optional mention, on_failure_only and stuck_after_hours. The stub's own attributes still win; no match: slack_channel_id, google_chat_spaces and sms_to."
  type = list(object({
    match = optional(object({
      pipeline = optional(string)
      labels   = optional(map(string))
    }))
    channel           = optional(string)
    google_chat       = optional(list(string))
    sms               = optional(list(string))
    pagerduty         = optional(list(string))
    teams             = optional(list(string))
    severity          = optional(string)
    mention           = optional(string)
    on_failure_only   = optional(bool)
    stuck_after_hours = optional(number)
  }))
  default = []

  # The same rules as parse_routes in function/notifier/rules.py, so a table
  # Terraform accepts never stops the function at start-up (a test runs both).
  validation {
    condition     = length(var.routes) <= 100
    error_message = "routes holds at most 100 rules."
  }

  validation {
    condition = alltrue([
      for rule in var.routes :
      rule.channel == null || rule.channel == "" ? length(coalesce(rule.google_chat, [])) + length(coalesce(rule.sms, [])) + length(coalesce(rule.pagerduty, [])) + length(coalesce(rule.teams, [])) > 0 : can(regex("^[CGD][A-Z0-9]{2,40}$", rule.channel))
    ])
    error_message = "Every route's channel must be a Slack channel ID such as C0123ABCD (not a #name); it may be left out only when the route names google_chat, sms, pagerduty or teams destinations."
  }

  validation {
    condition = alltrue([
      for rule in var.routes :
      length(coalesce(rule.pagerduty, [])) <= 10 && length(coalesce(rule.teams, [])) <= 10 && alltrue([for name in concat(coalesce(rule.pagerduty, []), coalesce(rule.teams, [])) : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", name))])
    ])
    error_message = "A route's pagerduty and teams must each list at most 10 names (lowercase letters, digits, _ and -), as named in their secrets."
  }

  validation {
    condition     = alltrue([for rule in var.routes : rule.severity == null || contains(["critical", "error", "warning", "info"], coalesce(rule.severity, "error"))])
    error_message = "A route's severity (of its PagerDuty incidents) must be critical, error, warning or info."
  }

  validation {
    condition = alltrue([
      for rule in var.routes :
      length(coalesce(rule.google_chat, [])) <= 10 && alltrue([for name in coalesce(rule.google_chat, []) : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", name))])
    ])
    error_message = "A route's google_chat must list at most 10 webhook names (lowercase letters, digits, _ and -), as named in the webhooks' secret."
  }

  validation {
    condition = alltrue([
      for rule in var.routes :
      length(coalesce(rule.sms, [])) <= 10 && alltrue([for number in coalesce(rule.sms, []) : can(regex("^\\+[1-9][0-9]{6,14}$", number))])
    ])
    error_message = "A route's sms must list at most 10 phone numbers in E.164 form, such as +15551234567."
  }

  validation {
    condition = alltrue([
      for rule in var.routes :
      rule.mention == null || rule.mention == "" || (can(regex("^(<(!subteam\\^[A-Z0-9]{1,40}|@[UW][A-Z0-9]{1,40}|!here|!channel)(\\|[^<>]{0,80})?>\\s{0,4}){1,10}$", rule.mention)) && can(regex("^(?s).{1,1000}$", rule.mention)))
    ])
    error_message = "A route's mention must be one to ten Slack mentions such as <!subteam^S0123ABCD>, <@U0123ABCD> or <!here> (at most 1000 characters)."
  }

  validation {
    # (?s). counts code points, as the function's len() does; [[:graph:]]
    # (a visible ASCII character) keeps whitespace-only globs out.
    condition = alltrue([
      for rule in var.routes :
      try(rule.match.pipeline, null) == null || (can(regex("^(?s).{1,200}$", rule.match.pipeline)) && can(regex("[[:graph:]]", rule.match.pipeline)))
    ])
    error_message = "A route's match.pipeline must be a glob of at most 200 characters with at least one visible character, such as churn-*."
  }

  validation {
    condition = alltrue(flatten([
      for rule in var.routes : [
        for key, glob in coalesce(try(rule.match.labels, null), {}) :
        can(regex("^[a-z][a-z0-9_-]{0,62}$", key)) && can(regex("^[a-z0-9_*?\\[\\]!-]{0,63}$", glob))
      ]
    ]))
    error_message = "A route's match.labels must map GCP label keys (lowercase, starting with a letter) to lowercase globs: GCP label values are lowercase."
  }

  validation {
    # The function reads numbers of at most 100 characters; 1/3 would render
    # as 150 digits.
    condition = alltrue([
      for rule in var.routes :
      rule.stuck_after_hours == null || try(rule.stuck_after_hours >= 0.5 && rule.stuck_after_hours <= 720 && length(jsonencode(rule.stuck_after_hours)) <= 100, false)
    ])
    error_message = "A route's stuck_after_hours must be between 0.5 and 720 hours, written with at most 100 characters."
  }

  validation {
    # The function reads at most 32 KiB from one variable. base64 length is
    # 4 * ceil(bytes / 3): at most 43688 keeps the UTF-8 JSON under 32766 bytes.
    condition     = length(base64encode(jsonencode(var.routes))) <= 43688
    error_message = "routes is too large: its JSON (ROUTES) must stay under 32 KiB."
  }
}

# --- Job events, extra projects ----------------------------------------------------

variable "job_events_enabled" {
  description = "Also report runs from Vertex AI's own job events: a Cloud Logging sink per project (project_id and extra_projects) sends the final-state entries to the status topic. False: only the exit-handler stub reports."
  type        = bool
  default     = true
}

variable "extra_projects" {
  description = "IDs of further projects whose pipelines this notifier covers: each gets a job-event sink into the status topic (when job_events_enabled), grants the function read access to its pipeline jobs and task logs there (custom roles: enrichment and the sweep), and joins ALLOWED_PROJECTS by id and number."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for project in var.extra_projects : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", project))])
    error_message = "extra_projects must hold project IDs (6-30 characters: lowercase letters, digits, hyphens; starts with a letter), not project numbers."
  }

  validation {
    condition     = length(distinct(var.extra_projects)) == length(var.extra_projects)
    error_message = "extra_projects must not repeat a project."
  }
}

variable "pipeline_regions" {
  description = "Regions whose pipelines the notifier covers, in every covered project (ALLOWED_REGIONS): the function reads, sweeps and reports jobs of these regions only, and builds API endpoints from no other region. Empty: [region]."
  type        = list(string)
  default     = []

  validation {
    # The function builds {region}-aiplatform.googleapis.com from these: a strict
    # grammar, nothing that could carry a host, port, path or separator.
    condition     = alltrue([for region in var.pipeline_regions : can(regex("^[a-z]{2,20}-[a-z]{2,20}[1-9][0-9]?$", region))])
    error_message = "pipeline_regions must hold Google Cloud regions such as us-central1 or europe-west4 (2-20 lowercase letters, a hyphen, 2-20 more, then 1-99)."
  }

  validation {
    condition     = length(distinct(var.pipeline_regions)) == length(var.pipeline_regions)
    error_message = "pipeline_regions must not repeat a region."
  }
}

# --- Sweep for hung runs -----------------------------------------------------------

variable "sweep_enabled" {
  description = "Run the sweep for hung runs: Cloud Scheduler publishes {\"action\": \"sweep\"} to a sweep topic that pushes to the function, which warns once per PipelineJob still running after sweep_after_hours."
  type        = bool
  default     = true
}

variable "sweep_schedule" {
  description = "When the sweep runs: a cron expression of five fields (Cloud Scheduler, unix-cron)."
  type        = string
  default     = "*/30 * * * *"

  validation {
    condition     = can(regex("^[0-9*/,-]+( [0-9A-Za-z*/,?-]+){4}$", var.sweep_schedule))
    error_message = "sweep_schedule must be a five-field cron expression such as \"*/30 * * * *\"."
  }
}

variable "sweep_time_zone" {
  description = "Time zone the sweep_schedule is read in (a tz database name such as Europe/Berlin)."
  type        = string
  default     = "Etc/UTC"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", var.sweep_time_zone))
    error_message = "sweep_time_zone must be a tz database name such as Etc/UTC or America/New_York."
  }
}

variable "digest_enabled" {
  description = "Send the weekly digest: Cloud Scheduler publishes {\"action\": \"digest\"} to the sweep topic on digest_schedule, and each Slack channel and Google Chat space that was sent runs in the period gets one message of their figures (DIGEST_ENABLED). Needs sweep_enabled and run history (dedup_enabled, run_history_days above 0)."
  type        = bool
  default     = true
}

variable "digest_schedule" {
  description = "When the weekly digest is sent: a cron expression of five fields (Cloud Scheduler, unix-cron); Monday 09:00 by default. Each digest covers the 7 days before it (DIGEST_DAYS)."
  type        = string
  default     = "0 9 * * 1"

  validation {
    condition     = can(regex("^[0-9*/,-]+( [0-9A-Za-z*/,?-]+){4}$", var.digest_schedule))
    error_message = "digest_schedule must be a five-field cron expression such as \"0 9 * * 1\"."
  }
}

variable "digest_time_zone" {
  description = "Time zone the digest_schedule is read in (a tz database name such as Europe/Berlin)."
  type        = string
  default     = "Etc/UTC"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", var.digest_time_zone))
    error_message = "digest_time_zone must be a tz database name such as Etc/UTC or America/New_York."
  }
}

variable "sweep_regions" {
  description = "Regions whose PipelineJobs the sweep lists, in every covered project (SWEEP_REGIONS); each must be one of pipeline_regions. Empty: pipeline_regions."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for region in var.sweep_regions : can(regex("^[a-z]{2,20}-[a-z]{2,20}[1-9][0-9]?$", region))])
    error_message = "sweep_regions must hold Google Cloud regions such as us-central1."
  }

  validation {
    condition     = length(distinct(var.sweep_regions)) == length(var.sweep_regions)
    error_message = "sweep_regions must not repeat a region."
  }
}

variable "sweep_min_interval_minutes" {
  description = "At most one sweep per this many minutes (SWEEP_MIN_INTERVAL_MINUTES, a Firestore claim in the function): a trigger sooner after the last sweep is acknowledged and skipped. Must be shorter than the gap between two runs of sweep_schedule, or scheduled sweeps are skipped."
  type        = number
  default     = 10

  validation {
    condition     = var.sweep_min_interval_minutes >= 1 && var.sweep_min_interval_minutes <= 1440 && floor(var.sweep_min_interval_minutes) == var.sweep_min_interval_minutes
    error_message = "sweep_min_interval_minutes must be a whole number of minutes between 1 and 1440 (a day)."
  }
}

variable "sweep_after_hours" {
  description = "A run still RUNNING or PENDING this many hours after it was created gets one \"still running\" warning (SWEEP_AFTER_HOURS); a route's stuck_after_hours overrides it."
  type        = number
  default     = 12

  validation {
    condition     = var.sweep_after_hours >= 0.5 && var.sweep_after_hours <= 720
    error_message = "sweep_after_hours must be between 0.5 and 720."
  }
}

variable "check_schedules" {
  description = "Each sweep also lists the Vertex AI Schedules of the covered projects and regions and warns once about a missed slot, a failed run creation and a schedule that ended (CHECK_SCHEDULES)."
  type        = bool
  default     = true
}

variable "schedule_grace_minutes" {
  description = "How late an ACTIVE schedule's run may start before its slot counts as missed (SCHEDULE_GRACE_MINUTES)."
  type        = number
  default     = 30

  validation {
    condition     = var.schedule_grace_minutes >= 1 && var.schedule_grace_minutes <= 1440
    error_message = "schedule_grace_minutes must be between 1 and 1440."
  }
}

# --- The notifier's own health -------------------------------------------------------

variable "alert_notification_channels" {
  description = "Cloud Monitoring notification channels (projects/P/notificationChannels/ID) the notifier's health alerts go to: dead letters waiting, and the function answering 5xx. Empty: no alert policies are created."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for channel in var.alert_notification_channels : can(regex("^projects/[a-z0-9-]+/notificationChannels/[0-9]+$", channel))])
    error_message = "alert_notification_channels must hold full channel names such as projects/my-project/notificationChannels/1234567890."
  }
}

variable "alert_5xx_threshold" {
  description = "The 5xx alert fires when the function answers more than this many requests with a 5xx status within 10 minutes (a rolling window)."
  type        = number
  default     = 5

  validation {
    condition     = var.alert_5xx_threshold >= 0 && var.alert_5xx_threshold <= 10000 && floor(var.alert_5xx_threshold) == var.alert_5xx_threshold
    error_message = "alert_5xx_threshold must be a whole number between 0 and 10000."
  }
}

# --- Threads per failing streak (state in the de-duplication database) ----------

variable "slack_threads" {
  description = "One Slack thread per failing streak of a pipeline in a channel (SLACK_THREADS): the first failure is posted, later failures reply in its thread and update it, the first success replies, shown in the channel. Only with dedup_enabled: the state lives in the same Firestore database."
  type        = bool
  default     = true
}

variable "notify_on_recovery" {
  description = "Send the recovery notice (the first success after a failing streak) even where on_failure_only is set (NOTIFY_ON_RECOVERY)."
  type        = bool
  default     = true
}

variable "streak_expiry_days" {
  description = "Days after which a streak's root is left alone and its next failure starts a new root, the count going on (STREAK_EXPIRY_DAYS)."
  type        = number
  default     = 14

  validation {
    condition     = var.streak_expiry_days >= 1 && var.streak_expiry_days <= 365 && floor(var.streak_expiry_days) == var.streak_expiry_days
    error_message = "streak_expiry_days must be a whole number between 1 and 365."
  }
}

variable "streaks_collection" {
  description = "Firestore collection holding one streak document per pipeline and channel (STREAKS_COLLECTION); must differ from dedup_collection. With threads on, a TTL policy deletes its documents after their expires_at."
  type        = string
  default     = "slack_notifier_streaks"

  validation {
    # As dedup_collection: no /, and no leading __ (Firestore reserves __name__ ids).
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.streaks_collection)) && !startswith(var.streaks_collection, "__")
    error_message = "streaks_collection must be 1-100 letters, digits, _ or - (no /), and not start with __ (Firestore reserves __name__ ids)."
  }
}

# --- Google Chat and SMS ---------------------------------------------------------

variable "google_chat_enabled" {
  description = "Create the Google Chat webhooks' secret container (<name_prefix>-google-chat-webhooks, a JSON object of webhook name -> incoming-webhook URL, version added out of band) and hand it to the function (GOOGLE_CHAT_WEBHOOKS)."
  type        = bool
  default     = false
}

variable "google_chat_spaces" {
  description = "Names of webhooks (keys of the webhooks' secret) that get every notification no route sends elsewhere (GOOGLE_CHAT_SPACES)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.google_chat_spaces : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", name))])
    error_message = "google_chat_spaces must hold webhook names: lowercase letters, digits, _ and -."
  }
}

variable "sms_enabled" {
  description = "Create Twilio's secret containers (<name_prefix>-twilio-account-sid and -auth-token, versions added out of band) and hand them to the function (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)."
  type        = bool
  default     = false
}

variable "twilio_from" {
  description = "The SMS sender (TWILIO_FROM): a Twilio number in E.164 form or a Messaging Service SID (MG...). Required with sms_enabled."
  type        = string
  default     = ""

  validation {
    condition     = var.twilio_from == "" || can(regex("^(\\+[1-9][0-9]{6,14}|MG[0-9a-f]{32})$", var.twilio_from))
    error_message = "twilio_from must be an E.164 number such as +15005550006 or a Messaging Service SID (MG followed by 32 hex digits)."
  }
}

variable "sms_to" {
  description = "Phone numbers (E.164) that get an SMS for every run no route sends elsewhere (SMS_TO)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for number in var.sms_to : can(regex("^\\+[1-9][0-9]{6,14}$", number))])
    error_message = "sms_to must hold phone numbers in E.164 form, such as +15551234567."
  }
}

variable "sms_on_failure_only" {
  description = "Text only FAILED runs (SMS_ON_FAILURE_ONLY); false: every state a route would post, as for Slack."
  type        = bool
  default     = true
}

# --- Run history (history.tf) ------------------------------------------------------

variable "run_history_days" {
  description = "Days a run stays in the history after it ends (RUN_HISTORY_DAYS); 0 turns run history off (no slow-run line, fixed sweep thresholds). Needs dedup_enabled: the history lives in the same database."
  type        = number
  default     = 90

  validation {
    condition     = var.run_history_days == 0 || (var.run_history_days >= 1 && var.run_history_days <= 3650 && floor(var.run_history_days) == var.run_history_days)
    error_message = "run_history_days must be 0 (off) or a whole number between 1 and 3650."
  }
}

variable "runs_collection" {
  description = "Firestore collection of the run history (RUNS_COLLECTION), one document per run; must differ from dedup_collection and streaks_collection."
  type        = string
  default     = "pipeline_runs"

  validation {
    # As dedup_collection: no /, and no leading __ (Firestore reserves __name__ ids).
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.runs_collection)) && !startswith(var.runs_collection, "__")
    error_message = "runs_collection must be 1-100 letters, digits, _ or - (no /), and not start with __ (Firestore reserves __name__ ids)."
  }
}

variable "baseline_min_runs" {
  description = "Earlier successful, not fully cached runs a pipeline needs before its runs are compared with them (BASELINE_MIN_RUNS)."
  type        = number
  default     = 5

  validation {
    condition     = var.baseline_min_runs >= 2 && var.baseline_min_runs <= 1000 && floor(var.baseline_min_runs) == var.baseline_min_runs
    error_message = "baseline_min_runs must be a whole number between 2 and 1000."
  }
}

variable "duration_factor" {
  description = "A run is slower than usual beyond this times the median of its pipeline's usual runs, and late (still running) beyond this times their p95 (DURATION_FACTOR)."
  type        = number
  default     = 2.0

  validation {
    condition     = var.duration_factor >= 1.1 && var.duration_factor <= 100
    error_message = "duration_factor must be between 1.1 and 100."
  }
}

variable "duration_min_extra_minutes" {
  description = "The least a run must exceed its usual time by, in minutes, to be called slow or late (DURATION_MIN_EXTRA)."
  type        = number
  default     = 15

  validation {
    condition     = var.duration_min_extra_minutes >= 0 && var.duration_min_extra_minutes <= 10080
    error_message = "duration_min_extra_minutes must be between 0 and 10080 (a week)."
  }
}

variable "notify_slow_success" {
  description = "Post a slower-than-usual success even where on_failure_only skips successes (NOTIFY_SLOW_SUCCESS)."
  type        = bool
  default     = true
}
# --- PagerDuty and Microsoft Teams; model results ----------------------------------

variable "pagerduty_enabled" {
  description = "Create the PagerDuty routing keys' secret container (<name_prefix>-pagerduty-routing-keys, a JSON object of service name -> Events API v2 routing key, version added out of band) and hand it to the function (PAGERDUTY_ROUTING_KEYS)."
  type        = bool
  default     = false
}

variable "pagerduty_services" {
  description = "Names of PagerDuty services (keys of the routing keys' secret) paged for every failure no route sends elsewhere (PAGERDUTY_SERVICES)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.pagerduty_services : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", name))])
    error_message = "pagerduty_services must hold service names: lowercase letters, digits, _ and -."
  }
}

variable "pagerduty_severity" {
  description = "An incident's severity when the run's route sets none (PAGERDUTY_SEVERITY): critical, error, warning or info."
  type        = string
  default     = "error"

  validation {
    condition     = contains(["critical", "error", "warning", "info"], var.pagerduty_severity)
    error_message = "pagerduty_severity must be critical, error, warning or info."
  }
}

variable "teams_enabled" {
  description = "Create the Teams webhooks' secret container (<name_prefix>-teams-webhooks, a JSON object of webhook name -> Workflows trigger URL, version added out of band) and hand it to the function (TEAMS_WEBHOOKS)."
  type        = bool
  default     = false
}

variable "teams_channels" {
  description = "Names of Teams webhooks (keys of the webhooks' secret) that get every run no route sends elsewhere (TEAMS_CHANNELS)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.teams_channels : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", name))])
    error_message = "teams_channels must hold webhook names: lowercase letters, digits, _ and -."
  }
}

variable "notify_not_blessed" {
  description = "Send a success whose model was not blessed even under on_failure_only (NOTIFY_NOT_BLESSED)."
  type        = bool
  default     = true
}

variable "slack_workspace_url" {
  description = "The Slack workspace's address, such as https://acme.slack.com (SLACK_WORKSPACE_URL): PagerDuty incidents then link to their streak's Slack thread."
  type        = string
  default     = ""

  validation {
    condition     = var.slack_workspace_url == "" || can(regex("^https://[a-z0-9][a-z0-9-]{0,62}(\\.enterprise)?\\.slack\\.com$", var.slack_workspace_url))
    error_message = "slack_workspace_url must be a workspace address such as https://acme.slack.com."
  }
}

# --- Acting from Slack (actions.tf) ------------------------------------------------

variable "enable_actions" {
  description = "Buttons on failure and \"still running\" messages (Acknowledge, Mute 24 h) and the interactivity function Slack calls when one is clicked, with its signing secret's container (<name_prefix>-slack-signing-secret, version added out of band) and the actions topic. Needs dedup_enabled. See docs/actions.md."
  type        = bool
  default     = false
}

variable "allow_actions" {
  description = "The opt-in actions (ALLOW_ACTIONS): \"cancel\" (a running job, pipelineJobs.cancel) and \"retry\" (a failed one, pipelineJobs.create); each adds exactly its permission to the notifier's identity."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for action in var.allow_actions : contains(["cancel", "retry"], action)])
    error_message = "allow_actions may hold \"cancel\" and \"retry\" only."
  }
}

variable "action_users" {
  description = "Slack user ids who may act (ACTION_USERS): U0123ABCD for every action, or action:U0123ABCD for one (ack, mute, cancel, retry). Cancel and retry need someone named; acknowledge and mute are anyone's in the channel unless someone is named for them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for entry in var.action_users : can(regex("^((ack|mute|cancel|retry):)?[UW][A-Z0-9]{2,20}$", entry))])
    error_message = "action_users must hold Slack user ids (U0123ABCD), each optionally prefixed with ack:, mute:, cancel: or retry:."
  }
}

variable "action_user_groups" {
  description = "Slack user-group ids who may act (ACTION_USER_GROUPS), as action_users (S0123ABCD or action:S0123ABCD); the bot token then needs usergroups:read."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for entry in var.action_user_groups : can(regex("^((ack|mute|cancel|retry):)?S[A-Z0-9]{2,20}$", entry))])
    error_message = "action_user_groups must hold Slack user-group ids (S0123ABCD), each optionally prefixed with ack:, mute:, cancel: or retry:."
  }
}

variable "retry_service_accounts" {
  description = "The only service accounts a retried run may run as (RETRY_SERVICE_ACCOUNTS): a failed run is retried under its own account, which must be one of these; the notifier may act as each, and as no other. Accounts of project_id."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for account in var.retry_service_accounts : can(regex("^([a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com|[1-9][0-9]{0,19}-compute@developer\\.gserviceaccount\\.com)$", account))])
    error_message = "retry_service_accounts must hold service account emails (name@project.iam.gserviceaccount.com, or NUMBER-compute@developer.gserviceaccount.com)."
  }
}

variable "mutes_collection" {
  description = "Firestore collection of acknowledgements and mutes, one document per pipeline (MUTES_COLLECTION); must differ from dedup_collection and streaks_collection."
  type        = string
  default     = "slack_notifier_mutes"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.mutes_collection)) && !startswith(var.mutes_collection, "__")
    error_message = "mutes_collection must be 1-100 letters, digits, _ or - (no /), and not start with __ (Firestore reserves __name__ ids)."
  }
}

variable "actions_min_instances" {
  description = "Instances of the interactivity function kept warm (0: a click after a quiet spell waits for a cold start, about 2 seconds, within Slack's 3; 1 keeps one warm at idle cost)."
  type        = number
  default     = 0

  validation {
    condition     = var.actions_min_instances >= 0 && var.actions_min_instances <= 3 && floor(var.actions_min_instances) == var.actions_min_instances
    error_message = "actions_min_instances must be a whole number from 0 to 3."
  }
}
