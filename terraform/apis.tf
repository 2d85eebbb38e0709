locals {
  apis = toset(concat(
    [
      "cloudresourcemanager.googleapis.com",
      "iam.googleapis.com",
      "cloudfunctions.googleapis.com",
      "run.googleapis.com",
      "eventarc.googleapis.com",
      "pubsub.googleapis.com",
      "storage.googleapis.com",
      "cloudbuild.googleapis.com",
      "artifactregistry.googleapis.com",
      "logging.googleapis.com",
      # Ticks the batch tier (batch.tf).
      "cloudscheduler.googleapis.com",
    ],
    local.use_vertex ? ["aiplatform.googleapis.com"] : ["secretmanager.googleapis.com"],
    var.kms_key_name == null ? [] : ["cloudkms.googleapis.com"],
    var.cost_ledger.enabled ? ["bigquery.googleapis.com"] : [],
    var.spend_guard.budget == null ? [] : ["billingbudgets.googleapis.com"],
  ))
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? local.apis : toset([])

  project = var.project_id
  service = each.value

  # Other workloads in the project may use these APIs: never switch them off on destroy.
  disable_on_destroy         = false
  disable_dependent_services = false
}

# Service agents are created lazily by Google; creating them explicitly means the IAM grants
# below never hit "service account does not exist" on a first apply.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.apis]
}

resource "google_project_service_identity" "eventarc" {
  provider = google-beta

  project = var.project_id
  service = "eventarc.googleapis.com"

  depends_on = [google_project_service.apis]
}

# The Cloud Storage service agent publishes the bucket notifications Eventarc consumes.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id

  depends_on = [google_project_service.apis]
}
