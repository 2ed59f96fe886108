# Run history (docs/history.md): one Firestore document per pipeline run in the
# de-duplication database, the "slower than usual" line and the sweep's
# history-based late threshold. The function writes each document once, with
# expires_at = the run's end + run_history_days; the TTL policy below deletes it
# then. The composite index is exactly that of the baseline query, listed with the
# others in function/notifier/state/history.py (the weekly digest's needs none).


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
