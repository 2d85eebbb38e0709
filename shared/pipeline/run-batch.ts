import { BananaError, toBananaError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import {
  type BatchImageModel,
  type BatchItem,
  type BatchState,
  FINAL_BATCH_STATES,
} from '../ports/batch-image-model.ts';
import type { ImageModel, ModelOutcome } from '../ports/image-model.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { BatchManifests, type StoredManifest } from './batch-manifests.ts';
import {
  batchItemOf,
  groupBatchItems,
  keepBatchStep,
  missingAnswer,
  rerunnable,
  stepsOf,
  withEarlierSteps,
} from './batch-requests.ts';
import type { BatchStage } from './job-stages.ts';
import { JobState } from './job-state.ts';
import { type RunJobResult, runJob } from './run-job.ts';
import { writeErrorRecord } from './write-records.ts';

/**
 * The batch tier: jobs go to the Gemini Batch API in batch jobs instead of one call each, and
 * come back through the same `runJob` as every other answer (claim, persist the answer, encode,
 * write outputs, then the metadata record), so outputs and records are the standard path's, with
 * `tier: "batch"`, the batch's name and the cost at batch prices.
 *
 *   1. jobs finished earlier are reported as such; jobs in an open batch manifest wait for it
 *   2. the other jobs are grouped per model into batches within the API's limits; each batch is
 *      recorded (manifest, create-only) BEFORE it is submitted
 *   3. a recorded batch without an API name is looked up by display name (a crash right after
 *      `create`) and submitted only when it is not found: never twice
 *   4. batches are polled; a succeeded one is collected key by key (a missing key is that job's
 *      error record), an expired/failed/cancelled one gives its jobs records saying so, which a
 *      rerun clears and resubmits (`details.rerunnable`)
 *   5. a refinement runs one batch round per step: an answered step is kept as the job's
 *      checkpoint (as the standard path keeps it) and the next step goes in the next round
 */

export { BATCH_STAGES, type BatchStage } from './job-stages.ts';

export interface BatchRunDeps extends WorkerDeps {
  batchModel: BatchImageModel;
  batchFailpoint?: (stage: BatchStage) => void;
}

export interface BatchProgress {
  displayName: string;
  name?: string;
  state: BatchState;
  requests: number;
}

export interface BatchRunOptions {
  runId: string;
  /** The API's limits per batch job: requests, and bytes of the JSONL file. */
  limits: { maxRequests: number; maxBytes: number };
  pollMs: number;
  /** Jobs collected (encoded and written) at once. */
  concurrency: number;
  onProgress?: (batches: BatchProgress[]) => void;
  /** Called exactly once per job with its outcome. */
  onJobDone: (job: Job, result: RunJobResult) => void | Promise<void>;
}

interface Run {
  deps: BatchRunDeps;
  /** Batches recorded by this run, for unique display names across rounds. */
  recorded: number;
  options: BatchRunOptions;
  manifests: BatchManifests;
  byId: Map<string, Job>;
  report: (job: Job, result: RunJobResult) => Promise<void>;
}

export async function runBatchJobs(
  deps: BatchRunDeps,
  jobs: readonly Job[],
  options: BatchRunOptions,
): Promise<void> {
  const bucket = jobs[0]?.output.bucket;
  if (!bucket) return;
  const reported = new Set<string>();
  const run: Run = {
    deps,
    recorded: 0,
    options,
    manifests: new BatchManifests(deps.store, bucket),
    byId: new Map(jobs.map((job) => [job.jobId, job])),
    report: async (job, result) => {
      if (reported.has(job.jobId)) return;
      reported.add(job.jobId);
      await options.onJobDone(job, result);
    },
  };
  const open = await run.manifests.open();
  const assigned = new Set(open.flatMap((m) => m.manifest.keys));
  const fresh: Job[] = [];
  for (const job of jobs) {
    if (await alreadyAnswered(run, job)) continue;
    if (!assigned.has(job.jobId)) fresh.push(job);
  }
  let batches = await submitRound(run, open, fresh);
  // Each round answers one more step of the refinements in it; single-turn jobs finish in one.
  while (batches.length > 0) {
    const nextStep = await waitAndCollect(run, batches);
    batches = await submitRound(run, [], nextStep);
  }
}

/** Records and submits batches for `jobs`, and submits any recorded batch not created yet. */
async function submitRound(
  run: Run,
  open: StoredManifest[],
  jobs: readonly Job[],
): Promise<StoredManifest[]> {
  const items = await prepareItems(run, jobs);
  const { limits } = run.options;
  const groups = groupBatchItems(jobs, items, limits, run.deps.batchModel.sizeOf);
  const recorded = await recordBatches(run, groups, items);
  const batches: StoredManifest[] = [];
  for (const stored of [...open, ...recorded])
    batches.push(await ensureSubmitted(run, stored, items));
  return batches;
}

/** A job with a record, or whose answer an earlier run persisted: finished now, never resubmitted. */
async function alreadyAnswered(run: Run, job: Job): Promise<boolean> {
  const names = outputNames(job.output.base, job.output.format);
  const [metadata, error] = await Promise.all(
    [names.metadata, names.error].map((n) => run.deps.store.stat(job.output.bucket, n)),
  );
  const persisted =
    !metadata && !error
      ? await new JobState(run.deps.store, job.output.bucket, job.jobId).loadModelResult()
      : undefined;
  if (!metadata && !error && !persisted) return false;
  // runJob finds the record (a duplicate) or reuses the persisted answer: the model is not called.
  await finishJob(run, job, undefined);
  return true;
}

/** The requests of jobs, by job id; a job whose inputs cannot be read gets its error record. */
async function prepareItems(run: Run, jobs: readonly Job[]): Promise<Map<string, BatchItem>> {
  const items = new Map<string, BatchItem>();
  for (const job of jobs) {
    try {
      items.set(job.jobId, await batchItemOf(run.deps, job));
    } catch (error) {
      const failure = toBananaError(error);
      if (failure.retryable) throw failure;
      const record = await writeErrorRecord(run.deps, job, failure, 1);
      await run.report(job, { status: 'failed', record, recordUri: recordUriOf(run, job) });
    }
  }
  return items;
}

async function recordBatches(
  run: Run,
  groups: Array<{ model: string; keys: string[] }>,
  items: Map<string, BatchItem>,
) {
  const recorded: StoredManifest[] = [];
  for (const group of groups) {
    // Which step each refinement asks for: its answer is applied once, even if collected twice.
    const steps = stepsOf(group.keys, items);
    const stored = await run.manifests.create({
      schemaVersion: 1,
      displayName: `bananaflow-${run.options.runId}-${++run.recorded}`,
      model: group.model,
      runId: run.options.runId,
      keys: group.keys,
      ...(steps ? { steps } : {}),
      createdAt: run.deps.now().toISOString(),
    });
    run.deps.batchFailpoint?.('batch-recorded');
    recorded.push(stored);
  }
  return recorded;
}

/** Submits a recorded batch unless the API already has it (found by display name). */
async function ensureSubmitted(
  run: Run,
  stored: StoredManifest,
  items: Map<string, BatchItem>,
): Promise<StoredManifest> {
  if (stored.manifest.name) return stored;
  const { batchModel } = run.deps;
  const found = await batchModel.find(stored.manifest.displayName);
  if (found) return run.manifests.update(stored, { name: found.name });
  const jobs = stored.manifest.keys.flatMap((key) => run.byId.get(key) ?? []);
  // Jobs of a batch an earlier run recorded but never submitted: their requests are built now.
  const missing = jobs.filter((job) => !items.has(job.jobId));
  for (const [key, item] of await prepareItems(run, missing)) items.set(key, item);
  const batchItems = jobs.flatMap((job) => items.get(job.jobId) ?? []);
  if (batchItems.length === 0) return run.manifests.update(stored, { closed: 'cancelled' });
  const status = await batchModel.submit({
    displayName: stored.manifest.displayName,
    model: stored.manifest.model,
    items: batchItems,
  });
  run.deps.batchFailpoint?.('batch-submitted');
  const named = await run.manifests.update(stored, { name: status.name, via: status.via });
  run.deps.batchFailpoint?.('batch-named');
  run.deps.log.info('batch submitted', {
    batch: status.name,
    displayName: status.displayName,
    requests: batchItems.length,
    via: status.via,
  });
  return named;
}

/** Waits for the batches and collects them; returns the refinements with a step still to go. */
async function waitAndCollect(run: Run, batches: StoredManifest[]): Promise<Job[]> {
  const nextStep: Job[] = [];
  let waiting = batches.filter((b) => !b.manifest.closed && b.manifest.name);
  while (waiting.length > 0) {
    const states = await Promise.all(waiting.map((b) => stateOf(run, b)));
    run.options.onProgress?.(
      waiting.map((b, i) => ({
        displayName: b.manifest.displayName,
        ...(b.manifest.name ? { name: b.manifest.name } : {}),
        state: states[i] ?? 'pending',
        requests: b.manifest.keys.length,
      })),
    );
    const still: StoredManifest[] = [];
    for (const [i, stored] of waiting.entries()) {
      const state = states[i] ?? 'pending';
      if (FINAL_BATCH_STATES.includes(state)) nextStep.push(...(await collect(run, stored, state)));
      else still.push(stored);
    }
    waiting = still;
    if (waiting.length > 0) await sleep(run.options.pollMs);
  }
  return nextStep;
}

/** The batch's state; a failed poll (network, 5xx) counts as "not done yet". */
async function stateOf(run: Run, stored: StoredManifest): Promise<BatchState> {
  try {
    return (await run.deps.batchModel.status(stored.manifest.name ?? '')).state;
  } catch (error) {
    const failure = toBananaError(error);
    if (!failure.retryable) throw failure;
    run.deps.log.warn('polling a batch failed; trying again', { error: failure.message });
    return 'running';
  }
}

/** Collects a finished batch; returns the refinements whose next step goes in the next round. */
async function collect(run: Run, stored: StoredManifest, state: BatchState): Promise<Job[]> {
  const name = stored.manifest.name ?? '';
  const answers = state === 'succeeded' ? await run.deps.batchModel.results(name) : undefined;
  const jobs = stored.manifest.keys.flatMap((key) => run.byId.get(key) ?? []);
  const nextStep: Job[] = [];
  await pool(jobs, run.options.concurrency, async (job) => {
    const outcome = answers?.get(job.jobId);
    const asked = stored.manifest.steps?.[job.jobId];
    if (outcome && asked !== undefined && (await keepBatchStep(run.deps, job, asked, outcome))) {
      nextStep.push(job);
    } else if (outcome) await finishJob(run, job, outcome);
    else await failJob(run, job, missingAnswer(batchLabel(stored), state, job.jobId));
    run.deps.batchFailpoint?.('batch-job-recorded');
  });
  await run.manifests.update(stored, { closed: state });
  run.deps.log.info('batch collected', { batch: name, state, jobs: jobs.length });
  return nextStep;
}

/** Finishes a job through runJob with the batch's answer (undefined: the job is already done). */
async function finishJob(run: Run, job: Job, outcome: ModelOutcome | undefined): Promise<void> {
  const model = answeredBy(run.deps.batchModel.backend, outcome);
  const delivery = { messageId: outcome?.batch?.name ?? 'batch', attempt: 1 };
  try {
    const result = await runJob({ ...run.deps, model }, job, delivery);
    if (result.status === 'held') {
      // Only a spend guard holds jobs, and the batch path runs where there is none (the runner):
      // stop with the batch still open, so the next run collects it again (nothing paid twice).
      throw new BananaError({
        code: 'INTERNAL',
        message: `Job ${job.jobId} was held (${result.reason}); the batch path does not hold jobs.`,
      });
    }
    await run.report(job, result);
  } catch (error) {
    const failure = toBananaError(error);
    if (!failure.retryable) throw failure;
    // A per-request quota or 5xx inside the batch: recorded, and resubmitted by a rerun.
    await failJob(run, job, rerunnable(failure, outcome?.batch?.name));
  }
}

/** Records a job's failure unless it already has a record (an earlier run collected it). */
async function failJob(run: Run, job: Job, failure: BananaError): Promise<void> {
  const names = outputNames(job.output.base, job.output.format);
  const done = await run.deps.store.stat(job.output.bucket, names.metadata);
  if (done || (await run.deps.store.stat(job.output.bucket, names.error))) {
    await finishJob(run, job, undefined);
    return;
  }
  const record = await writeErrorRecord(run.deps, job, failure, 1);
  await run.report(job, { status: 'failed', record, recordUri: recordUriOf(run, job) });
}

/** A model that answers with the batch's outcome; without one, any call is a bug. */
function answeredBy(backend: string, outcome: ModelOutcome | undefined): ImageModel {
  return {
    backend,
    generate: async (request) => {
      // A refinement's last step: with the earlier steps of its checkpoint, as the port promises.
      if (outcome) return withEarlierSteps(outcome, request.resume);
      throw new BananaError({
        code: 'INTERNAL',
        message: 'A batch-tier job reached the model outside its batch.',
      });
    },
  };
}

const batchLabel = (stored: StoredManifest) => stored.manifest.name ?? stored.manifest.displayName;

function recordUriOf(run: Run, job: Job): string {
  return run.deps.uriOf(job.output.bucket, outputNames(job.output.base, job.output.format).error);
}

/**
 * Runs `work` on at most `size` items at once. A failure stops the pool: no item starts after it,
 * the ones in flight finish (none goes on writing and holding its claim after the run has
 * failed), then it throws the first failure.
 */
async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const item = items[next++] as T;
      await work(item).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(size, items.length)) }, worker);
  const failure = (await Promise.allSettled(workers)).find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
