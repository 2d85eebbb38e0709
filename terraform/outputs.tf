output "input_bucket" {
  description = "Bucket to upload images and sidecars to (each upload triggers ingest)."
  value       = google_storage_bucket.input.name
}

output "output_bucket" {
  description = "Bucket the pipeline writes edited images, metadata and error records to (temporary state under _bananaflow/)."
  value       = google_storage_bucket.output.name
}

output "source_bucket" {
  description = "Bucket holding the function source zips."
  value       = google_storage_bucket.sources.name
}

output "topics" {
  description = "Pub/Sub topics: name and id of jobs, results, dead-letter, requests (publish request messages here), the requests dead-letter topic, budget, and batch-tick (Cloud Scheduler's ticks of the batch tier)."
  value = {
    jobs        = { name = google_pubsub_topic.jobs.name, id = google_pubsub_topic.jobs.id }
    results     = { name = google_pubsub_topic.results.name, id = google_pubsub_topic.results.id }
    dead_letter = { name = google_pubsub_topic.dead_letter.name, id = google_pubsub_topic.dead_letter.id }
    requests    = { name = google_pubsub_topic.requests.name, id = google_pubsub_topic.requests.id }
    requests_dead_letter = {
      name = google_pubsub_topic.requests_dead_letter.name
      id   = google_pubsub_topic.requests_dead_letter.id
    }
    budget     = { name = google_pubsub_topic.budget.name, id = google_pubsub_topic.budget.id }
    batch_tick = { name = google_pubsub_topic.batch_tick.name, id = google_pubsub_topic.batch_tick.id }
  }
}

output "subscriptions" {
  description = "Pub/Sub subscriptions: the worker's push subscription, the dead-letter push and pull (archive) subscriptions, the results pull subscription (null when disabled), the requests push and dead-letter archive subscriptions, the filtered results subscriptions by key, and the batch tick's push subscription."
  value = {
    jobs_push                    = google_pubsub_subscription.jobs_push.name
    dead_letter_push             = google_pubsub_subscription.dead_letter_push.name
    dead_letter_archive          = google_pubsub_subscription.dead_letter_archive.name
    requests_push                = google_pubsub_subscription.requests_push.name
    requests_dead_letter_archive = google_pubsub_subscription.requests_dead_letter_archive.name
    results_filtered             = { for k, s in google_pubsub_subscription.results_filtered : k => s.name }
    results_pull                 = try(google_pubsub_subscription.results_pull[0].name, null)
    batch_tick_push              = google_pubsub_subscription.batch_tick_push.name
  }
}

output "function_urls" {
  description = "HTTPS URLs of the functions (authenticated; internal-only ingress by default)."
  value = {
    ingest       = google_cloudfunctions2_function.ingest.service_config[0].uri
    worker       = google_cloudfunctions2_function.worker.service_config[0].uri
    dead_letter  = google_cloudfunctions2_function.dead_letter.service_config[0].uri
    requests     = google_cloudfunctions2_function.requests.service_config[0].uri
    budget_guard = google_cloudfunctions2_function.budget_guard.service_config[0].uri
    batch_tick   = google_cloudfunctions2_function.batch_tick.service_config[0].uri
  }
}

output "service_accounts" {
  description = "Service account emails: one runtime account per function, the trigger, the push invoker and the build account."
  value = {
    ingest       = google_service_account.ingest.email
    worker       = google_service_account.worker.email
    dead_letter  = google_service_account.dead_letter.email
    requests     = google_service_account.requests.email
    budget_guard = google_service_account.budget_guard.email
    batch_tick   = google_service_account.batch_tick.email
    trigger      = google_service_account.trigger.email
    invoker      = google_service_account.invoker.email
    build        = google_service_account.build.email
  }
}

output "upload_example_command" {
  description = "Ready-to-copy command that uploads the repository's example drop (run it from the repository root)."
  value       = "gcloud storage cp -r examples/drop/* gs://${google_storage_bucket.input.name}/"
}

output "cost_ledger_table" {
  description = "BigQuery table (project.dataset.table) the results topic writes one row per finished job into; null when cost_ledger.enabled = false."
  value       = var.cost_ledger.enabled ? "${var.project_id}.${google_bigquery_table.ledger_results[0].dataset_id}.${google_bigquery_table.ledger_results[0].table_id}" : null
}

output "quota_sizing" {
  description = "How the worker is sized for images_per_minute (docs/quota.md): each instance's share, the concurrency, the most model calls in flight, and the largest drop the delivery attempts cover when every instance is busy (refused pushes count as attempts)."
  value = {
    images_per_minute    = var.images_per_minute
    share_per_instance   = local.ipm_share
    worker_concurrency   = local.worker_concurrency
    max_in_flight        = local.worker_concurrency * var.worker_max_instances
    slot_wait_seconds    = local.quota_slot_wait_s
    retry_budget_minutes = floor(local.retry_budget_seconds / 60)
    largest_drop_jobs    = var.images_per_minute == null ? null : floor(coalesce(var.images_per_minute, 0) * local.retry_budget_seconds / 60)
  }
}
