/**
 * The batch tick's factory: the worker's deps (records, result events, the jobs topic the answered
 * jobs go to) plus the Gemini Batch API. Like the worker's, it imports @google/genai, so it is kept
 * apart from functions/runtime.ts.
 */
import { geminiBackend } from '../../shared/config.ts';
import { BananaError } from '../../shared/errors.ts';
import type { BatchTickDeps, BatchTickOptions } from '../../shared/pipeline/batch-tick.ts';
import type { BatchStage } from '../../shared/pipeline/job-stages.ts';
import { geminiBatchModel } from '../../shared/wiring/image-model.ts';
import type { FunctionRuntime } from '../runtime.ts';
import { workerDeps } from '../worker/worker-deps.ts';

export function batchTickDeps(
  runtime: FunctionRuntime,
  env: NodeJS.ProcessEnv = process.env,
): { deps: BatchTickDeps; options: BatchTickOptions } {
  const { config } = runtime;
  const worker = workerDeps(runtime, env);
  const backend = geminiBackend(config);
  const batchModel = backend
    ? geminiBatchModel(backend, config.BANANAFLOW_BATCH_INLINE_MAX_BYTES)
    : undefined;
  if (!batchModel || !worker.buckets) {
    throw new BananaError({
      code: 'CONFIG_INVALID',
      message: 'The batch tick needs the Gemini API (the Batch API is not available on Vertex AI).',
      fix: 'Deploy with gemini_backend = "gemini-api", or set BANANAFLOW_BATCH_PATH=off and do not deploy the batch tick.',
    });
  }
  const failpoint = config.BANANAFLOW_BATCH_FAILPOINT;
  const deps: BatchTickDeps = {
    ...worker,
    batchModel,
    ...(failpoint ? { batchFailpoint: crashAt(failpoint, runtime) } : {}),
  };
  const options: BatchTickOptions = {
    bucket: worker.buckets.output,
    limits: {
      maxRequests: config.BANANAFLOW_BATCH_MAX_REQUESTS,
      maxBytes: config.BANANAFLOW_BATCH_MAX_BYTES,
    },
    windowMs: config.BANANAFLOW_BATCH_WINDOW_MS,
    leaseMs: config.BANANAFLOW_BATCH_LEASE_MS,
    concurrency: 8,
  };
  return { deps, options };
}

/** Crash tests: SIGKILL this process when the tick reaches the stage, as an OOM kill would. */
function crashAt(stage: BatchStage, runtime: FunctionRuntime): (reached: BatchStage) => void {
  return (reached) => {
    if (reached !== stage) return;
    runtime.log.error(`BANANAFLOW_BATCH_FAILPOINT=${stage}: killing the batch tick now`);
    process.kill(process.pid, 'SIGKILL');
  };
}
