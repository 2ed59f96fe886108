resource "google_firestore_database" "dedup" {
  count = local.create_firestore_database ? 1 : 0

  project     = var.project_id
  name        = "${var.name_prefix}-dedup"
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"

  # The database only holds short-lived de-duplication claims and one small
  # streak document per pipeline and channel (threads; losing them costs at
  # most a new thread root), both deleted by TTL policies anyway. `terraform
  # destroy` should remove it rather than leave an orphan that blocks the next
  # apply with the same name.
  delete_protection_state = "DELETE_PROTECTION_DISABLED"
  deletion_policy         = "DELETE"
}

# The function stamps every claim with expires_at; this policy deletes claims
# after that time so the collection does not grow without bound.
resource "google_firestore_field" "dedup_ttl" {
  count = var.dedup_enabled ? 1 : 0

  project    = var.project_id
  database   = local.firestore_database
  collection = var.dedup_collection
  field      = "expires_at"

  ttl_config {}

  # An empty index_config turns off single-field indexes on expires_at: no
  # query uses it, and indexing a monotonically increasing timestamp only adds
  # write cost and hotspots.
  index_config {}
}

# The function stamps every streak document with expires_at as well (it moves on
# with each update); this policy deletes a streak nobody has touched since, so a
# pipeline that stops running, or a publisher inventing pipeline names, leaves
# nothing behind for good. Only with threads on, the only time streaks are kept.
resource "google_firestore_field" "streaks_ttl" {
  count = local.slack_threads ? 1 : 0

  project    = var.project_id
  database   = local.firestore_database
  collection = var.streaks_collection
  field      = "expires_at"

  ttl_config {}

  # As for the claims: no query reads expires_at, so no single-field index on it.
  index_config {}
}
