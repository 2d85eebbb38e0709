# Requests: other systems publish edit requests (schema/request.v1.json) on the requests topic; the
# requests function plans their jobs onto the jobs topic and answers on the results topic, every
# event carrying attributes.requestId (docs/requests.md).

resource "google_pubsub_topic" "requests" {
  project = var.project_id
  name    = "${var.name_prefix}-requests"
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "requests_dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-requests-dead-letter"
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

# Requests -> requests function. Terraform-managed (like the worker's) so it carries a retry policy
# and a dead-letter policy: bad input is answered and acknowledged by the function; only
# unexpected failures are retried, and dead-lettered after requests_max_delivery_attempts.
resource "google_pubsub_subscription" "requests_push" {
  project = var.project_id
  name    = "${var.name_prefix}-requests-planner"
  topic   = google_pubsub_topic.requests.id
  labels  = local.labels

  ack_deadline_seconds       = min(600, var.requests_resources.timeout_seconds + 30)
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.requests.service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.requests.name}"

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.requests.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "${var.retry_min_backoff_seconds}s"
    maximum_backoff = "${var.retry_max_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.requests_dead_letter.id
    max_delivery_attempts = var.requests_max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker_requests,
    google_service_account_iam_member.pubsub_agent_token_creator_invoker,
    google_pubsub_topic_iam_member.pubsub_agent_requests_dead_letter_publisher,
  ]
}

# Dead-lettered requests go back to the function, which answers each with a DEAD_LETTERED
# request.rejected event (it recognises them by CloudPubSubDeadLetterSourceDeliveryCount).
resource "google_pubsub_subscription" "requests_dead_letter_push" {
  project = var.project_id
  name    = "${var.name_prefix}-requests-dead-letter-answer"
  topic   = google_pubsub_topic.requests_dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = min(600, var.requests_resources.timeout_seconds + 30)
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.requests.service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.requests_dead_letter.name}"

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.requests.service_config[0].uri
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
    google_cloud_run_v2_service_iam_member.invoker_requests,
    google_service_account_iam_member.pubsub_agent_token_creator_invoker,
  ]
}

# And a pull archive, so a dead-lettered request is kept even if the function cannot answer it.
resource "google_pubsub_subscription" "requests_dead_letter_archive" {
  project = var.project_id
  name    = "${var.name_prefix}-requests-dead-letter-archive"
  topic   = google_pubsub_topic.requests_dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "${var.dead_letter_retention_days * 86400}s"

  expiration_policy {
    ttl = ""
  }
}

# Results for the systems that publish requests: one pull subscription per entry of
# results_subscriptions, each with its filter, e.g. attributes.requestId = "sku-1042" or
# hasPrefix(attributes.requestId, "catalog-").
resource "google_pubsub_subscription" "results_filtered" {
  for_each = var.results_subscriptions

  project = var.project_id
  name    = "${var.name_prefix}-results-${each.key}"
  topic   = google_pubsub_topic.results.id
  labels  = local.labels
  filter  = each.value.filter

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }
}

# Who may publish requests: roles/pubsub.publisher on the requests topic only.
resource "google_pubsub_topic_iam_member" "request_publishers" {
  for_each = toset(var.request_publishers)

  project = var.project_id
  topic   = google_pubsub_topic.requests.id
  role    = "roles/pubsub.publisher"
  member  = each.value
}

# Who may read results: subscriber on the results subscriptions this module creates, and on the
# results topic (attaching a subscription of their own needs it; creating one also needs
# pubsub.subscriptions.create in their project, which this module does not grant).
locals {
  results_subscription_ids = merge(
    { for k, s in google_pubsub_subscription.results_filtered : k => s.id },
    var.create_results_subscription ? { pull = google_pubsub_subscription.results_pull[0].id } : {},
  )
  result_reader_grants = {
    for pair in setproduct(var.result_readers, keys(local.results_subscription_ids)) :
    "${pair[0]} ${pair[1]}" => { member = pair[0], subscription = local.results_subscription_ids[pair[1]] }
  }
}

resource "google_pubsub_topic_iam_member" "result_readers" {
  for_each = toset(var.result_readers)

  project = var.project_id
  topic   = google_pubsub_topic.results.id
  role    = "roles/pubsub.subscriber"
  member  = each.value
}

resource "google_pubsub_subscription_iam_member" "result_readers" {
  for_each = local.result_reader_grants

  project      = var.project_id
  subscription = each.value.subscription
  role         = "roles/pubsub.subscriber"
  member       = each.value.member
}

# Dead-lettering requests: Pub/Sub itself forwards them and acknowledges them on the source.
resource "google_pubsub_topic_iam_member" "pubsub_agent_requests_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.requests_dead_letter.id
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent_member
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_requests_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.requests_push.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent_member
}

resource "google_cloud_run_v2_service_iam_member" "invoker_requests" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.requests.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}
