# Run history (docs/history.md): one Firestore document per pipeline run in the
# de-duplication database, the "slower than usual" line and the sweep's
# history-based late threshold. The function writes each document once, with
# expires_at = the run's end + run_history_days; the TTL policy below deletes it
# then. The composite indexes are exactly those of the queries the function (and
# the weekly digest) runs, listed in function/notifier/state/history.py.

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

locals {
  run_history = var.dedup_enabled && var.run_history_days > 0
}

# The function stamps every run with expires_at (its end + run_history_days);
# this policy deletes the run after it, so the history keeps that many days.
resource "google_firestore_field" "runs_ttl" {
  count = local.run_history ? 1 : 0

  project    = var.project_id
  database   = local.firestore_database
  collection = var.runs_collection
  field      = "expires_at"

  ttl_config {}

  # No query reads expires_at: no single-field index on it.
  index_config {}

  lifecycle {
    precondition {
      condition     = !contains([var.dedup_collection, var.streaks_collection], var.runs_collection)
      error_message = "runs_collection must differ from dedup_collection and streaks_collection: runs, claims and streaks are different things."
    }
  }
}

# A pipeline's usual time: its latest runs that count, ended before the one
# judged, newest first (pipeline_key ==, counts ==, end_time <, order by end_time desc).
resource "google_firestore_index" "runs_baseline" {
  count = local.run_history ? 1 : 0

  project     = var.project_id
  database    = local.firestore_database
  collection  = var.runs_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "pipeline_key"
    order      = "ASCENDING"
  }
  fields {
    field_path = "counts"
    order      = "ASCENDING"
  }
  fields {
    field_path = "end_time"
    order      = "DESCENDING"
  }
}

# The weekly digest: a channel's runs in a period (targets array-contains,
# end_time in [start, end), oldest first).
resource "google_firestore_index" "runs_by_target" {
  count = local.run_history ? 1 : 0

  project     = var.project_id
  database    = local.firestore_database
  collection  = var.runs_collection
  query_scope = "COLLECTION"

  fields {
    field_path   = "targets"
    array_config = "CONTAINS"
  }
  fields {
    field_path = "end_time"
    order      = "ASCENDING"
  }
}

# The weekly digest: one pipeline's runs in a period (pipeline_key ==,
# end_time in [start, end), oldest first).
resource "google_firestore_index" "runs_by_pipeline" {
  count = local.run_history ? 1 : 0

  project     = var.project_id
  database    = local.firestore_database
  collection  = var.runs_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "pipeline_key"
    order      = "ASCENDING"
  }
  fields {
    field_path = "end_time"
    order      = "ASCENDING"
  }
}
