/**
 * The worker's factory, kept apart from functions/runtime.ts so that only the worker imports
 * @google/genai (cold start of ingest and dead-letter stays small).
 */
import { randomBytes } from 'node:crypto';
import { type Config, geminiBackend } from '../../shared/config.ts';
import { BananaError } from '../../shared/errors.ts';
import { createGeminiImageModel } from '../../shared/gemini/gemini-image-model.ts';
import type { JobStage } from '../../shared/pipeline/job-stages.ts';
import type { WorkerDeps } from '../../shared/pipeline/run-job.ts';
import type { ImageModel } from '../../shared/ports/image-model.ts';
import type { FunctionRuntime } from '../runtime.ts';

/** The worker's deps: the shared runtime plus the Gemini model. */
export function workerDeps(
  runtime: FunctionRuntime,
  env: NodeJS.ProcessEnv = process.env,
): WorkerDeps {
  const { config } = runtime;
  return {
    store: runtime.store,
    model: createImageModel(config),
    queue: runtime.queue,
    catalog: runtime.catalog,
    log: runtime.log,
    now: runtime.now,
    uriOf: runtime.uriOf,
    // Claims name their holder: the revision says which deployment, the suffix which instance.
    workerId: `${env.K_REVISION ?? 'local'}-${randomBytes(4).toString('hex')}`,
    ...(config.BANANAFLOW_INPUT_BUCKET && config.BANANAFLOW_OUTPUT_BUCKET
      ? {
          buckets: {
            input: config.BANANAFLOW_INPUT_BUCKET,
            output: config.BANANAFLOW_OUTPUT_BUCKET,
          },
        }
      : {}),
    ...(config.BANANAFLOW_FAILPOINT
      ? { failpoint: crashAt(config.BANANAFLOW_FAILPOINT, runtime) }
      : {}),
    limits: {
      maxInputBytes: config.BANANAFLOW_MAX_INPUT_BYTES,
      maxInputPixels: config.BANANAFLOW_MAX_INPUT_PIXELS,
      modelTimeoutMs: config.BANANAFLOW_MODEL_TIMEOUT_MS,
      leaseMs: config.BANANAFLOW_LEASE_MS,
    },
  };
}

/**
 * Gemini through @google/genai. A function never falls back to the offline stand-in: without
 * credentials it refuses to start. A base URL (the stand-in, a proxy) is named in the backend
 * label, so records never pass a stand-in's images off as Gemini's.
 */
export function createImageModel(config: Config): ImageModel {
  const backend = geminiBackend(config);
  if (!backend) {
    throw new BananaError({
      code: 'CONFIG_INVALID',
      message: 'The worker has no Gemini credentials.',
      fix: 'Set GEMINI_API_KEY (Gemini API; from Secret Manager in the cloud), or GOOGLE_GENAI_USE_VERTEXAI=true with GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION) for Vertex AI. Locally, `npm run stack` sets GOOGLE_GEMINI_BASE_URL and GEMINI_API_KEY for the offline stand-in.',
    });
  }
  const label = backend.baseUrl ? `${backend.kind} at ${backend.baseUrl}` : backend.kind;
  return createGeminiImageModel({ backend, label });
}

/** Crash tests: SIGKILL this process when a job reaches the stage, as an OOM kill would. */
function crashAt(stage: JobStage, runtime: FunctionRuntime): (reached: JobStage) => void {
  return (reached) => {
    if (reached !== stage) return;
    runtime.log.error(`BANANAFLOW_FAILPOINT=${stage}: killing the worker process now`);
    process.kill(process.pid, 'SIGKILL');
  };
}
