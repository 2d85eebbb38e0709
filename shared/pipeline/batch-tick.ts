import { collectFinished } from './batch-collect.ts';
import { BatchInbox } from './batch-inbox.ts';
import { BatchLease } from './batch-lease.ts';
import { BatchManifests, CLOUD_BATCH_PREFIX } from './batch-manifests.ts';
import { ensureSubmitted, submitDue } from './batch-submit.ts';
import {
  type BatchTick,
  type BatchTickDeps,
  type BatchTickOptions,
  type BatchTickReport,
  emptyReport,
} from './batch-tick-context.ts';

export type { BatchTickDeps, BatchTickOptions, BatchTickReport } from './batch-tick-context.ts';

/**
 * The cloud's batch tier, one tick (Cloud Scheduler → Pub/Sub → the batch-tick function, every few
 * minutes). Ingest leaves batch-tier jobs as pending markers (batch-inbox.ts); each tick, under a
 * lease so that ticks never overlap:
 *   1. collects finished batches: answers are persisted and handed to the worker, which writes
 *      outputs, records and result events as for every job; unanswered jobs get error records
 *      (batch-collect.ts)
 *   2. creates recorded batches a crashed tick did not create (found by display name first)
 *   3. submits the pending jobs whose window is over, each batch recorded before it is created
 *      (batch-submit.ts, batch-window.ts)
 * Everything it writes is create-only or guarded by generation, so a tick that dies anywhere is
 * finished by the next one: no job is submitted twice, none is lost.
 */
export async function runBatchTick(
  deps: BatchTickDeps,
  options: BatchTickOptions,
): Promise<BatchTickReport> {
  const lease = new BatchLease(deps.store, options.bucket);
  const held = await lease.take(deps.workerId, deps.now(), options.leaseMs);
  if (!held) {
    deps.log.info('another batch tick holds the lease; this one does nothing');
    return { ...emptyReport(), busy: true };
  }
  const tick: BatchTick = {
    deps,
    options,
    inbox: new BatchInbox(deps.store, options.bucket),
    manifests: new BatchManifests(deps.store, options.bucket, CLOUD_BATCH_PREFIX),
    report: emptyReport(),
  };
  try {
    const open = await tick.manifests.open();
    const running = await collectFinished(
      tick,
      open.filter((m) => m.manifest.name),
    );
    for (const stored of open.filter((m) => !m.manifest.name)) {
      const now = await ensureSubmitted(tick, stored);
      if (now) running.push(now);
    }
    // Spending is paused (budget or daily cap): finished batches are still collected (already
    // paid), but nothing new is submitted until `bananaflow resume` or the cap's reset.
    const paused = await deps.spending?.check();
    if (paused) deps.log.warn('spending is paused: no new batch is submitted', { ...paused });
    else await submitDue(tick, running);
  } finally {
    await lease.release(held).catch((error: unknown) => {
      deps.log.warn('could not release the batch tick lease; it expires', {
        error: (error as Error).message,
      });
    });
  }
  deps.log.info('batch tick done', { ...tick.report });
  return tick.report;
}
