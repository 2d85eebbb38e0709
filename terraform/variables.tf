# ---------------------------------------------------------------------------------------------
# Project and naming
# ---------------------------------------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "Google Cloud project id that receives every resource of the pipeline."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 lowercase letters, digits or hyphens, starting with a letter), not a project number or display name."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions, the buckets and the Eventarc trigger (for example europe-west1). Buckets are regional in this region so the storage trigger and the functions sit together."

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a single Google Cloud region such as us-central1 or europe-west4 (multi-regions are not supported for the trigger)."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name (buckets are named <name_prefix>-<project_id>-input/-output/-sources). 3-20 characters, lowercase letters, digits and hyphens, starting with a letter; keeps service account ids within their 30-character limit."
  default     = "bananaflow"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters: lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels added to buckets, topics, subscriptions and functions (merged with app = bananaflow)."
  default     = {}

  validation {
    condition = alltrue([
      for k, v in var.labels :
      can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))
    ])
    error_message = "Label keys must start with a lowercase letter; keys and values may only hold lowercase letters, digits, '_' and '-' (max 63 characters)."
  }
}

variable "enable_apis" {
  type        = bool
  description = "Enable the Google APIs the pipeline needs (never disabled on destroy). Set false when APIs are managed elsewhere."
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Function sources
# ---------------------------------------------------------------------------------------------

variable "package_manifest_path" {
  type        = string
  description = "Path to dist/functions/manifest.json written by `npm run package`. Each entry names a zip (relative to the manifest's directory), its sha256, size and entry point; the sha256 goes into the source object name so changed code redeploys."

  validation {
    condition     = fileexists(var.package_manifest_path)
    error_message = "package_manifest_path does not exist: run `npm run package` in the repository root first (it writes dist/functions/manifest.json)."
  }
}

# ---------------------------------------------------------------------------------------------
# Gemini
# ---------------------------------------------------------------------------------------------

variable "model" {
  type        = string
  description = "Default Gemini image model id of this deployment (BANANAFLOW_MODEL) for sidecars that name none. Empty = the model catalog's default (today gemini-nano-banana-2.1, the current GA general-purpose model); `bananaflow models` lists the ids."
  default     = ""

  validation {
    condition     = var.model == "" || can(regex("^[a-z0-9][a-z0-9.-]{2,99}$", var.model))
    error_message = "model must be empty (the catalog's default) or a model id such as gemini-nano-banana-2.1 (lowercase letters, digits, dots and hyphens)."
  }
}

variable "model_overrides_json" {
  type        = string
  description = "Optional BANANAFLOW_MODEL_OVERRIDES: a JSON array of extra models with their prices (see shared/catalog). Empty = not set."
  default     = ""

  validation {
    condition     = var.model_overrides_json == "" || can(tolist(jsondecode(var.model_overrides_json)))
    error_message = "model_overrides_json must be empty or a JSON array."
  }
}

variable "gemini_backend" {
  type        = string
  description = "How the worker authenticates to Gemini: \"gemini-api\" (API key read from an existing Secret Manager secret) or \"vertex-ai\" (the worker's service account, roles/aiplatform.user, no key)."
  default     = "gemini-api"

  validation {
    condition     = contains(["gemini-api", "vertex-ai"], var.gemini_backend)
    error_message = "gemini_backend must be \"gemini-api\" or \"vertex-ai\"."
  }
}

variable "gemini_api_key_secret_id" {
  type        = string
  description = "Id (short name) of an existing Secret Manager secret in project_id that holds the Gemini API key. Required when gemini_backend = \"gemini-api\"; the key is mounted as GEMINI_API_KEY on the worker only and never appears in Terraform state."
  default     = null

  validation {
    condition     = var.gemini_api_key_secret_id == null || can(regex("^[A-Za-z0-9_-]{1,255}$", var.gemini_api_key_secret_id))
    error_message = "gemini_api_key_secret_id must be a secret id (letters, digits, '_' or '-'), not a full resource name and not the key itself."
  }
}

variable "gemini_api_key_secret_version" {
  type        = string
  description = "Version of the API key secret to mount (\"latest\" or a version number). Pin a number to roll keys deliberately."
  default     = "latest"

  validation {
    condition     = can(regex("^(latest|[1-9][0-9]*)$", var.gemini_api_key_secret_version))
    error_message = "gemini_api_key_secret_version must be \"latest\" or a positive version number."
  }
}

variable "vertex_location" {
  type        = string
  description = "GOOGLE_CLOUD_LOCATION for Vertex AI when gemini_backend = \"vertex-ai\" (\"global\" or a region where the image model is served)."
  default     = "global"

  validation {
    condition     = var.vertex_location == "global" || can(regex("^[a-z]+-[a-z]+[0-9]+$", var.vertex_location))
    error_message = "vertex_location must be \"global\" or a region such as us-central1."
  }
}

variable "tier" {
  type        = string
  description = "Default tier of sidecars that name none (BANANAFLOW_TIER): standard (list price), flex (50% off where the model offers it, 1-15 min, best effort) or batch (50% off, the Gemini Batch API: up to 24 h; needs batch_tier.enabled and gemini_backend = \"gemini-api\")."
  default     = "standard"

  validation {
    condition     = contains(["standard", "flex", "batch"], var.tier)
    error_message = "tier must be \"standard\", \"flex\" or \"batch\"."
  }
}

variable "flex_timeout_seconds" {
  type        = number
  description = "Timeout of one flex-tier model request (BANANAFLOW_FLEX_TIMEOUT_MS / 1000). Flex targets 1-15 min but the worker lives at most worker_timeout_seconds, so it must be below that; slower flex answers time out and are retried."
  default     = 240

  validation {
    condition     = var.flex_timeout_seconds >= 10 && var.flex_timeout_seconds <= 530 && floor(var.flex_timeout_seconds) == var.flex_timeout_seconds
    error_message = "flex_timeout_seconds must be a whole number between 10 and 530."
  }
}

variable "model_timeout_seconds" {
  type        = number
  description = "Timeout of one model request (BANANAFLOW_MODEL_TIMEOUT_MS / 1000). Must be below worker_timeout_seconds."
  default     = 120

  validation {
    condition     = var.model_timeout_seconds >= 10 && var.model_timeout_seconds <= 530 && floor(var.model_timeout_seconds) == var.model_timeout_seconds
    error_message = "model_timeout_seconds must be a whole number between 10 and 530."
  }
}

# ---------------------------------------------------------------------------------------------
# Worker sizing: concurrency x max instances bounds the requests in flight against Gemini's
# per-minute quota (see README "Sizing").
# ---------------------------------------------------------------------------------------------

variable "worker_concurrency" {
  type        = number
  description = "Requests one worker instance handles at once (max_instance_request_concurrency). Values above 1 need worker_cpu >= 1."
  default     = 4

  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 1000 && floor(var.worker_concurrency) == var.worker_concurrency
    error_message = "worker_concurrency must be a whole number between 1 and 1000."
  }
}

variable "worker_max_instances" {
  type        = number
  description = "Upper bound of worker instances (max_instance_count). worker_concurrency x worker_max_instances = the most Gemini requests in flight."
  default     = 5

  validation {
    condition     = var.worker_max_instances >= 1 && var.worker_max_instances <= 1000 && floor(var.worker_max_instances) == var.worker_max_instances
    error_message = "worker_max_instances must be a whole number between 1 and 1000."
  }
}

variable "images_per_minute" {
  type        = number
  description = "The Gemini images-per-minute quota of the worker's model (AI Studio / Cloud console), shared by every instance. Set: each instance is told its share, floor(images_per_minute / worker_max_instances) (BANANAFLOW_IPM), and holds to it; the worker's concurrency is capped so a push waits for its slot within the timeout (docs/quota.md). null: each instance learns the rate from 429s."
  default     = null
  nullable    = true

  validation {
    condition     = var.images_per_minute == null || try(var.images_per_minute >= 1 && floor(var.images_per_minute) == var.images_per_minute, false)
    error_message = "images_per_minute must be a whole number of images per minute >= 1, or null (learnt from 429s)."
  }
}

variable "quota_hold_seconds" {
  type        = number
  description = "How long a job is held in its instance through per-minute 429s (their retry delays summed) before it is published again as a fresh message (BANANAFLOW_QUOTA_MAX_HOLD_MS / 1000). Neither uses up a delivery attempt."
  default     = 60

  validation {
    condition     = var.quota_hold_seconds >= 0 && var.quota_hold_seconds <= 480 && floor(var.quota_hold_seconds) == var.quota_hold_seconds
    error_message = "quota_hold_seconds must be a whole number between 0 and 480."
  }
}

variable "worker_timeout_seconds" {
  type        = number
  description = "Worker request timeout. The jobs subscription's ack deadline is derived from it (timeout + 30 s, at most 600 s) so Pub/Sub does not redeliver a job that is still running."
  default     = 300

  validation {
    condition     = var.worker_timeout_seconds >= 30 && var.worker_timeout_seconds <= 540 && floor(var.worker_timeout_seconds) == var.worker_timeout_seconds
    error_message = "worker_timeout_seconds must be a whole number between 30 and 540."
  }
}

variable "worker_memory" {
  type        = string
  description = "Memory of a worker instance (Cloud Run format, e.g. 1Gi). Images are decoded in memory: raise it for large inputs or high concurrency."
  default     = "2Gi"

  validation {
    condition     = can(regex("^[1-9][0-9]*(Mi|Gi)$", var.worker_memory))
    error_message = "worker_memory must look like 512Mi or 2Gi."
  }
}

variable "worker_cpu" {
  type        = string
  description = "vCPUs of a worker instance (e.g. \"1\", \"2\")."
  default     = "1"

  validation {
    condition     = can(tonumber(var.worker_cpu)) && try(tonumber(var.worker_cpu) >= 0.083 && tonumber(var.worker_cpu) <= 8, false)
    error_message = "worker_cpu must be a number of vCPUs between 0.083 and 8, as a string."
  }
}

variable "ingest_resources" {
  type = object({
    memory          = optional(string, "512Mi")
    cpu             = optional(string, "1")
    max_instances   = optional(number, 10)
    concurrency     = optional(number, 8)
    timeout_seconds = optional(number, 120)
  })
  description = "Sizing of the ingest function (memory, cpu, max_instances, concurrency, timeout_seconds <= 540)."
  default     = {}

  validation {
    condition = (
      can(regex("^[1-9][0-9]*(Mi|Gi)$", var.ingest_resources.memory)) &&
      try(tonumber(var.ingest_resources.cpu) >= 0.083 && tonumber(var.ingest_resources.cpu) <= 8, false) &&
      var.ingest_resources.max_instances >= 1 && var.ingest_resources.max_instances <= 1000 &&
      var.ingest_resources.concurrency >= 1 && var.ingest_resources.concurrency <= 1000 &&
      (var.ingest_resources.concurrency == 1 || try(tonumber(var.ingest_resources.cpu) >= 1, false)) &&
      var.ingest_resources.timeout_seconds >= 10 && var.ingest_resources.timeout_seconds <= 540
    )
    error_message = "ingest_resources: memory like 512Mi, cpu 0.083-8 (>= 1 when concurrency > 1), max_instances and concurrency 1-1000, timeout_seconds 10-540."
  }
}

variable "dead_letter_resources" {
  type = object({
    memory          = optional(string, "256Mi")
    cpu             = optional(string, "1")
    max_instances   = optional(number, 3)
    concurrency     = optional(number, 8)
    timeout_seconds = optional(number, 60)
  })
  description = "Sizing of the dead-letter function (memory, cpu, max_instances, concurrency, timeout_seconds <= 540)."
  default     = {}

  validation {
    condition = (
      can(regex("^[1-9][0-9]*(Mi|Gi)$", var.dead_letter_resources.memory)) &&
      try(tonumber(var.dead_letter_resources.cpu) >= 0.083 && tonumber(var.dead_letter_resources.cpu) <= 8, false) &&
      var.dead_letter_resources.max_instances >= 1 && var.dead_letter_resources.max_instances <= 1000 &&
      var.dead_letter_resources.concurrency >= 1 && var.dead_letter_resources.concurrency <= 1000 &&
      (var.dead_letter_resources.concurrency == 1 || try(tonumber(var.dead_letter_resources.cpu) >= 1, false)) &&
      var.dead_letter_resources.timeout_seconds >= 10 && var.dead_letter_resources.timeout_seconds <= 540
    )
    error_message = "dead_letter_resources: memory like 256Mi, cpu 0.083-8 (>= 1 when concurrency > 1), max_instances and concurrency 1-1000, timeout_seconds 10-540."
  }
}

variable "requests_resources" {
  type = object({
    memory          = optional(string, "512Mi")
    cpu             = optional(string, "1")
    max_instances   = optional(number, 10)
    concurrency     = optional(number, 8)
    timeout_seconds = optional(number, 60)
  })
  description = "Sizing of the requests function (memory, cpu, max_instances, concurrency, timeout_seconds <= 540)."
  default     = {}

  validation {
    condition = (
      can(regex("^[1-9][0-9]*(Mi|Gi)$", var.requests_resources.memory)) &&
      try(tonumber(var.requests_resources.cpu) >= 0.083 && tonumber(var.requests_resources.cpu) <= 8, false) &&
      var.requests_resources.max_instances >= 1 && var.requests_resources.max_instances <= 1000 &&
      var.requests_resources.concurrency >= 1 && var.requests_resources.concurrency <= 1000 &&
      (var.requests_resources.concurrency == 1 || try(tonumber(var.requests_resources.cpu) >= 1, false)) &&
      var.requests_resources.timeout_seconds >= 10 && var.requests_resources.timeout_seconds <= 540
    )
    error_message = "requests_resources: memory like 512Mi, cpu 0.083-8 (>= 1 when concurrency > 1), max_instances and concurrency 1-1000, timeout_seconds 10-540."
  }
}

variable "ingress_settings" {
  type        = string
  description = "Ingress of all three functions. ALLOW_INTERNAL_ONLY (default) admits Eventarc and Pub/Sub push from the same project; ALLOW_ALL still requires an authenticated caller with run.invoker."
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB", "ALLOW_ALL"], var.ingress_settings)
    error_message = "ingress_settings must be ALLOW_INTERNAL_ONLY, ALLOW_INTERNAL_AND_GCLB or ALLOW_ALL."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of the functions."
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

# ---------------------------------------------------------------------------------------------
# Delivery: retries and dead letters
# ---------------------------------------------------------------------------------------------

variable "retry_min_backoff_seconds" {
  type        = number
  description = "Minimum backoff of the jobs and dead-letter push subscriptions before redelivering a failed push (Pub/Sub allows 0-600 s)."
  default     = 10

  validation {
    condition     = var.retry_min_backoff_seconds >= 0 && var.retry_min_backoff_seconds <= 600 && floor(var.retry_min_backoff_seconds) == var.retry_min_backoff_seconds
    error_message = "retry_min_backoff_seconds must be a whole number between 0 and 600."
  }
}

variable "retry_max_backoff_seconds" {
  type        = number
  description = "Maximum backoff of the push subscriptions (0-600 s, not below retry_min_backoff_seconds). A long maximum spreads retries after a 429 storm."
  default     = 600

  validation {
    condition     = var.retry_max_backoff_seconds >= 0 && var.retry_max_backoff_seconds <= 600 && floor(var.retry_max_backoff_seconds) == var.retry_max_backoff_seconds
    error_message = "retry_max_backoff_seconds must be a whole number between 0 and 600."
  }
}

variable "max_retry_wait_seconds" {
  type        = number
  description = "The worker waits out the delay a retryable failure asks for (a 429's RetryInfo), up to this, before answering the push, so Pub/Sub never redelivers sooner than Gemini asked (0 turns it off; 0-120 s)."
  default     = 30

  validation {
    condition     = var.max_retry_wait_seconds >= 0 && var.max_retry_wait_seconds <= 120 && floor(var.max_retry_wait_seconds) == var.max_retry_wait_seconds
    error_message = "max_retry_wait_seconds must be a whole number between 0 and 120."
  }
}

variable "max_delivery_attempts" {
  type        = number
  description = "Deliveries of a job before Pub/Sub moves it to the dead-letter topic (5-100). A push refused because every worker instance is busy counts as an attempt too, so keep it generous for large drops."
  default     = 20

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be a whole number between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "max_event_age_seconds" {
  type        = number
  description = "Storage events older than this are dropped by ingest (BANANAFLOW_MAX_EVENT_AGE_MS): ends the 24 h retry loop of a poisoned upload."
  default     = 86400

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 86400 && floor(var.max_event_age_seconds) == var.max_event_age_seconds
    error_message = "max_event_age_seconds must be a whole number between 60 and 86400 (Eventarc stops retrying after 24 h anyway)."
  }
}

variable "dead_letter_retention_days" {
  type        = number
  description = "How long the dead-letter pull subscription (the archive that catches everything) keeps unacknowledged messages (1-7 days)."
  default     = 7

  validation {
    condition     = var.dead_letter_retention_days >= 1 && var.dead_letter_retention_days <= 7 && floor(var.dead_letter_retention_days) == var.dead_letter_retention_days
    error_message = "dead_letter_retention_days must be a whole number between 1 and 7."
  }
}

variable "create_results_subscription" {
  type        = bool
  description = "Create a pull subscription on the results topic so completion events are kept (7 days) until something reads them."
  default     = true
}

variable "spend_guard" {
  type = object({
    max_usd_per_day = optional(number)
    budget = optional(object({
      billing_account   = string
      amount            = number
      currency_code     = optional(string, "USD")
      pause_at_fraction = optional(number, 1)
    }))
  })
  description = "Spend kill switch. max_usd_per_day: workers pause (hold jobs) once their recorded costs reach it on a UTC day. budget: a Cloud Billing budget on this project (billing_account id, amount) that pauses spending at pause_at_fraction of the amount. Both optional; `bananaflow resume gs://OUTPUT` lifts a pause."
  default     = {}

  validation {
    condition     = var.spend_guard.max_usd_per_day == null || try(var.spend_guard.max_usd_per_day > 0, false)
    error_message = "spend_guard.max_usd_per_day must be a positive number of USD (or null for no daily cap)."
  }
  validation {
    condition     = var.spend_guard.budget == null || try(can(regex("^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$", var.spend_guard.budget.billing_account)) && var.spend_guard.budget.amount > 0 && var.spend_guard.budget.pause_at_fraction > 0 && var.spend_guard.budget.pause_at_fraction <= 10, false)
    error_message = "spend_guard.budget needs billing_account (XXXXXX-XXXXXX-XXXXXX), a positive amount, and pause_at_fraction in (0, 10]."
  }
}

variable "cost_ledger" {
  type = object({
    enabled  = optional(bool, true)
    location = optional(string)
  })
  description = "BigQuery cost ledger: a dataset <name_prefix>_ledger with a `results` table fed by a BigQuery subscription on the results topic (one row per finished job; SQL in docs/cost-ledger.md). location defaults to var.region."
  default     = {}

  validation {
    condition     = var.cost_ledger.location == null || can(regex("^[A-Za-z0-9-]+$", coalesce(var.cost_ledger.location, "x")))
    error_message = "cost_ledger.location must be a BigQuery location such as US, EU or us-central1."
  }
}

# ---------------------------------------------------------------------------------------------
# Limits passed to the code
# ---------------------------------------------------------------------------------------------

variable "max_input_bytes" {
  type        = number
  description = "Largest input image the worker downloads (BANANAFLOW_MAX_INPUT_BYTES)."
  default     = 52428800

  validation {
    condition     = var.max_input_bytes >= 1024 && var.max_input_bytes <= 1073741824 && floor(var.max_input_bytes) == var.max_input_bytes
    error_message = "max_input_bytes must be a whole number between 1 KiB and 1 GiB."
  }
}

variable "max_input_pixels" {
  type        = number
  description = "Largest decoded input image in pixels (BANANAFLOW_MAX_INPUT_PIXELS): guards the worker's memory against decompression bombs."
  default     = 100000000

  validation {
    condition     = var.max_input_pixels >= 1 && var.max_input_pixels <= 1000000000 && floor(var.max_input_pixels) == var.max_input_pixels
    error_message = "max_input_pixels must be a whole number between 1 and 1e9."
  }
}

variable "max_sidecar_bytes" {
  type        = number
  description = "Largest sidecar file ingest reads (BANANAFLOW_MAX_SIDECAR_BYTES)."
  default     = 1048576

  validation {
    condition     = var.max_sidecar_bytes >= 1024 && var.max_sidecar_bytes <= 33554432 && floor(var.max_sidecar_bytes) == var.max_sidecar_bytes
    error_message = "max_sidecar_bytes must be a whole number between 1 KiB and 32 MiB."
  }
}

# ---------------------------------------------------------------------------------------------
# Buckets
# ---------------------------------------------------------------------------------------------

variable "state_retention_days" {
  type        = number
  description = "Objects under the `_bananaflow/` prefix (claims, persisted model results: temporary state) are deleted after this many days."
  default     = 7

  validation {
    condition     = var.state_retention_days >= 1 && var.state_retention_days <= 365 && floor(var.state_retention_days) == var.state_retention_days
    error_message = "state_retention_days must be a whole number between 1 and 365 (keep it above the longest retry window, 1 day)."
  }
}

variable "kms_key_name" {
  type        = string
  description = "Optional Cloud KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K) for CMEK on the input, output and source buckets. The key must be in the buckets' region; the Cloud Storage service agent is granted encrypter/decrypter on it. Null = Google-managed encryption."
  default     = null

  validation {
    condition     = var.kms_key_name == null || can(regex("^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$", var.kms_key_name))
    error_message = "kms_key_name must be null or projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Allow `terraform destroy` to delete the input and output buckets even when they still hold objects (images and results are lost). The source bucket only holds build artifacts and is always force-destroyed."
  default     = false
}

# ---------------------------------------------------------------------------------------------
# Requests: other systems publishing jobs (docs/requests.md)
# ---------------------------------------------------------------------------------------------

variable "request_publishers" {
  type        = list(string)
  description = "Principals allowed to publish requests (roles/pubsub.publisher on the requests topic only), e.g. \"serviceAccount:catalog@my-project.iam.gserviceaccount.com\"."
  default     = []

  validation {
    condition     = alltrue([for m in var.request_publishers : can(regex("^(user|serviceAccount|group|domain|principal|principalSet):.+$", m))])
    error_message = "Each request publisher must be an IAM principal: user:, serviceAccount:, group:, domain:, principal: or principalSet: (public access is not allowed)."
  }
}

variable "result_readers" {
  type        = list(string)
  description = "Principals allowed to read results: roles/pubsub.subscriber on the results topic (to attach their own subscriptions) and on the results subscriptions this module creates (results_subscriptions, and the results pull subscription)."
  default     = []

  validation {
    condition     = alltrue([for m in var.result_readers : can(regex("^(user|serviceAccount|group|domain|principal|principalSet):.+$", m))])
    error_message = "Each result reader must be an IAM principal: user:, serviceAccount:, group:, domain:, principal: or principalSet: (public access is not allowed)."
  }
}

variable "results_subscriptions" {
  type = map(object({
    filter = string
  }))
  description = "Extra pull subscriptions on the results topic, by name suffix (<name_prefix>-results-<key>), each with a Pub/Sub filter on the event attributes: attributes.requestId = \"sku-1042\" for one request, hasPrefix(attributes.requestId, \"catalog-\") for one publisher's requests."
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.results_subscriptions : can(regex("^[a-z][a-z0-9-]{0,30}$", k)) && length(v.filter) > 0 && length(v.filter) <= 256])
    error_message = "results_subscriptions: keys are 1-31 lowercase letters, digits or hyphens starting with a letter; each filter is a non-empty Pub/Sub filter of at most 256 characters."
  }
}

variable "requests_max_delivery_attempts" {
  type        = number
  description = "Deliveries of a request message before Pub/Sub moves it to the requests dead-letter topic (5-100). Bad input is answered at once; only unexpected failures (storage or Pub/Sub down) are retried."
  default     = 10

  validation {
    condition     = var.requests_max_delivery_attempts >= 5 && var.requests_max_delivery_attempts <= 100 && floor(var.requests_max_delivery_attempts) == var.requests_max_delivery_attempts
    error_message = "requests_max_delivery_attempts must be a whole number between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "batch_tier" {
  type = object({
    enabled = optional(bool, true)
    # Cloud Scheduler cron (UTC) of the batch tick: submit due jobs, collect finished batches.
    tick_schedule = optional(string, "*/5 * * * *")
    # Pending jobs of a model are submitted once the oldest waited this long, or once they fill a batch.
    window_seconds = optional(number, 600)
    # Requests per Gemini batch job. The tick holds one batch's answers (images) in memory while it
    # collects it: size memory to max_requests x ~2 MB.
    max_requests    = optional(number, 500)
    max_bytes       = optional(number, 1073741824)
    memory          = optional(string, "2Gi")
    cpu             = optional(string, "1")
    timeout_seconds = optional(number, 540)
  })
  description = "The cloud batch tier (Gemini Batch API, 50% off, up to 24 h): the batch-tick function run by Cloud Scheduler (tick_schedule), its window (window_seconds), batch size (max_requests, max_bytes) and sizing (memory, cpu, timeout_seconds <= 540). Gemini API only: with gemini_backend = \"vertex-ai\" the batch tier is refused at planning and the scheduler job is not created."
  default     = {}

  validation {
    condition = (
      length(split(" ", var.batch_tier.tick_schedule)) == 5 &&
      var.batch_tier.window_seconds >= 0 && var.batch_tier.window_seconds <= 86400 &&
      var.batch_tier.max_requests >= 1 && var.batch_tier.max_requests <= 10000 &&
      var.batch_tier.max_bytes >= 1048576 && var.batch_tier.max_bytes <= 2147483648 &&
      can(regex("^[1-9][0-9]*(Mi|Gi)$", var.batch_tier.memory)) &&
      try(tonumber(var.batch_tier.cpu) >= 0.083 && tonumber(var.batch_tier.cpu) <= 8, false) &&
      var.batch_tier.timeout_seconds >= 60 && var.batch_tier.timeout_seconds <= 540
    )
    error_message = "batch_tier: tick_schedule a 5-field cron, window_seconds 0-86400, max_requests 1-10000, max_bytes 1 MiB-2 GiB (the Files API limit), memory like 2Gi, cpu 0.083-8, timeout_seconds 60-540."
  }
}
