# Vertex AI backend: the worker calls Gemini as its own service account (roles/aiplatform.user),
# so there is no API key and no Secret Manager secret to create.
#
#   npm run package                      # from the repository root: writes dist/functions/
#   cd terraform/examples/vertex
#   terraform init
#   terraform apply -var project_id=my-project

terraform {
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.0, < 8.0"
    }
  }

  # Keep state in a bucket, not on a laptop (create the bucket once, with versioning on):
  # backend "gcs" {
  #   bucket = "my-project-tfstate"
  #   prefix = "bananaflow/vertex"
  # }
}

variable "project_id" {
  type        = string
  description = "Project to deploy into (Vertex AI is billed to it)."
}

variable "region" {
  type        = string
  description = "Region of the functions and buckets."
  default     = "us-central1"
}

variable "vertex_location" {
  type        = string
  description = "Vertex AI location serving the image models (\"global\" or a region)."
  default     = "global"
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}

module "bananaflow" {
  source = "../.."

  project_id            = var.project_id
  region                = var.region
  package_manifest_path = "${path.module}/../../../dist/functions/manifest.json"
  gemini_backend        = "vertex-ai"
  vertex_location       = var.vertex_location

  worker_concurrency   = 4
  worker_max_instances = 5
}

output "input_bucket" {
  description = "Upload images and sidecars here."
  value       = module.bananaflow.input_bucket
}

output "output_bucket" {
  description = "Results land here."
  value       = module.bananaflow.output_bucket
}

output "worker_service_account" {
  description = "The identity that calls Vertex AI (holds roles/aiplatform.user)."
  value       = module.bananaflow.service_accounts.worker
}

output "upload_example_command" {
  description = "Uploads the repository's example drop."
  value       = module.bananaflow.upload_example_command
}
