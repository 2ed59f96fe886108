# Vertex AI's own job events as a second source. Vertex AI writes a Cloud
# Logging entry (log aiplatform.googleapis.com/pipeline_job_events, resource
# aiplatform.googleapis.com/PipelineJob) whenever a PipelineJob changes state;
# a sink per covered project forwards the final states into the status topic,
# so runs without the exit-handler stub, and runs whose stub never reported
# (terminated, failed to start), are reported too.
#
# The sinks write into the existing status topic rather than a topic of their
# own: one push subscription, one backoff and dead-letter policy, one
# dead-letter alert and one replay path (replay redrive) serve both sources.
# The function tells a LogEntry from the stub's final status by its shape.

locals {
  job_event_projects = var.job_events_enabled ? toset(local.covered_projects) : toset([])
}

resource "google_logging_project_sink" "job_events" {
  for_each = local.job_event_projects

  project     = each.key
  name        = "${var.name_prefix}-job-events"
  description = "Final states of Vertex AI PipelineJobs, to the ${var.name_prefix} notifier's status topic in ${var.project_id}."
  destination = "pubsub.googleapis.com/${google_pubsub_topic.status.id}"

  # Final states only: a run that is still going is the sweep's business.
  filter = "logName=\"projects/${each.key}/logs/aiplatform.googleapis.com%2Fpipeline_job_events\" AND resource.type=\"aiplatform.googleapis.com/PipelineJob\" AND jsonPayload.state=(\"PIPELINE_STATE_SUCCEEDED\" OR \"PIPELINE_STATE_FAILED\" OR \"PIPELINE_STATE_CANCELLED\")"

  # Each sink writes as a writer identity of its own (Cloud Logging's account
  # for its project), granted publisher on the status topic below, nothing else.
  unique_writer_identity = true
}

# Publish on the status topic only; one grant per sink's writer identity.
resource "google_pubsub_topic_iam_member" "job_event_writers" {
  for_each = local.job_event_projects

  project = var.project_id
  topic   = google_pubsub_topic.status.name
  role    = "roles/pubsub.publisher"
  member  = google_logging_project_sink.job_events[each.key].writer_identity
}
