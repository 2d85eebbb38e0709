import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { MemoryJobQueue } from '../../shared/adapters/memory-job-queue.ts';
import type { ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import type { Config } from '../../shared/config.ts';
import { BananaError, serializeError, toBananaError } from '../../shared/errors.ts';
import { readImageSize } from '../../shared/imaging/image-info.ts';
import { handleJobDelivery } from '../../shared/pipeline/handle-job-delivery.ts';
import type { RunJobResult } from '../../shared/pipeline/job-run.ts';
import type { HeldClaim } from '../../shared/pipeline/job-state.ts';
import { type DropPlan, planDrop } from '../../shared/pipeline/plan-drop.ts';
import { recordDeadLetter } from '../../shared/pipeline/record-dead-letter.ts';
import {
  type BatchProgress,
  type BatchStage,
  runBatchJobs,
} from '../../shared/pipeline/run-batch.ts';
import {
  clearRerunnableFailures,
  RunBudget,
  type WorkToDo,
  workStillToDo,
} from '../../shared/pipeline/run-policy.ts';
import { sequenceStarts } from '../../shared/pipeline/sequence-resume.ts';
import { writeErrorRecord } from '../../shared/pipeline/write-records.ts';
import { sequenceFileNames } from '../../shared/planning/frame-jobs.ts';
import type { Job } from '../../shared/planning/job.ts';
import { outputNames } from '../../shared/planning/output-names.ts';
import type { BatchImageModel } from '../../shared/ports/batch-image-model.ts';
import type { ImageModel } from '../../shared/ports/image-model.ts';
import type { JobDelivery } from '../../shared/ports/job-queue.ts';
import type { Logger } from '../../shared/ports/logger.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import type { WorkerDeps } from '../../shared/ports/worker-deps.ts';
import type { ModelGovernors } from '../../shared/quota/model-governors.ts';
import { classifyDropFile } from '../../shared/sidecar/drop-files.ts';
import { buildPlannerDeps } from '../../shared/wiring/planner-deps.ts';
import { buildWorkerDeps, modelGovernorsFor } from '../../shared/wiring/worker-deps.ts';
import { earlierError, earlierFinish } from './earlier-records.ts';
import { liveClaims, localOwnerGone, localWorkerId, releaseClaimsOf } from './local-claims.ts';
import { addRun, readTotals, writeRunFiles } from './run-files.ts';
import {
  buildSummary,
  failureColumns,
  jobColumns,
  type RunProgress,
  type RunSummary,
  RunTally,
  type SummaryRow,
  tokenColumns,
} from './run-summary.ts';
import { throttleNow, throttleReport } from './throttle-report.ts';

export type { RunProgress, RunSummary, SummaryRow } from './run-summary.ts';
export { toCsv } from './run-summary.ts';

/**
 * The embedded runner: a local folder as the input bucket, another as the output bucket, the
 * in-process queue, and the same use cases the cloud functions call (plan, run job, dead letter),
 * with deps from the same composition root (shared/wiring/). The run's budget and rerun policy
 * are the core's (shared/pipeline/run-policy.ts).
 */

export const INPUT_BUCKET = 'input';
export const OUTPUT_BUCKET = 'output';
const BUCKETS = { input: INPUT_BUCKET, output: OUTPUT_BUCKET };

export interface RunDropOptions {
  dropDir: string;
  outDir: string;
  model: ImageModel;
  /** The Batch API; without it (Vertex AI) batch-tier jobs are refused at planning. */
  batchModel?: BatchImageModel | undefined;
  /** How often batch jobs are polled (default BANANAFLOW_BATCH_POLL_MS). */
  batchPollMs?: number;
  catalog: ModelCatalog;
  config: Config;
  log: Logger;
  /** Wraps the folder store, e.g. to inject storage faults or count writes in tests. */
  decorateStore?: (store: ObjectStore) => ObjectStore;
  concurrency?: number;
  maxAttempts?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Refuse to start when the estimate exceeds this; stop starting jobs once spending would. */
  maxUsd?: number;
  runId?: string;
  /** The plan and what of it is still to do (finished jobs are not run or counted again). */
  onPlanned?: (plan: DropPlan, todo: WorkToDo) => void;
  onJobDone?: (row: SummaryRow, progress: RunProgress) => void;
  /** Batch tier: the state of every batch job still waited for, at each poll. */
  onBatchProgress?: ((batches: BatchProgress[]) => void) | undefined;
  /** Crash tests: called at each stage of the batch path. */
  batchFailpoint?: (stage: BatchStage) => void;
  /** Ctrl-C: `stop` starts no more jobs (in-flight ones finish); `abort` stops waiting for them. */
  interrupt?: { stop: AbortSignal; abort: AbortSignal };
  /** Jobs to run that another live process holds a claim on (the run waits for them). */
  onClaimWait?: (waits: ClaimWait[]) => void;
  /** The model calls' rate governors; default from config (BANANAFLOW_IPM, else adaptive). */
  governors?: ModelGovernors;
}

/** A job to run that another live process holds, until its lease ends. */
export interface ClaimWait extends HeldClaim {
  job: Job;
}

export function newRunId(now = new Date()): string {
  return `run-${now.toISOString().replace(/[-:]/g, '').replace(/\..+/, '')}-${randomBytes(3).toString('hex')}`;
}

/** Store, planner deps and worker deps for a local drop; also used by `validate` and `estimate`. */
export function localPipeline(options: {
  dropDir: string;
  outDir: string;
  catalog: ModelCatalog;
  config: Config;
  log: Logger;
  decorateStore?: ((store: ObjectStore) => ObjectStore) | undefined;
}) {
  const dropDir = resolve(options.dropDir);
  const outDir = resolve(options.outDir);
  const inside = (child: string, parent: string) => {
    const rel = relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  };
  if (inside(outDir, dropDir) || inside(dropDir, outDir)) {
    throw new BananaError({
      code: 'CONFIG_INVALID',
      message: `The output folder ${outDir} and the drop ${dropDir} overlap.`,
      fix: 'Choose an --out folder outside the drop (outputs never go into the input).',
    });
  }
  const folders = new FsObjectStore({ [INPUT_BUCKET]: dropDir, [OUTPUT_BUCKET]: outDir });
  const store = options.decorateStore ? options.decorateStore(folders) : folders;
  const roots: Record<string, string> = { [INPUT_BUCKET]: dropDir, [OUTPUT_BUCKET]: outDir };
  const uriOf = (bucket: string, name: string) => join(roots[bucket] ?? bucket, name);
  const now = () => new Date();
  const planner = buildPlannerDeps(options.config, {
    store,
    catalog: options.catalog,
    log: options.log,
    now,
    uriOf,
    buckets: BUCKETS,
  });
  return { store, planner, uriOf, now, dropDir, outDir };
}

/**
 * Reads the pixel size of every image in the drop from its header, for accurate estimates. A file
 * over `maxBytes` is not read into memory (the estimate assumes the worst; the worker refuses it).
 */
export async function readDropImageSizes(
  dropDir: string,
  names: Iterable<string>,
  maxBytes = Number.POSITIVE_INFINITY,
) {
  const sizes = new Map<string, { width: number; height: number }>();
  await Promise.all(
    [...names]
      .filter((name) => classifyDropFile(name).kind === 'image')
      .map(async (name) => {
        try {
          if ((await stat(join(dropDir, name))).size > maxBytes) return;
          const size = await readImageSize(await readFile(join(dropDir, name)), name);
          sizes.set(name, { width: size.width, height: size.height });
        } catch {
          // Unreadable images are reported by the worker with a proper error record.
        }
      }),
  );
  return sizes;
}

/** Plans the drop, runs its jobs on the in-process queue, writes and returns the run summary. */
export async function runDrop(options: RunDropOptions): Promise<RunSummary> {
  const startedAt = new Date();
  const runId = options.runId ?? newRunId(startedAt);
  const local = localPipeline(options);
  const plan = await planLocalDrop(local, options, runId);
  const todo = await workStillToDo(local.store, plan.jobs);
  options.onPlanned?.(plan, todo);
  const budget = new RunBudget(options.maxUsd);
  // Like `terraform plan`: the cap covers only work still to do; a finished drop passes any cap.
  const refused = budget.refusal(todo.estimatedCostUsd);
  const queue = localQueue(options);
  const governors = options.governors ?? modelGovernorsFor(options.config);
  const tally = new RunTally(plan.jobs.length, withThrottling(options.onJobDone, governors));
  const workerId = localWorkerId();
  const outcome = { retried: 0, interrupted: false };
  if (!refused) {
    // Only a run that goes ahead clears the failures it will try again.
    outcome.retried = await clearRerunnableFailures(local.store, plan.jobs);
    if (outcome.retried > 0) {
      options.log.info('trying again the jobs an earlier run dead-lettered or did not start', {
        jobs: outcome.retried,
      });
    }
    await sayClaimWaits(local, todo, options);
    const worker = localWorkerDeps(options, local, queue, { workerId, governors });
    const toRun = new Set(todo.toRun.map((j) => j.jobId));
    const runner = { worker, queue, budget, tally, log: options.log, toRun, stopped: false };
    outcome.interrupted = await runAll(options, runner, plan.jobs, runId);
    // Claims of calls abandoned by an abort: free for the next run at once.
    if (outcome.interrupted) await releaseClaimsOf(local.store, OUTPUT_BUCKET, workerId);
  }
  const summaryName = `_runs/${runId}/summary`;
  const summary = buildSummary(
    {
      runId,
      dropDir: local.dropDir,
      outDir: local.outDir,
      backend: options.model.backend,
      priceTableVersion: options.catalog.priceTableVersion,
      plan,
      refused,
      ...outcome,
      queueStats: queue.stats,
      throttling: throttleReport(governors, Date.now() - startedAt.getTime()),
      startedAt,
      finishedAt: new Date(),
      summaryFiles: {
        json: local.uriOf(OUTPUT_BUCKET, `${summaryName}.json`),
        csv: local.uriOf(OUTPUT_BUCKET, `${summaryName}.csv`),
      },
    },
    tally.rows,
  );
  summary.totals = addRun(await readTotals(local.store, OUTPUT_BUCKET), summary);
  await writeRunFiles(local.store, OUTPUT_BUCKET, summaryName, summary);
  return summary;
}

/**
 * Runs the standard and batch paths until done, or until interrupted: `stop` starts no more jobs
 * and waits for those in flight; `abort` stops waiting. Returns true when interrupted.
 */
async function runAll(
  options: RunDropOptions,
  runner: JobRunner,
  jobs: readonly Job[],
  runId: string,
): Promise<boolean> {
  const { stop, abort } = options.interrupt ?? {};
  const stopped = signalled(stop);
  void stopped.then(() => {
    runner.stopped = true;
    runner.queue.close();
  });
  const work = Promise.all([
    runJobs(
      runner,
      jobs.filter((job) => job.tier !== 'batch'),
    ),
    // Batch jobs go on at the Batch API; a rerun picks them up, so an interrupt stops waiting.
    Promise.race([
      runBatchPath(
        options,
        runner,
        jobs.filter((job) => job.tier === 'batch'),
        runId,
      ),
      stopped,
    ]),
  ]);
  await Promise.race([work, signalled(abort)]);
  return stop?.aborted === true;
}

/** Resolves when the signal fires; never without one. */
function signalled(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Jobs to run that another live process holds: the run says which, and until when. */
async function sayClaimWaits(local: LocalPipeline, todo: WorkToDo, options: RunDropOptions) {
  if (!options.onClaimWait || todo.toRun.length === 0) return;
  const claims = await liveClaims(local.store, todo.toRun, local.now());
  const jobs = new Map(todo.toRun.map((job) => [job.jobId, job]));
  const waits = claims.flatMap((claim) => {
    const job = jobs.get(claim.jobId);
    return job ? [{ job, ...claim }] : [];
  });
  if (waits.length > 0) options.onClaimWait(waits);
}

type LocalPipeline = ReturnType<typeof localPipeline>;

async function planLocalDrop(local: LocalPipeline, options: RunDropOptions, runId: string) {
  const listing = await local.store.list(INPUT_BUCKET, '');
  const sizes = await readDropImageSizes(
    local.dropDir,
    listing.map((o) => o.name),
    options.config.BANANAFLOW_MAX_INPUT_BYTES,
  );
  // The batch tier needs the Batch API (not available on Vertex AI).
  return planDrop(
    {
      ...local.planner,
      availableTiers: options.batchModel ? ['standard', 'batch', 'flex'] : ['standard', 'flex'],
    },
    { runId, imageSize: (name) => sizes.get(name) },
  );
}

function localQueue(options: RunDropOptions): MemoryJobQueue {
  return new MemoryJobQueue({
    concurrency: options.concurrency ?? 4,
    maxAttempts: options.maxAttempts ?? 5,
    minBackoffMs: options.minBackoffMs ?? 1000,
    maxBackoffMs: options.maxBackoffMs ?? 60_000,
  });
}

/** Each finished job's progress carries the model calls' rate against the quota. */
function withThrottling(
  onJobDone: RunDropOptions['onJobDone'],
  governors: ModelGovernors,
): RunDropOptions['onJobDone'] {
  if (!onJobDone) return undefined;
  return (row, progress) => onJobDone(row, { ...progress, throttling: throttleNow(governors) });
}

function localWorkerDeps(
  options: RunDropOptions,
  local: LocalPipeline,
  queue: MemoryJobQueue,
  { workerId, governors }: { workerId: string; governors: ModelGovernors },
): WorkerDeps {
  return buildWorkerDeps(options.config, {
    governors,
    store: local.store,
    queue,
    catalog: options.catalog,
    log: options.log,
    model: options.model,
    now: local.now,
    uriOf: local.uriOf,
    workerId,
    buckets: BUCKETS,
    claimOwnerGone: (owner) => localOwnerGone(owner),
    site: 'local',
  });
}

interface JobRunner {
  worker: WorkerDeps;
  queue: MemoryJobQueue;
  budget: RunBudget;
  /** Ids of the jobs still to do: only they reserve part of the budget. */
  toRun: ReadonlySet<string>;
  tally: RunTally;
  log: Logger;
  /** Interrupted: deliveries from now on start nothing (a rerun does them). */
  stopped: boolean;
}

/** Publishes the jobs, consumes them (worker and dead-letter paths) until the queue drains. */
async function runJobs(runner: JobRunner, jobs: readonly Job[]): Promise<void> {
  const { worker, queue } = runner;
  queue.consume(
    (delivery) => deliverJob(runner, delivery),
    async (delivery: JobDelivery) => {
      if (runner.stopped) return;
      const result = await recordDeadLetter(worker, delivery);
      if (result.status === 'failed' || result.status === 'succeeded') {
        runner.tally.finish(delivery.job as Job, result);
      } else if (result.status === 'duplicate') {
        await finishDuplicate(runner, delivery.job as Job, result);
      }
    },
  );
  // A keyframe sequence starts at its first missing frame; each finished frame publishes the next.
  const sequences = await sequenceStarts(worker.store, jobs);
  for (const job of sequences.done) {
    runner.tally.finish(job, alreadyDone(worker, job), await earlierFinish(worker.store, job));
  }
  await queue.publishJobs(sequences.start);
  await queue.drain();
  reportUndeliverable(runner);
  if (runner.stopped) return;
  runner.tally.finishUnreached(jobs, (job) =>
    job.sequence
      ? worker.uriOf(job.output.bucket, sequenceFileNames(job.sequence).summary)
      : '(none)',
  );
}

/** A frame an earlier run finished (its metadata record exists): not delivered again. */
function alreadyDone(worker: WorkerDeps, job: Job): RunJobResult {
  const record = outputNames(job.output.base, job.output.format).metadata;
  return { status: 'duplicate', recordUri: worker.uriOf(job.output.bucket, record) };
}

/** One delivery on the worker path: the run's budget first, then the worker use case. */
async function deliverJob(runner: JobRunner, delivery: JobDelivery): Promise<void> {
  if (runner.stopped) return;
  const job = delivery.job as Job;
  const notStarted = runner.toRun.has(job.jobId)
    ? runner.budget.admit(job, delivery.attempt)
    : undefined;
  if (notStarted) {
    const record = await writeErrorRecord(runner.worker, job, notStarted, delivery.attempt);
    const error = outputNames(job.output.base, job.output.format).error;
    const recordUri = runner.worker.uriOf(job.output.bucket, error);
    runner.tally.finish(job, { status: 'failed', record, recordUri });
    return;
  }
  runner.tally.started(job.jobId);
  const result = await handleJobDelivery(runner.worker, delivery);
  if (result.status === 'duplicate') await finishDuplicate(runner, job, result);
  // Nothing is held here (no spend kill switch: --max-usd instead); a deferred job comes again.
  else if (result.status === 'succeeded' || result.status === 'failed')
    runner.tally.finish(job, result);
}

/** A job finished by an earlier run: a success is "already done", a failure stays a failure. */
async function finishDuplicate(runner: JobRunner, job: Job, result: RunJobResult) {
  const { store } = runner.worker;
  // An error record is an earlier failure; a metadata record means "already done".
  const earlier = result.recordUri.endsWith('.error.json')
    ? await earlierError(store, job)
    : undefined;
  if (!earlier) return runner.tally.finish(job, result, await earlierFinish(store, job));
  runner.tally.add({
    ...jobColumns(job),
    status: 'failed',
    errorCode: earlier.error.code,
    ...failureColumns(earlier.error),
    fromEarlierRun: true,
    record: result.recordUri,
    ...tokenColumns(undefined),
    costUsd: 0,
    jobCostUsd: earlier.cost?.total ?? 0,
  });
}

/** The batch tier's jobs, through the Batch API; the same records as the standard path. */
async function runBatchPath(
  options: RunDropOptions,
  runner: JobRunner,
  jobs: readonly Job[],
  runId: string,
): Promise<void> {
  if (jobs.length === 0 || !options.batchModel) return;
  const { config } = options;
  const deps = {
    ...runner.worker,
    batchModel: options.batchModel,
    ...(options.batchFailpoint ? { batchFailpoint: options.batchFailpoint } : {}),
  };
  await runBatchJobs(deps, jobs, {
    runId,
    limits: {
      maxRequests: config.BANANAFLOW_BATCH_MAX_REQUESTS,
      maxBytes: config.BANANAFLOW_BATCH_MAX_BYTES,
    },
    pollMs: options.batchPollMs ?? config.BANANAFLOW_BATCH_POLL_MS,
    concurrency: options.concurrency ?? 4,
    ...(options.onBatchProgress ? { onProgress: options.onBatchProgress } : {}),
    onJobDone: async (job, result) => {
      if (result.status === 'duplicate') await finishDuplicate(runner, job, result);
      else runner.tally.finish(job, result);
    },
  });
}

/** Not even an error record could be written for these: report them, never drop them silently. */
function reportUndeliverable({ queue, tally, log }: JobRunner): void {
  for (const lost of queue.undeliverable) {
    const failure = toBananaError(lost.error);
    const job = lost.job as Job;
    log.error('job could not be recorded', { jobId: job.jobId, code: failure.code });
    tally.finish(job, {
      status: 'failed',
      recordUri: '(none: the record could not be written)',
      record: {
        schemaVersion: 1,
        status: 'failed',
        jobId: job.jobId,
        runId: job.runId,
        error: serializeError(failure),
        at: new Date().toISOString(),
      },
    });
  }
}
