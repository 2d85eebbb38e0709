# One identity per job: a runtime account per function, the Eventarc trigger's account, the
# Pub/Sub push (OIDC) identity and the build account. None of them has a project-wide data role.

resource "google_service_account" "ingest" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-ingest"
  display_name = "bananaflow ingest runtime"
  description  = "Runtime of the ingest function: reads uploads and sidecars, publishes jobs."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "worker" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-worker"
  display_name = "bananaflow worker runtime"
  description  = "Runtime of the worker function: calls Gemini, writes outputs, publishes results."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "dead_letter" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-dlq"
  display_name = "bananaflow dead-letter runtime"
  description  = "Runtime of the dead-letter function: writes error records, publishes results."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "budget_guard" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-budget"
  display_name = "bananaflow budget guard runtime"
  description  = "Runtime of the budget-guard function: pauses spending (a marker in the output bucket) when a budget alert says so."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "trigger" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-trigger"
  display_name = "bananaflow Eventarc trigger"
  description  = "Identity of the Cloud Storage trigger: receives events and invokes ingest only."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "invoker" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-invoker"
  display_name = "bananaflow Pub/Sub push invoker"
  description  = "OIDC identity of the push subscriptions: invokes worker, dead-letter, requests and budget-guard only."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-build"
  display_name = "bananaflow function builds"
  description  = "Cloud Build identity that turns the source zips into function images."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "requests" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-requests"
  display_name = "bananaflow requests runtime"
  description  = "Runtime of the requests function: reads input names, publishes jobs and request events."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "batch_tick" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-batch"
  display_name = "bananaflow batch tick runtime"
  description  = "Runtime of the batch-tick function: reads inputs, submits and collects Gemini batch jobs, hands answered jobs to the jobs topic, writes error records."

  depends_on = [google_project_service.apis]
}
