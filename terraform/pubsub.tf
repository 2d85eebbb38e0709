resource "google_pubsub_topic" "jobs" {
  project = var.project_id
  name    = "${var.name_prefix}-jobs"
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "results" {
  project = var.project_id
  name    = "${var.name_prefix}-results"
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-dead-letter"
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

# Jobs -> worker. Terraform-managed (unlike an Eventarc trigger's subscription) so it can carry a
# retry policy and a dead-letter policy. The path /projects/P/topics/T lets the Functions
# Framework turn the raw push body into a CloudEvent naming its topic.
resource "google_pubsub_subscription" "jobs_push" {
  project = var.project_id
  name    = "${var.name_prefix}-jobs-worker"
  topic   = google_pubsub_topic.jobs.id
  labels  = local.labels

  ack_deadline_seconds       = local.jobs_ack_deadline_seconds
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.worker.service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.jobs.name}"

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.worker.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${var.retry_min_backoff_seconds}s"
    maximum_backoff = "${var.retry_max_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # Never delete the subscription for inactivity (the default is 31 days).
  expiration_policy {
    ttl = ""
  }

  lifecycle {
    precondition {
      condition     = var.retry_max_backoff_seconds >= var.retry_min_backoff_seconds
      error_message = "retry_max_backoff_seconds must not be below retry_min_backoff_seconds."
    }
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker_worker,
    google_service_account_iam_member.pubsub_agent_token_creator_invoker,
    google_pubsub_topic_iam_member.pubsub_agent_dead_letter_publisher,
  ]
}

# Dead-letter topic -> pull archive. Catches every dead letter even if the dead-letter function
# is down or broken: nothing is lost (inspect with `gcloud pubsub subscriptions pull`).
resource "google_pubsub_subscription" "dead_letter_archive" {
  project = var.project_id
  name    = "${var.name_prefix}-dead-letter-archive"
  topic   = google_pubsub_topic.dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.dead_letter_retention_days * 86400}s"

  expiration_policy {
    ttl = ""
  }
}

# Dead-letter topic -> dead-letter function, which writes an error record.
resource "google_pubsub_subscription" "dead_letter_push" {
  project = var.project_id
  name    = "${var.name_prefix}-dead-letter-recorder"
  topic   = google_pubsub_topic.dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = min(600, var.dead_letter_resources.timeout_seconds + 30)
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.dead_letter.service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.dead_letter.name}"

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.dead_letter.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${var.retry_min_backoff_seconds}s"
    maximum_backoff = "${var.retry_max_backoff_seconds}s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker_dead_letter,
    google_service_account_iam_member.pubsub_agent_token_creator_invoker,
  ]
}

# Completion events, kept until read (the pipeline's "done" signal).
resource "google_pubsub_subscription" "results_pull" {
  count = var.create_results_subscription ? 1 : 0

  project = var.project_id
  name    = "${var.name_prefix}-results-pull"
  topic   = google_pubsub_topic.results.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}
