# The cloud batch tier (Gemini Batch API: 50% of list price, results within 24 h). Ingest and the
# requests function leave batch-tier jobs as pending markers in the output bucket instead of
# publishing them; every few minutes Cloud Scheduler publishes a tick to the batch-tick topic, whose
# push subscription runs the batch-tick function: it collects finished batches (answers handed to
# the worker through the jobs topic, so outputs, records, result events and dead letters are the
# worker's) and submits the pending jobs whose window is over.

resource "google_pubsub_topic" "batch_tick" {
  project = var.project_id
  name    = "${var.name_prefix}-batch-tick"
  labels  = local.labels

  # A tick nobody received within the hour is worthless: the next one comes anyway.
  message_retention_duration = "3600s"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "batch_tick_push" {
  project = var.project_id
  name    = "${var.name_prefix}-batch-tick"
  topic   = google_pubsub_topic.batch_tick.id
  labels  = local.labels

  # One tick runs up to its timeout; Pub/Sub must not redeliver it meanwhile (the lease would
  # turn the duplicate away anyway).
  ack_deadline_seconds       = min(600, var.batch_tier.timeout_seconds + 30)
  message_retention_duration = "3600s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.batch_tick.service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.batch_tick.name}"

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.batch_tick.service_config[0].uri
    }
  }

  # No dead-letter policy: a tick carries no job, and the schedule sends the next one.
  retry_policy {
    minimum_backoff = "30s"
    maximum_backoff = "300s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker_batch_tick,
    google_service_account_iam_member.pubsub_agent_token_creator_invoker,
  ]
}

# Cloud Scheduler publishes as its service agent; it may publish to the tick topic and nothing else.
resource "google_project_service_identity" "cloudscheduler" {
  provider = google-beta

  project = var.project_id
  service = "cloudscheduler.googleapis.com"

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic_iam_member" "scheduler_batch_tick_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.batch_tick.id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_project_service_identity.cloudscheduler.email}"
}

resource "google_cloud_scheduler_job" "batch_tick" {
  count = local.batch_enabled ? 1 : 0

  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-batch-tick"
  description = "Ticks the batch tier: submits due batch-tier jobs, collects finished Gemini batches."
  schedule    = var.batch_tier.tick_schedule
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.batch_tick.id
    data       = base64encode("{\"tick\":true}")
  }

  depends_on = [google_pubsub_topic_iam_member.scheduler_batch_tick_publisher]
}

resource "google_cloudfunctions2_function" "batch_tick" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-batch-tick"
  description = "Submits batch-tier jobs as Gemini batch jobs and collects finished ones (Cloud Scheduler tick)."
  labels      = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.manifest["batch-tick"].entryPoint
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["batch_tick"].name
      }
    }
  }

  service_config {
    available_memory = var.batch_tier.memory
    available_cpu    = var.batch_tier.cpu
    timeout_seconds  = var.batch_tier.timeout_seconds
    # One tick at a time (it also takes a lease in the output bucket).
    max_instance_count               = 1
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.batch_tick.email
    environment_variables            = merge(local.batch_tick_env, local.model_overrides_env)

    dynamic "secret_environment_variables" {
      for_each = local.use_vertex ? [] : [var.gemini_api_key_secret_id]
      content {
        key        = "GEMINI_API_KEY"
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = var.gemini_api_key_secret_version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.tier != "batch" || local.batch_enabled
      error_message = "tier = \"batch\" needs batch_tier.enabled and gemini_backend = \"gemini-api\" (Vertex AI has no Batch API for the image models)."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.runtime,
    google_pubsub_topic_iam_member.runtime,
    google_secret_manager_secret_iam_member.batch_tick_api_key,
    google_storage_bucket_iam_member.build_sources_read,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "invoker_batch_tick" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.batch_tick.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

# Gemini API: the batch tick reads the same key as the worker (it creates and reads batch jobs).
resource "google_secret_manager_secret_iam_member" "batch_tick_api_key" {
  count = local.use_vertex ? 0 : 1

  project   = var.project_id
  secret_id = var.gemini_api_key_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.runtime_members.batch_tick

  depends_on = [google_project_service.apis]
}
