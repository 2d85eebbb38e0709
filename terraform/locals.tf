# The project number names the bucket Cloud Functions copies sources to (iam.tf).
data "google_project" "this" {
  project_id = var.project_id

  depends_on = [google_project_service.apis]
}

locals {
  labels = merge({ app = "bananaflow" }, var.labels)

  use_vertex = var.gemini_backend == "vertex-ai"

  # Written by `npm run package`: { "<function>": { zip, sha256, bytes, entryPoint } }, zip paths
  # relative to the manifest's directory.
  manifest     = jsondecode(file(var.package_manifest_path))
  manifest_dir = dirname(var.package_manifest_path)
  function_keys = {
    ingest       = "ingest"
    worker       = "worker"
    dead_letter  = "dead-letter"
    requests     = "requests"
    budget_guard = "budget-guard"
    batch_tick   = "batch-tick"
  }

  bucket_names = {
    input   = "${var.name_prefix}-${var.project_id}-input"
    output  = "${var.name_prefix}-${var.project_id}-output"
    sources = "${var.name_prefix}-${var.project_id}-sources"
  }

  # The pipeline's own objects live under this prefix (ingest never treats them as work).
  state_prefix = "_bananaflow/"
  # The batch tier runs where the Gemini Batch API is (not on Vertex AI) and when enabled; otherwise
  # the planners refuse batch-tier jobs (BANANAFLOW_BATCH_PATH=off) and nothing ticks.
  batch_enabled = var.batch_tier.enabled && !local.use_vertex
  batch_path    = local.batch_enabled ? "on" : "off"

  # Of those, working state expires (claims, persisted model results, waiting markers, daily
  # spend counters). Kept: plans/ (what was planned, for status and backfill), held/ (jobs held
  # while spending is paused: never lost), pause.json and deployment.json.
  temporary_state_prefixes = [for p in ["jobs/", "waiting/", "spend/"] : "${local.state_prefix}${p}"]

  # A claim must outlive the longest run of the worker, or a redelivery takes over live work.
  lease_ms = (var.worker_timeout_seconds + 60) * 1000

  # Pub/Sub waits this long for the worker's push response before redelivering (max 600 s).
  jobs_ack_deadline_seconds = min(600, var.worker_timeout_seconds + 30)

  # Quota sizing (docs/quota.md). Each worker instance holds to its share of images_per_minute.
  # A push waits in its instance for its slot: with C pushes in an instance and a share of S a
  # minute the last waits about C x 60 / S seconds, which must fit in the worker timeout beside
  # one model call and the 429 hold, so the concurrency is capped at S x that time / 60.
  ipm_share          = var.images_per_minute == null ? null : floor(var.images_per_minute / var.worker_max_instances)
  quota_slot_wait_s  = var.worker_timeout_seconds - var.model_timeout_seconds - var.quota_hold_seconds
  worker_concurrency = local.ipm_share == null ? var.worker_concurrency : max(1, min(var.worker_concurrency, floor(coalesce(local.ipm_share, 0) * local.quota_slot_wait_s / 60)))
  quota_env          = local.ipm_share == null ? {} : { BANANAFLOW_IPM = tostring(local.ipm_share) }
  # How long Pub/Sub keeps trying a push refused because every instance is busy (each refusal is
  # an attempt): the backoff doubles from the minimum up to the maximum, once per attempt.
  retry_budget_seconds = sum([for n in range(var.max_delivery_attempts - 1) : min(var.retry_max_backoff_seconds, var.retry_min_backoff_seconds * pow(2, n))])

  # Environment read by shared/config.ts, per function (functions.tf merges in the conditional
  # parts). Topic and bucket names come from the resources, never from strings.
  model_overrides_env = var.model_overrides_json == "" ? {} : { BANANAFLOW_MODEL_OVERRIDES = var.model_overrides_json }

  ingest_env = {
    LOG_LEVEL                    = var.log_level
    BANANAFLOW_INPUT_BUCKET      = google_storage_bucket.input.name
    BANANAFLOW_OUTPUT_BUCKET     = google_storage_bucket.output.name
    BANANAFLOW_JOBS_TOPIC        = google_pubsub_topic.jobs.name
    BANANAFLOW_MODEL             = var.model
    BANANAFLOW_TIER              = var.tier
    BANANAFLOW_BATCH_PATH        = local.batch_path
    BANANAFLOW_MAX_EVENT_AGE_MS  = tostring(var.max_event_age_seconds * 1000)
    BANANAFLOW_MAX_SIDECAR_BYTES = tostring(var.max_sidecar_bytes)
  }

  # Vertex AI: the SDK reads these three; no key anywhere. Gemini API: GEMINI_API_KEY comes from
  # Secret Manager through secret_environment_variables (functions.tf), never from here.
  vertex_env = local.use_vertex ? {
    GOOGLE_GENAI_USE_VERTEXAI = "true"
    GOOGLE_CLOUD_PROJECT      = var.project_id
    GOOGLE_CLOUD_LOCATION     = var.vertex_location
  } : {}

  worker_env = {
    LOG_LEVEL                    = var.log_level
    BANANAFLOW_INPUT_BUCKET      = google_storage_bucket.input.name
    BANANAFLOW_OUTPUT_BUCKET     = google_storage_bucket.output.name
    BANANAFLOW_RESULTS_TOPIC     = google_pubsub_topic.results.name
    BANANAFLOW_MODEL             = var.model
    BANANAFLOW_MODEL_TIMEOUT_MS  = tostring(var.model_timeout_seconds * 1000)
    BANANAFLOW_FLEX_TIMEOUT_MS   = tostring(var.flex_timeout_seconds * 1000)
    BANANAFLOW_LEASE_MS          = tostring(local.lease_ms)
    BANANAFLOW_MAX_RETRY_WAIT_MS = tostring(var.max_retry_wait_seconds * 1000)
    BANANAFLOW_QUOTA_MAX_HOLD_MS = tostring(var.quota_hold_seconds * 1000)
    BANANAFLOW_MAX_INPUT_BYTES   = tostring(var.max_input_bytes)
    BANANAFLOW_MAX_INPUT_PIXELS  = tostring(var.max_input_pixels)
    BANANAFLOW_BATCH_PATH        = local.batch_path
  }

  # The batch tick: the worker's settings it shares (inputs, records), the jobs topic it hands
  # answered jobs to, and the batch window.
  batch_tick_env = {
    LOG_LEVEL                     = var.log_level
    BANANAFLOW_INPUT_BUCKET       = google_storage_bucket.input.name
    BANANAFLOW_OUTPUT_BUCKET      = google_storage_bucket.output.name
    BANANAFLOW_JOBS_TOPIC         = google_pubsub_topic.jobs.name
    BANANAFLOW_RESULTS_TOPIC      = google_pubsub_topic.results.name
    BANANAFLOW_MAX_INPUT_BYTES    = tostring(var.max_input_bytes)
    BANANAFLOW_MAX_INPUT_PIXELS   = tostring(var.max_input_pixels)
    BANANAFLOW_BATCH_PATH         = local.batch_path
    BANANAFLOW_BATCH_MAX_REQUESTS = tostring(var.batch_tier.max_requests)
    BANANAFLOW_BATCH_MAX_BYTES    = tostring(var.batch_tier.max_bytes)
    BANANAFLOW_BATCH_WINDOW_MS    = tostring(var.batch_tier.window_seconds * 1000)
    # A tick outliving its timeout is dead: its lease may be taken over a minute later.
    BANANAFLOW_BATCH_LEASE_MS = tostring((var.batch_tier.timeout_seconds + 60) * 1000)
  }

  budget_guard_env = {
    LOG_LEVEL                           = var.log_level
    BANANAFLOW_INPUT_BUCKET             = google_storage_bucket.input.name
    BANANAFLOW_OUTPUT_BUCKET            = google_storage_bucket.output.name
    BANANAFLOW_PAUSE_AT_BUDGET_FRACTION = tostring(try(var.spend_guard.budget.pause_at_fraction, 1))
  }

  # The daily cap, when set: every worker instance counts its spend and pauses all of them.
  daily_cap_env = var.spend_guard.max_usd_per_day == null ? {} : { BANANAFLOW_MAX_USD_PER_DAY = tostring(var.spend_guard.max_usd_per_day) }

  dead_letter_env = {
    LOG_LEVEL                = var.log_level
    BANANAFLOW_OUTPUT_BUCKET = google_storage_bucket.output.name
    BANANAFLOW_RESULTS_TOPIC = google_pubsub_topic.results.name
  }

  # Plans requests as ingest plans sidecars; answers on the results topic.
  requests_env = {
    LOG_LEVEL                    = var.log_level
    BANANAFLOW_INPUT_BUCKET      = google_storage_bucket.input.name
    BANANAFLOW_OUTPUT_BUCKET     = google_storage_bucket.output.name
    BANANAFLOW_JOBS_TOPIC        = google_pubsub_topic.jobs.name
    BANANAFLOW_RESULTS_TOPIC     = google_pubsub_topic.results.name
    BANANAFLOW_MODEL             = var.model
    BANANAFLOW_MAX_SIDECAR_BYTES = tostring(var.max_sidecar_bytes)
    BANANAFLOW_BATCH_PATH        = local.batch_path
  }
}
