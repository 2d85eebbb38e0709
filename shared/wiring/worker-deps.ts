import type { ModelCatalog } from '../catalog/model-catalog.ts';
import type { Config } from '../config.ts';
import { BananaError } from '../errors.ts';
import { withDailyQuotaGate } from '../pipeline/daily-quota-gate.ts';
import type { ImageModel } from '../ports/image-model.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { governImageModel } from '../quota/governed-image-model.ts';
import { ModelGovernors } from '../quota/model-governors.ts';

/**
 * The composition root's worker half: the one place WorkerDeps are put together, for the Cloud
 * Function (functions/worker), the embedded runner (infra/runner) and therefore the stack. Callers
 * hand in the adapters they chose; everything else comes from the parsed config.
 */

/** The adapters and identity a platform supplies; the rest of WorkerDeps comes from config. */
export interface WorkerParts {
  store: ObjectStore;
  queue: JobQueue;
  catalog: ModelCatalog;
  log: Logger;
  model: ImageModel;
  uriOf: (bucket: string, name: string) => string;
  /** Names the claim holder (revision and instance in the cloud, the pid locally). */
  workerId: string;
  buckets: { input: string; output: string };
  now?: () => Date;
  failpoint?: WorkerDeps['failpoint'];
  spending?: WorkerDeps['spending'];
  claimOwnerGone?: WorkerDeps['claimOwnerGone'];
  batchInbox?: WorkerDeps['batchInbox'];
  site?: WorkerDeps['site'];
  /** The rate governors of this process (the runner reads their throttling); default from config. */
  governors?: ModelGovernors;
}

/** The per-model rate governors the config asks for: told BANANAFLOW_IPM, else adaptive. */
export function modelGovernorsFor(config: Config): ModelGovernors {
  return new ModelGovernors({
    imagesPerMinute: config.BANANAFLOW_IPM,
    windowMs: config.BANANAFLOW_QUOTA_WINDOW_MS,
    marginMs: config.BANANAFLOW_QUOTA_MARGIN_MS,
  });
}

/**
 * The model as the worker calls it: each call waits for its slot under the model's quota (a 429
 * pauses every slot and is held through, see shared/quota/), and a model whose daily quota ran out
 * is not called again until it resets (logged once).
 */
function workerModel(config: Config, parts: WorkerParts): ImageModel {
  const governed = governImageModel(parts.model, {
    governors: parts.governors ?? modelGovernorsFor(config),
    maxHoldMs: config.BANANAFLOW_QUOTA_MAX_HOLD_MS,
  });
  return withDailyQuotaGate(governed, parts.log);
}

export function buildWorkerDeps(config: Config, parts: WorkerParts): WorkerDeps {
  return {
    store: parts.store,
    model: workerModel(config, parts),
    queue: parts.queue,
    catalog: parts.catalog,
    log: parts.log,
    now: parts.now ?? (() => new Date()),
    uriOf: parts.uriOf,
    workerId: parts.workerId,
    buckets: parts.buckets,
    ...(parts.failpoint ? { failpoint: parts.failpoint } : {}),
    ...(parts.spending ? { spending: parts.spending } : {}),
    ...(parts.claimOwnerGone ? { claimOwnerGone: parts.claimOwnerGone } : {}),
    ...(parts.batchInbox ? { batchInbox: parts.batchInbox } : {}),
    ...(parts.site ? { site: parts.site } : {}),
    limits: {
      maxInputBytes: config.BANANAFLOW_MAX_INPUT_BYTES,
      maxInputPixels: config.BANANAFLOW_MAX_INPUT_PIXELS,
      modelTimeoutMs: config.BANANAFLOW_MODEL_TIMEOUT_MS,
      flexTimeoutMs: config.BANANAFLOW_FLEX_TIMEOUT_MS,
      leaseMs: config.BANANAFLOW_LEASE_MS,
      maxQuotaDeferrals: config.BANANAFLOW_MAX_QUOTA_DEFERRALS,
    },
  };
}

/**
 * Both bucket names, or CONFIG_INVALID naming what is missing: a function must know which
 * buckets it owns (the worker refuses jobs naming others; ingest plans into the output bucket).
 */
export function requireBuckets(config: Config, who: string): { input: string; output: string } {
  const input = config.BANANAFLOW_INPUT_BUCKET;
  const output = config.BANANAFLOW_OUTPUT_BUCKET;
  if (input && output) return { input, output };
  const missing = [
    ...(input ? [] : ['BANANAFLOW_INPUT_BUCKET']),
    ...(output ? [] : ['BANANAFLOW_OUTPUT_BUCKET']),
  ];
  throw new BananaError({
    code: 'CONFIG_INVALID',
    message: `The ${who} needs ${missing.join(' and ')}.`,
    fix: 'Set BANANAFLOW_INPUT_BUCKET (the bucket that triggers ingest) and BANANAFLOW_OUTPUT_BUCKET (a different bucket, for outputs and records).',
    details: { missing },
  });
}
