# Five gen2 functions (Cloud Run functions), all nodejs22, each with its own runtime account.
# Only ingest has an event trigger; the others are authenticated HTTP targets of Terraform-managed
# push subscriptions (pubsub.tf, requests.tf, spend-guard.tf), so their retries and dead letters
# are ours.

resource "google_cloudfunctions2_function" "ingest" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-ingest"
  description = "Reads uploads and sidecars from the input bucket, plans jobs, publishes them."
  labels      = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.manifest["ingest"].entryPoint
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["ingest"].name
      }
    }
  }

  service_config {
    available_memory                 = var.ingest_resources.memory
    available_cpu                    = var.ingest_resources.cpu
    timeout_seconds                  = var.ingest_resources.timeout_seconds
    max_instance_count               = var.ingest_resources.max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = var.ingest_resources.concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.ingest.email
    environment_variables            = merge(local.ingest_env, local.model_overrides_env)
  }

  event_trigger {
    event_type            = "google.cloud.storage.object.v1.finalized"
    trigger_region        = lower(google_storage_bucket.input.location)
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email

    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.input.name
    }
  }

  depends_on = [
    google_project_service.apis,
    time_sleep.eventarc_propagation,
    google_storage_bucket_iam_member.runtime,
    google_pubsub_topic_iam_member.runtime,
    google_storage_bucket_iam_member.build_sources_read,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
  ]
}

resource "google_cloudfunctions2_function" "worker" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-worker"
  description = "Runs one Gemini image job per push: writes outputs and metadata, publishes the result."
  labels      = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.manifest["worker"].entryPoint
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["worker"].name
      }
    }
  }

  service_config {
    available_memory = var.worker_memory
    available_cpu    = var.worker_cpu
    timeout_seconds  = var.worker_timeout_seconds
    # concurrency x max instances = the most Gemini requests in flight; with images_per_minute
    # set, each instance holds to its share and the concurrency is capped (locals.tf, docs/quota.md).
    max_instance_count               = var.worker_max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = local.worker_concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.worker.email
    environment_variables            = merge(local.worker_env, local.model_overrides_env, local.vertex_env, local.daily_cap_env, local.quota_env)

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
      condition     = var.worker_concurrency == 1 || tonumber(var.worker_cpu) >= 1
      error_message = "worker_concurrency > 1 needs worker_cpu >= 1 (Cloud Run rule)."
    }
    precondition {
      condition     = var.model_timeout_seconds < var.worker_timeout_seconds
      error_message = "model_timeout_seconds must be below worker_timeout_seconds, or the platform kills the worker before the model call times out."
    }
    precondition {
      condition     = var.flex_timeout_seconds < var.worker_timeout_seconds
      error_message = "flex_timeout_seconds must be below worker_timeout_seconds, or the platform kills the worker before a flex call times out."
    }
    precondition {
      condition     = var.max_retry_wait_seconds < var.worker_timeout_seconds
      error_message = "max_retry_wait_seconds must be below worker_timeout_seconds."
    }
    precondition {
      condition     = var.images_per_minute == null || coalesce(var.images_per_minute, 0) >= var.worker_max_instances
      error_message = "images_per_minute must be at least worker_max_instances: each instance needs a share of 1 image a minute or more."
    }
    precondition {
      condition     = local.ipm_share == null || local.quota_slot_wait_s >= 60 / coalesce(local.ipm_share, 1)
      error_message = "worker_timeout_seconds - model_timeout_seconds - quota_hold_seconds must leave a push time to wait for its slot (60 / its instance's share of images_per_minute seconds): raise the timeout or lower the hold (docs/quota.md)."
    }
    precondition {
      condition     = local.use_vertex || var.gemini_api_key_secret_id != null
      error_message = "gemini_backend = \"gemini-api\" needs gemini_api_key_secret_id."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.runtime,
    google_pubsub_topic_iam_member.runtime,
    google_secret_manager_secret_iam_member.worker_api_key,
    google_project_iam_member.worker_vertex_user,
    google_storage_bucket_iam_member.build_sources_read,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
  ]
}

resource "google_cloudfunctions2_function" "dead_letter" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-dead-letter"
  description = "Writes an error record for every job Pub/Sub dead-lettered."
  labels      = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.manifest["dead-letter"].entryPoint
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["dead_letter"].name
      }
    }
  }

  service_config {
    available_memory                 = var.dead_letter_resources.memory
    available_cpu                    = var.dead_letter_resources.cpu
    timeout_seconds                  = var.dead_letter_resources.timeout_seconds
    max_instance_count               = var.dead_letter_resources.max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = var.dead_letter_resources.concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.dead_letter.email
    environment_variables            = local.dead_letter_env
  }

  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.runtime,
    google_pubsub_topic_iam_member.runtime,
    google_storage_bucket_iam_member.build_sources_read,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
  ]
}

resource "google_cloudfunctions2_function" "requests" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-requests"
  description = "Plans the jobs of request messages (requests topic) and answers them on the results topic."
  labels      = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.manifest["requests"].entryPoint
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["requests"].name
      }
    }
  }

  service_config {
    available_memory                 = var.requests_resources.memory
    available_cpu                    = var.requests_resources.cpu
    timeout_seconds                  = var.requests_resources.timeout_seconds
    max_instance_count               = var.requests_resources.max_instances
    min_instance_count               = 0
    max_instance_request_concurrency = var.requests_resources.concurrency
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.requests.email
    environment_variables            = merge(local.requests_env, local.model_overrides_env)
  }

  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.runtime,
    google_pubsub_topic_iam_member.runtime,
    google_storage_bucket_iam_member.build_sources_read,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
  ]
}

resource "google_cloudfunctions2_function" "budget_guard" {
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-budget-guard"
  description = "Pauses spending when a budget notification reports the budget reached."
  labels      = local.labels

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.manifest["budget-guard"].entryPoint
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["budget_guard"].name
      }
    }
  }

  service_config {
    available_memory                 = "256Mi"
    available_cpu                    = "1"
    timeout_seconds                  = 60
    max_instance_count               = 1
    min_instance_count               = 0
    max_instance_request_concurrency = 1
    ingress_settings                 = var.ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.budget_guard.email
    environment_variables            = local.budget_guard_env
  }

  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.runtime,
    google_storage_bucket_iam_member.build_sources_read,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_artifact_writer,
  ]
}
