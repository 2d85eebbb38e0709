# Input (uploads + sidecars) and output (results, metadata, `_bananaflow/` state) are separate
# buckets on purpose: a function that writes into the bucket that triggers it loops forever.

resource "google_storage_bucket" "input" {
  project  = var.project_id
  name     = local.bucket_names.input
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  lifecycle_rule {
    condition {
      age            = var.state_retention_days
      matches_prefix = local.temporary_state_prefixes
    }
    action {
      type = "Delete"
    }
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  depends_on = [google_project_service.apis, google_kms_crypto_key_iam_member.gcs_agent]
}

resource "google_storage_bucket" "output" {
  project  = var.project_id
  name     = local.bucket_names.output
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy

  # Claims and persisted model results are temporary: they only need to outlive the retry window.
  lifecycle_rule {
    condition {
      age            = var.state_retention_days
      matches_prefix = local.temporary_state_prefixes
    }
    action {
      type = "Delete"
    }
  }

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  depends_on = [google_project_service.apis, google_kms_crypto_key_iam_member.gcs_agent]
}

# Function source zips (build artifacts only).
resource "google_storage_bucket" "sources" {
  project  = var.project_id
  name     = local.bucket_names.sources
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  dynamic "encryption" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      default_kms_key_name = encryption.value
    }
  }

  depends_on = [google_project_service.apis, google_kms_crypto_key_iam_member.gcs_agent]
}

# One object per function, named by the zip's content hash: a code change is a new object name,
# which is what makes the function rebuild and redeploy.
resource "google_storage_bucket_object" "source" {
  for_each = local.function_keys

  bucket       = google_storage_bucket.sources.name
  name         = "${each.value}/${each.value}-${local.manifest[each.value].sha256}.zip"
  source       = "${local.manifest_dir}/${local.manifest[each.value].zip}"
  content_type = "application/zip"
}

# CMEK: the Cloud Storage service agent encrypts and decrypts with the key (key-level grant).
resource "google_kms_crypto_key_iam_member" "gcs_agent" {
  for_each = var.kms_key_name == null ? toset([]) : toset([var.kms_key_name])

  crypto_key_id = each.value
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}
