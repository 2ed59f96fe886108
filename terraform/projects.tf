# The projects this notifier covers: project_id, where it runs, and any
# extra_projects whose pipelines it also reports (their job-event sinks are in
# job_events.tf) and sweeps. The lists themselves are in scope.tf.

# Each extra project's number, for ALLOWED_PROJECTS (scope.tf): jobs name their
# project by number. Reading it needs resourcemanager.projects.get there, which
# whoever may grant roles in the project has.
data "google_project" "extra" {
  for_each = local.extra_projects

  project_id = each.key
}

locals {
  project_numbers = merge(
    { (var.project_id) = data.google_project.this.number },
    { for project, found in data.google_project.extra : project => found.number },
  )
}

# The same custom role as in project_id (iam.tf): the function reads the jobs of
# these projects by name when it enriches their messages, and lists them when it
# sweeps. A project-level custom role cannot be granted in another project, so
# each extra project gets its own.
resource "google_project_iam_custom_role" "function_vertex_reader_extra" {
  for_each = local.extra_projects

  project     = each.key
  role_id     = "${replace(var.name_prefix, "-", "_")}_vertex_reader"
  title       = local.vertex_reader_title
  description = local.vertex_reader_description
  permissions = local.vertex_permissions
}

resource "google_project_iam_member" "function_vertex_reader_extra" {
  for_each = local.extra_projects

  project = each.key
  role    = google_project_iam_custom_role.function_vertex_reader_extra[each.key].id
  member  = "serviceAccount:${google_service_account.function.email}"

  lifecycle {
    precondition {
      condition     = each.key != var.project_id
      error_message = "extra_projects must not contain project_id: the notifier's own project is always covered."
    }
  }
}

# The failed tasks' log lines of runs in an extra project live in that project's
# Cloud Logging: the same one-permission custom role as in project_id (iam.tf),
# created in each extra project (a project-level custom role cannot be granted
# in another project).
resource "google_project_iam_custom_role" "function_log_reader_extra" {
  for_each = local.extra_projects

  project     = each.key
  role_id     = "${replace(var.name_prefix, "-", "_")}_log_reader"
  title       = "Vertex pipeline Slack notifier: read task logs"
  description = "List log entries, to quote a failed pipeline task's own error lines. Nothing else."
  permissions = ["logging.logEntries.list"]
}

resource "google_project_iam_member" "function_log_reader_extra" {
  for_each = local.extra_projects

  project = each.key
  role    = google_project_iam_custom_role.function_log_reader_extra[each.key].id
  member  = "serviceAccount:${google_service_account.function.email}"
}
