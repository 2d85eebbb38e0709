# Cost ledger with no code in the path: every result event (one per finished job, at least once)
# is written by a Pub/Sub BigQuery subscription into a table whose columns are the event's fields
# (ledger-schema.json, kept in step with shared/pipeline/result-event.ts by a test). SQL for cost
# by day, model and tag, and failures by code: docs/cost-ledger.md.

locals {
  ledger_dataset_id = "${replace(var.name_prefix, "-", "_")}_ledger"
}

resource "google_bigquery_dataset" "ledger" {
  count = var.cost_ledger.enabled ? 1 : 0

  project     = var.project_id
  dataset_id  = local.ledger_dataset_id
  location    = coalesce(var.cost_ledger.location, var.region)
  description = "bananaflow cost ledger: one row per result event (job finished or failed)."
  labels      = local.labels

  # Rows are the bill's evidence: destroy keeps them unless force_destroy says otherwise.
  delete_contents_on_destroy = var.force_destroy

  depends_on = [google_project_service.apis]
}

resource "google_bigquery_table" "ledger_results" {
  count = var.cost_ledger.enabled ? 1 : 0

  project     = var.project_id
  dataset_id  = google_bigquery_dataset.ledger[0].dataset_id
  table_id    = "results"
  description = "Result events of bananaflow jobs (at least once: deduplicate on jobId)."
  labels      = local.labels
  schema      = file("${path.module}/ledger-schema.json")

  time_partitioning {
    type  = "DAY"
    field = "publish_time"
  }
  clustering = ["model", "status"]

  deletion_protection = !var.force_destroy
}

# The Pub/Sub service agent writes the rows; it gets data access to this one table only.
resource "google_bigquery_table_iam_member" "pubsub_agent_ledger_writer" {
  count = var.cost_ledger.enabled ? 1 : 0

  project    = var.project_id
  dataset_id = google_bigquery_table.ledger_results[0].dataset_id
  table_id   = google_bigquery_table.ledger_results[0].table_id
  role       = "roles/bigquery.dataEditor"
  member     = local.pubsub_agent_member
}

resource "google_pubsub_subscription" "results_ledger" {
  count = var.cost_ledger.enabled ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-results-ledger"
  topic   = google_pubsub_topic.results.id
  labels  = local.labels

  # Job results only: request events (request.accepted / request.rejected, attribute "type")
  # cost nothing and have no job.
  filter = "NOT attributes:type"

  bigquery_config {
    table = "${var.project_id}.${google_bigquery_table.ledger_results[0].dataset_id}.${google_bigquery_table.ledger_results[0].table_id}"
    # JSON events map onto the table's columns by name; fields added to the event later are
    # dropped until the table gains a column, instead of stalling the subscription.
    use_table_schema    = true
    drop_unknown_fields = true
    # subscription_name, message_id, publish_time and attributes columns.
    write_metadata = true
  }

  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_bigquery_table_iam_member.pubsub_agent_ledger_writer]
}
