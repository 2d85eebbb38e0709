import { createHash } from 'node:crypto';
import { BananaError, toBananaError } from '../errors.ts';
import { mapLimit } from '../map-limit.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import type { BatchItem } from '../ports/batch-image-model.ts';
import { recordBatchFailure } from './batch-collect.ts';
import type { PendingJob } from './batch-inbox.ts';
import type { StoredManifest } from './batch-manifests.ts';
import { batchItemOf, groupBatchItems, stepsOf } from './batch-requests.ts';
import type { BatchTick } from './batch-tick-context.ts';
import { dueJobs } from './batch-window.ts';
import { JobState } from './job-state.ts';

/**
 * The batch tick's submitting half. Due jobs (batch-window.ts) are grouped per model within the
 * API's limits; each batch is recorded (manifest, create-only, under a display name derived from
 * its jobs and their markers) BEFORE it is created, and a recorded batch without a name is looked
 * up by that display name before it is created: a crash anywhere never submits twice.
 */

/** Pending jobs whose window is over go into new batches; `open` batches keep theirs. */
export async function submitDue(tick: BatchTick, open: readonly StoredManifest[]): Promise<void> {
  const assigned = new Set(open.flatMap((m) => m.manifest.keys));
  const pending = (await tick.inbox.list()).filter((p) => !assigned.has(p.jobId));
  const due = dueJobs(pending, tick.options, tick.deps.now());
  tick.report.waiting += pending.length - due.length;
  const { maxRequests } = tick.options.limits;
  // A batch's worth at a time: its images are in memory only until it is submitted.
  for (let start = 0; start < due.length; start += maxRequests) {
    const chunk = due.slice(start, start + maxRequests);
    const jobs = await readUnfinished(tick, chunk);
    const items = await prepareItems(tick, jobs);
    const { batchModel } = tick.deps;
    for (const group of groupBatchItems(jobs, items, tick.options.limits, batchModel.sizeOf)) {
      const stored = await recordBatch(tick, group, items, chunk);
      tick.deps.batchFailpoint?.('batch-recorded');
      await ensureSubmitted(tick, stored, items);
    }
  }
}

/** The jobs of pending markers; a marker of a job answered or recorded meanwhile is removed. */
async function readUnfinished(tick: BatchTick, pending: readonly PendingJob[]): Promise<Job[]> {
  const read = await mapLimit(pending, tick.options.concurrency, async ({ jobId }) => {
    const job = await tick.inbox.read(jobId);
    if (!job || !(await isFinished(tick, job))) return job;
    await tick.inbox.remove(jobId);
    return undefined;
  });
  return read.filter((job) => job !== undefined);
}

/** Recorded, or answered (its persisted answer waits for the worker): never submitted again. */
async function isFinished(tick: BatchTick, job: Job): Promise<boolean> {
  const { store } = tick.deps;
  const names = outputNames(job.output.base, job.output.format);
  const records = await Promise.all(
    [names.metadata, names.error].map((n) => store.stat(job.output.bucket, n)),
  );
  if (records.some(Boolean)) return true;
  const state = new JobState(store, job.output.bucket, job.jobId);
  return (await state.loadModelResultRecord()) !== undefined;
}

/** The requests of jobs, by job id; a job whose inputs cannot be read gets its error record. */
async function prepareItems(tick: BatchTick, jobs: readonly Job[]) {
  const items = new Map<string, BatchItem>();
  await mapLimit(jobs, tick.options.concurrency, async (job) => {
    try {
      items.set(job.jobId, await batchItemOf(tick.deps, job));
    } catch (error) {
      const failure = toBananaError(error);
      if (failure.retryable) throw failure;
      await recordBatchFailure(tick, job, failure);
    }
  });
  return items;
}

/** Writes a batch's manifest (create-only) under a display name its content determines. */
async function recordBatch(
  tick: BatchTick,
  group: { model: string; keys: string[] },
  items: ReadonlyMap<string, BatchItem>,
  pending: readonly PendingJob[],
): Promise<StoredManifest> {
  const steps = stepsOf(group.keys, items);
  const generations = new Map(pending.map((p) => [p.jobId, p.generation]));
  const hash = createHash('sha256').update(group.model);
  for (const key of group.keys) hash.update(`|${key}:${generations.get(key)}:${steps?.[key]}`);
  return tick.manifests.create({
    schemaVersion: 1,
    displayName: `bananaflow-${hash.digest('hex').slice(0, 24)}`,
    model: group.model,
    runId: 'cloud-batch',
    keys: group.keys,
    ...(steps ? { steps } : {}),
    createdAt: tick.deps.now().toISOString(),
  });
}

/**
 * Creates a recorded batch unless the API has it already (found by display name). Returns the
 * manifest as it is now: named, or as it was (the API failed in a way a later tick may not: tried
 * again then); undefined when it is gone (nothing left to send, or the API refused it).
 */
export async function ensureSubmitted(
  tick: BatchTick,
  stored: StoredManifest,
  items: Map<string, BatchItem> = new Map(),
): Promise<StoredManifest | undefined> {
  if (stored.manifest.name) return stored;
  const found = await tick.deps.batchModel.find(stored.manifest.displayName);
  if (found) {
    tick.report.found++;
    return tick.manifests.update(stored, { name: found.name });
  }
  const read = await mapLimit(stored.manifest.keys, tick.options.concurrency, (key) =>
    tick.inbox.read(key),
  );
  const jobs = read.filter((job) => job !== undefined);
  // A batch recorded by a tick that crashed before creating it: its requests are built now.
  const missing = jobs.filter((job) => !items.has(job.jobId));
  for (const [key, item] of await prepareItems(tick, missing)) items.set(key, item);
  const batchJobs = jobs.filter((job) => items.has(job.jobId));
  if (batchJobs.length > 0) return createBatch(tick, stored, batchJobs, items);
  await tick.manifests.remove(stored);
  return undefined;
}

async function createBatch(
  tick: BatchTick,
  stored: StoredManifest,
  jobs: readonly Job[],
  items: ReadonlyMap<string, BatchItem>,
): Promise<StoredManifest | undefined> {
  const { displayName, model } = stored.manifest;
  let status: Awaited<ReturnType<BatchTick['deps']['batchModel']['submit']>>;
  try {
    const batchItems = jobs.flatMap((job) => items.get(job.jobId) ?? []);
    status = await tick.deps.batchModel.submit({ displayName, model, items: batchItems });
  } catch (error) {
    return refused(tick, stored, jobs, toBananaError(error));
  }
  tick.deps.batchFailpoint?.('batch-submitted');
  const named = await tick.manifests.update(stored, { name: status.name, via: status.via });
  tick.deps.batchFailpoint?.('batch-named');
  tick.report.submitted++;
  tick.deps.log.info('batch submitted', {
    batch: status.name,
    displayName,
    requests: jobs.length,
    via: status.via,
  });
  return named;
}

/**
 * `create` failed. Retryable (quota, 5xx, network): the manifest stays unnamed and the next tick
 * looks it up and tries again. Permanent (the API refuses the batch): every job gets its record.
 */
async function refused(
  tick: BatchTick,
  stored: StoredManifest,
  jobs: readonly Job[],
  failure: BananaError,
): Promise<StoredManifest | undefined> {
  if (failure.retryable) {
    tick.deps.log.warn('creating a batch failed; the next tick tries again', {
      displayName: stored.manifest.displayName,
      error: failure.message,
    });
    return stored;
  }
  const because = new BananaError({
    code: failure.code,
    message: `The Batch API refused batch ${stored.manifest.displayName}: ${failure.message}`,
    ...(failure.fix ? { fix: failure.fix } : {}),
    details: { ...failure.details, batch: stored.manifest.displayName },
    cause: failure,
  });
  for (const job of jobs) await recordBatchFailure(tick, job, because);
  await tick.manifests.remove(stored);
  return undefined;
}
