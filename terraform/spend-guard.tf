# The spend kill switch. Two triggers pause spending (a marker, _bananaflow/pause.json, in the
# output bucket; workers then hold jobs instead of calling Gemini, and `bananaflow resume` lifts it):
#   - a Cloud Billing budget (optional: spend_guard.budget) notifies the budget topic, and the
#     budget-guard function pauses once the cost reached pause_at_fraction of the amount;
#   - the workers' own recorded costs reach spend_guard.max_usd_per_day (reacts within ~30 s;
#     lifts itself at 00:00 UTC).
# Billing data reaches budgets hours late: the daily cap is the fast guard, the budget the backstop.

resource "google_pubsub_topic" "budget" {
  project = var.project_id
  name    = "${var.name_prefix}-budget"
  labels  = local.labels

  depends_on = [google_project_service.apis]
}

# Cloud Billing publishes budget notifications as this Google-managed account.
resource "google_pubsub_topic_iam_member" "billing_budget_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.budget.id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:billing-budget-alert@system.gserviceaccount.com"
}

resource "google_pubsub_subscription" "budget_push" {
  project = var.project_id
  name    = "${var.name_prefix}-budget-guard"
  topic   = google_pubsub_topic.budget.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = "86400s"

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.budget_guard.service_config[0].uri}/projects/${var.project_id}/topics/${google_pubsub_topic.budget.name}"

    oidc_token {
      service_account_email = google_service_account.invoker.email
      audience              = google_cloudfunctions2_function.budget_guard.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.invoker_budget_guard,
    google_service_account_iam_member.pubsub_agent_token_creator_invoker,
  ]
}

resource "google_billing_budget" "spend_guard" {
  count = var.spend_guard.budget == null ? 0 : 1

  billing_account = var.spend_guard.budget.billing_account
  display_name    = "${var.name_prefix} (${var.project_id})"

  budget_filter {
    projects = ["projects/${data.google_project.this.number}"]
  }

  amount {
    specified_amount {
      currency_code = var.spend_guard.budget.currency_code
      units         = tostring(floor(var.spend_guard.budget.amount))
    }
  }

  dynamic "threshold_rules" {
    for_each = toset(distinct([0.5, 0.9, var.spend_guard.budget.pause_at_fraction]))
    content {
      threshold_percent = threshold_rules.value
    }
  }

  all_updates_rule {
    pubsub_topic   = google_pubsub_topic.budget.id
    schema_version = "1.0"
  }

  depends_on = [google_pubsub_topic_iam_member.billing_budget_publisher]
}
