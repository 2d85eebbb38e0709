# ---------------------------------------------------------------------------------------------
# Runtime accounts: bucket-level and topic-level roles only.
# ---------------------------------------------------------------------------------------------

locals {
  runtime_members = {
    ingest       = "serviceAccount:${google_service_account.ingest.email}"
    worker       = "serviceAccount:${google_service_account.worker.email}"
    dead_letter  = "serviceAccount:${google_service_account.dead_letter.email}"
    requests     = "serviceAccount:${google_service_account.requests.email}"
    budget_guard = "serviceAccount:${google_service_account.budget_guard.email}"
    batch_tick   = "serviceAccount:${google_service_account.batch_tick.email}"
  }

  # objectUser = read, create, overwrite and delete objects (claims are taken over and released),
  # without any right on the bucket itself or its IAM policy.
  bucket_grants = {
    ingest_input_read     = { bucket = "input", member = "ingest", role = "roles/storage.objectViewer" }
    ingest_output_rw      = { bucket = "output", member = "ingest", role = "roles/storage.objectUser" }
    worker_input_read     = { bucket = "input", member = "worker", role = "roles/storage.objectViewer" }
    worker_output_rw      = { bucket = "output", member = "worker", role = "roles/storage.objectUser" }
    dead_letter_output_rw = { bucket = "output", member = "dead_letter", role = "roles/storage.objectUser" }
    requests_input_read   = { bucket = "input", member = "requests", role = "roles/storage.objectViewer" }
    requests_output_rw    = { bucket = "output", member = "requests", role = "roles/storage.objectUser" }
    # Writes (and only ever writes) _bananaflow/pause.json.
    budget_guard_output_rw = { bucket = "output", member = "budget_guard", role = "roles/storage.objectUser" }
    # Reads inputs to build batch requests; pending markers, manifests, its lease, records.
    batch_tick_input_read = { bucket = "input", member = "batch_tick", role = "roles/storage.objectViewer" }
    batch_tick_output_rw  = { bucket = "output", member = "batch_tick", role = "roles/storage.objectUser" }
  }

  topic_grants = {
    ingest_jobs_publish         = { topic = "jobs", member = "ingest", role = "roles/pubsub.publisher" }
    worker_results_publish      = { topic = "results", member = "worker", role = "roles/pubsub.publisher" }
    dead_letter_results_publish = { topic = "results", member = "dead_letter", role = "roles/pubsub.publisher" }
    requests_jobs_publish       = { topic = "jobs", member = "requests", role = "roles/pubsub.publisher" }
    requests_results_publish    = { topic = "results", member = "requests", role = "roles/pubsub.publisher" }
    # Answered batch jobs go to the worker; unanswered ones are announced as failed.
    batch_tick_jobs_publish    = { topic = "jobs", member = "batch_tick", role = "roles/pubsub.publisher" }
    batch_tick_results_publish = { topic = "results", member = "batch_tick", role = "roles/pubsub.publisher" }
  }

  buckets = {
    input  = google_storage_bucket.input.name
    output = google_storage_bucket.output.name
  }
  topics = {
    jobs    = google_pubsub_topic.jobs.id
    results = google_pubsub_topic.results.id
  }

  pubsub_agent_member = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

resource "google_storage_bucket_iam_member" "runtime" {
  for_each = local.bucket_grants

  bucket = local.buckets[each.value.bucket]
  role   = each.value.role
  member = local.runtime_members[each.value.member]
}

resource "google_pubsub_topic_iam_member" "runtime" {
  for_each = local.topic_grants

  project = var.project_id
  topic   = local.topics[each.value.topic]
  role    = each.value.role
  member  = local.runtime_members[each.value.member]
}

# Gemini API: the worker may read THIS secret and nothing else in Secret Manager.
resource "google_secret_manager_secret_iam_member" "worker_api_key" {
  count = local.use_vertex ? 0 : 1

  project   = var.project_id
  secret_id = var.gemini_api_key_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.runtime_members.worker

  lifecycle {
    precondition {
      condition     = var.gemini_api_key_secret_id != null
      error_message = "gemini_backend = \"gemini-api\" needs gemini_api_key_secret_id (an existing Secret Manager secret holding the key)."
    }
  }

  depends_on = [google_project_service.apis]
}

# Vertex AI: roles/aiplatform.user can only be granted on a project (Vertex AI endpoints and
# publisher models have no resource-level IAM for it), so this is the one project-level grant
# a runtime account gets, and only in vertex-ai mode.
resource "google_project_iam_member" "worker_vertex_user" {
  count = local.use_vertex ? 1 : 0

  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = local.runtime_members.worker
}

# ---------------------------------------------------------------------------------------------
# Who may invoke what: run.invoker on each function's Cloud Run service, never on the project.
# ---------------------------------------------------------------------------------------------

resource "google_cloud_run_v2_service_iam_member" "trigger_ingest" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.ingest.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_cloud_run_v2_service_iam_member" "invoker_worker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.worker.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

resource "google_cloud_run_v2_service_iam_member" "invoker_budget_guard" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.budget_guard.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

resource "google_cloud_run_v2_service_iam_member" "invoker_dead_letter" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.dead_letter.service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker.email}"
}

# ---------------------------------------------------------------------------------------------
# Eventarc (Cloud Storage trigger of ingest)
# ---------------------------------------------------------------------------------------------

# eventarc.eventReceiver exists at project level only.
resource "google_project_iam_member" "trigger_event_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

# The Eventarc service agent reads the trigger's bucket and manages its Pub/Sub transport. Google
# usually grants this role when the API is enabled; granting it here removes the wait for that.
resource "google_project_iam_member" "eventarc_agent" {
  project = var.project_id
  role    = "roles/eventarc.serviceAgent"
  member  = "serviceAccount:${google_project_service_identity.eventarc.email}"
}

# Cloud Storage publishes object notifications to the topic Eventarc creates for the trigger;
# that topic does not exist before the trigger, hence a project-level grant (Google's recipe).
resource "google_project_iam_member" "gcs_agent_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

# ---------------------------------------------------------------------------------------------
# Pub/Sub service agent (service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com)
# ---------------------------------------------------------------------------------------------

# Dead-lettering: Pub/Sub itself forwards failed jobs and acknowledges them on the source.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.id
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent_member
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_jobs_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.jobs_push.id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent_member
}

# Minting OIDC tokens for push (needed in projects created before 2021-04-08; harmless later),
# granted on the two push identities only.
resource "google_service_account_iam_member" "pubsub_agent_token_creator_invoker" {
  service_account_id = google_service_account.invoker.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent_member
}

resource "google_service_account_iam_member" "pubsub_agent_token_creator_trigger" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent_member
}

# First apply in a fresh project: the Eventarc service agent and the grants above take a while
# to propagate, and creating the storage trigger too early fails with a permission error. The
# ingest function (which owns the trigger) waits for this.
resource "time_sleep" "eventarc_propagation" {
  create_duration = "90s"

  triggers = {
    eventarc_agent = google_project_service_identity.eventarc.email
    eventarc_role  = google_project_iam_member.eventarc_agent.id
    gcs_publisher  = google_project_iam_member.gcs_agent_publisher.id
    event_receiver = google_project_iam_member.trigger_event_receiver.id
    token_creator  = google_service_account_iam_member.pubsub_agent_token_creator_trigger.id
  }
}

# ---------------------------------------------------------------------------------------------
# Build account (Cloud Build builds the function images from the source zips)
# ---------------------------------------------------------------------------------------------

locals {
  build_member = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_sources_read" {
  bucket = google_storage_bucket.sources.name
  role   = "roles/storage.objectViewer"
  member = local.build_member
}

# Cloud Functions copies each zip into a bucket it creates itself, gcf-v2-sources-<number>-<region>,
# and the build reads it from there (a build account without this fails with "Access denied" on
# that bucket). It does not exist before the first deploy, so the grant is project-level,
# conditioned on that bucket's name.
resource "google_project_iam_member" "build_gcf_sources_read" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = local.build_member

  condition {
    title       = "gcf-v2-sources-only"
    description = "Only the bucket Cloud Functions copies function sources to."
    expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-${data.google_project.this.number}-${var.region}\")"
  }
}

# Build logs. Project level only.
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = local.build_member
}

# Pushes the built image to the gcf-artifacts repository, which Cloud Functions creates itself
# on the first deploy (so no repository exists yet to grant on).
resource "google_project_iam_member" "build_artifact_writer" {
  project = var.project_id
  role    = "roles/artifactregistry.writer"
  member  = local.build_member
}

