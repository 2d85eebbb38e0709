/**
 * The worker's factory, kept apart from functions/runtime.ts so that only the worker imports
 * @google/genai (cold start of ingest and dead-letter stays small). The deps themselves are put
 * together by the composition root in shared/wiring/.
 */
import { randomBytes } from 'node:crypto';
import { BatchInbox } from '../../shared/pipeline/batch-inbox.ts';
import type { JobStage } from '../../shared/pipeline/job-stages.ts';
import { SpendGuard } from '../../shared/pipeline/spend-guard.ts';
import type { WorkerDeps } from '../../shared/ports/worker-deps.ts';
import { requireGeminiModel } from '../../shared/wiring/image-model.ts';
import { buildWorkerDeps, requireBuckets } from '../../shared/wiring/worker-deps.ts';
import type { FunctionRuntime } from '../runtime.ts';

/**
 * The worker's deps: the shared runtime plus the Gemini model. Refuses to start (CONFIG_INVALID)
 * without both bucket names, since it must refuse jobs naming buckets it does not own, and
 * without Gemini credentials (never a silent fallback to a stand-in).
 */
export function workerDeps(
  runtime: FunctionRuntime,
  env: NodeJS.ProcessEnv = process.env,
): WorkerDeps {
  const { config } = runtime;
  const failpoint = config.BANANAFLOW_FAILPOINT;
  const buckets = requireBuckets(config, 'worker');
  // Claims name their holder: the revision says which deployment, the suffix which instance.
  const workerId = `${env.K_REVISION ?? 'local'}-${randomBytes(4).toString('hex')}`;
  return buildWorkerDeps(config, {
    store: runtime.store,
    queue: runtime.queue,
    catalog: runtime.catalog,
    log: runtime.log,
    now: runtime.now,
    uriOf: runtime.uriOf,
    model: requireGeminiModel(config),
    workerId,
    buckets,
    ...(failpoint ? { failpoint: crashAt(failpoint, runtime) } : {}),
    spending: new SpendGuard({
      store: runtime.store,
      bucket: buckets.output,
      queue: runtime.queue,
      workerId,
      log: runtime.log,
      now: runtime.now,
      maxUsdPerDay: config.BANANAFLOW_MAX_USD_PER_DAY,
    }),
    ...(config.BANANAFLOW_BATCH_PATH === 'on'
      ? { batchInbox: new BatchInbox(runtime.store, buckets.output) }
      : {}),
  });
}

/** Crash tests: SIGKILL this process when a job reaches the stage, as an OOM kill would. */
function crashAt(stage: JobStage, runtime: FunctionRuntime): (reached: JobStage) => void {
  return (reached) => {
    if (reached !== stage) return;
    runtime.log.error(`BANANAFLOW_FAILPOINT=${stage}: killing the worker process now`);
    process.kill(process.pid, 'SIGKILL');
  };
}
