terraform {
  # optional() object attributes with defaults (1.3) and check blocks (1.5).
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    # Only for google_project_service_identity (beta-only resource): it creates the Pub/Sub and
    # Eventarc service agents up front so IAM grants on them never race their lazy creation.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.0, < 8.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9, < 1.0"
    }
  }
}
