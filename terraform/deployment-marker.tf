# `_bananaflow/deployment.json` in both buckets: what the `bananaflow` CLI needs to find the rest of
# the deployment from a gs:// URL (the other bucket, the topics), and how it tells a bananaflow
# bucket from any other. Ingest ignores objects under _bananaflow/, so writing it triggers nothing.

locals {
  deployment_marker = jsonencode({
    schemaVersion = 1
    project       = var.project_id
    namePrefix    = var.name_prefix
    inputBucket   = google_storage_bucket.input.name
    outputBucket  = google_storage_bucket.output.name
    topics = {
      jobs    = google_pubsub_topic.jobs.name
      results = google_pubsub_topic.results.name
    }
    model = var.model
  })
}

resource "google_storage_bucket_object" "deployment_marker" {
  for_each = {
    input  = google_storage_bucket.input.name
    output = google_storage_bucket.output.name
  }

  bucket       = each.value
  name         = "${local.state_prefix}deployment.json"
  content      = local.deployment_marker
  content_type = "application/json"
}
