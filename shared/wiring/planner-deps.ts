import type { ModelCatalog } from '../catalog/model-catalog.ts';
import { TIERS, type Tier } from '../catalog/tiers.ts';
import type { Config } from '../config.ts';
import type { RequestDeps } from '../pipeline/accept-request.ts';
import { BatchInbox, routeBatchTier } from '../pipeline/batch-inbox.ts';
import type { IngestDeps } from '../pipeline/ingest-upload.ts';
import type { PlannerDeps } from '../pipeline/plan-sidecar.ts';
import type { JobQueue, RequestEventSink } from '../ports/job-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { ObjectStore } from '../ports/object-store.ts';

/** The composition root's planner half: PlannerDeps (runner, CLI) and IngestDeps (the function). */

export interface PlannerParts {
  store: ObjectStore;
  catalog: ModelCatalog;
  log: Logger;
  uriOf: (bucket: string, name: string) => string;
  buckets: { input: string; output: string };
  now?: () => Date;
}

export function buildPlannerDeps(config: Config, parts: PlannerParts): PlannerDeps {
  return {
    store: parts.store,
    catalog: parts.catalog,
    log: parts.log,
    now: parts.now ?? (() => new Date()),
    uriOf: parts.uriOf,
    inputBucket: parts.buckets.input,
    outputBucket: parts.buckets.output,
    defaultModel: config.BANANAFLOW_MODEL,
    defaultTier: config.BANANAFLOW_TIER,
    maxSidecarBytes: config.BANANAFLOW_MAX_SIDECAR_BYTES,
  };
}

export function buildIngestDeps(
  config: Config,
  parts: PlannerParts & { queue: JobQueue },
): IngestDeps {
  return {
    ...buildPlannerDeps(config, parts),
    ...cloudTiers(config, parts),
    maxEventAgeMs: config.BANANAFLOW_MAX_EVENT_AGE_MS,
  };
}

/** The requests function's deps: planning as ingest plans, plus where request events go. */
export function buildRequestDeps(
  config: Config,
  parts: PlannerParts & { queue: JobQueue; events: RequestEventSink },
): RequestDeps {
  return {
    ...buildPlannerDeps(config, parts),
    ...cloudTiers(config, parts),
    events: parts.events,
    // A request is a sidecar in a message: the same cap.
    maxRequestBytes: config.BANANAFLOW_MAX_SIDECAR_BYTES,
  };
}

/**
 * Where a cloud planner's jobs go: with the batch path on (the batch-tick function deployed),
 * batch-tier jobs become pending markers for it and every other job goes to the jobs topic; with
 * it off, the batch tier is refused at planning.
 */
function cloudTiers(
  config: Config,
  parts: PlannerParts & { queue: JobQueue },
): { queue: JobQueue; availableTiers: readonly Tier[] } {
  if (config.BANANAFLOW_BATCH_PATH === 'off') {
    return { queue: parts.queue, availableTiers: ['standard', 'flex'] };
  }
  const inbox = new BatchInbox(parts.store, parts.buckets.output);
  return { queue: routeBatchTier(parts.queue, inbox), availableTiers: TIERS };
}
