# Minimal deployment: Gemini API key from Secret Manager, everything else on defaults.
#
#   npm run package                      # from the repository root: writes dist/functions/
#   cd terraform/examples/minimal
#   terraform init
#   terraform apply -var project_id=my-project -var gemini_api_key_secret_id=gemini-api-key

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
}

variable "project_id" {
  type        = string
  description = "Project to deploy into."
}

variable "region" {
  type        = string
  description = "Region of the functions and buckets."
  default     = "us-central1"
}

variable "gemini_api_key_secret_id" {
  type        = string
  description = "Existing Secret Manager secret (in project_id) holding the Gemini API key."
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

  project_id               = var.project_id
  region                   = var.region
  package_manifest_path    = "${path.module}/../../../dist/functions/manifest.json"
  gemini_backend           = "gemini-api"
  gemini_api_key_secret_id = var.gemini_api_key_secret_id

  # 4 requests per instance x 5 instances = at most 20 Gemini requests in flight.
  worker_concurrency   = 4
  worker_max_instances = 5

  # Other systems publishing requests (docs/requests.md): who may publish, and a results
  # subscription that only sees the answers to requests whose id starts with "catalog-".
  request_publishers = var.request_publishers
  results_subscriptions = {
    catalog = { filter = "hasPrefix(attributes.requestId, \"catalog-\")" }
  }
}

variable "request_publishers" {
  type        = list(string)
  description = "Principals allowed to publish requests, e.g. [\"serviceAccount:catalog@my-project.iam.gserviceaccount.com\"]."
  default     = []
}

output "requests_topic" {
  description = "Publish request messages here (bananaflow publish … --topic <this>)."
  value       = module.bananaflow.topics.requests.id
}

output "input_bucket" {
  description = "Upload images and sidecars here."
  value       = module.bananaflow.input_bucket
}

output "output_bucket" {
  description = "Results land here."
  value       = module.bananaflow.output_bucket
}

output "upload_example_command" {
  description = "Uploads the repository's example drop."
  value       = module.bananaflow.upload_example_command
}
