import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { MemoryJobQueue } from '../../shared/adapters/memory-job-queue.ts';
import type { Usage } from '../../shared/catalog/cost.ts';
import type { ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import type { Config } from '../../shared/config.ts';
import { BananaError, type ErrorCode, serializeError, toBananaError } from '../../shared/errors.ts';
import { readImageSize } from '../../shared/imaging/image-info.ts';
import {
  type DeliveryResult,
  handleJobDelivery,
} from '../../shared/pipeline/handle-job-delivery.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
import { type DropPlan, planDrop } from '../../shared/pipeline/plan-drop.ts';
import type { PlannerDeps } from '../../shared/pipeline/plan-sidecar.ts';
import { recordDeadLetter } from '../../shared/pipeline/record-dead-letter.ts';
import { type ErrorRecord, toJsonBytes } from '../../shared/pipeline/records.ts';
import type { RunJobResult, WorkerDeps } from '../../shared/pipeline/run-job.ts';
import { writeErrorRecord } from '../../shared/pipeline/write-records.ts';
import type { Job } from '../../shared/planning/job.ts';
import { outputNames } from '../../shared/planning/output-names.ts';
import type { ImageModel } from '../../shared/ports/image-model.ts';
import type { JobDelivery } from '../../shared/ports/job-queue.ts';
import type { Logger } from '../../shared/ports/logger.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import { classifyDropFile } from '../../shared/sidecar/drop-files.ts';

/**
 * The embedded runner: a local folder as the input bucket, another as the output bucket, the
 * in-process queue, and the same use cases the cloud functions call (plan, run job, dead letter).
 */

export const INPUT_BUCKET = 'input';
export const OUTPUT_BUCKET = 'output';

export interface RunDropOptions {
  dropDir: string;
  outDir: string;
  model: ImageModel;
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
  onPlanned?: (plan: DropPlan) => void;
  onJobDone?: (row: SummaryRow, progress: RunProgress) => void;
}

export interface RunProgress {
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  costUsd: number;
}

export interface SummaryRow {
  jobId: string;
  status: 'succeeded' | 'failed' | 'already-done';
  mode: Job['mode'];
  model: string;
  errorCode?: ErrorCode;
  /** A failure recorded by an earlier run (not paid again; its cost is in that run). */
  fromEarlierRun?: boolean;
  record: string;
  output?: string;
  inputTokens: number;
  outputTokens: number;
  thoughtsTokens: number;
  totalTokens: number;
  costUsd: number;
}

export interface RunSummary {
  runId: string;
  dropDir: string;
  outDir: string;
  backend: string;
  priceTableVersion: string;
  estimatedCostUsd: number;
  refused?: string;
  jobs: number;
  succeeded: number;
  failed: number;
  alreadyDone: number;
  /** Failed jobs of earlier runs that this run tried again (dead-lettered, or not started). */
  retriedFromEarlierRuns: number;
  failedByCode: Partial<Record<ErrorCode, number>>;
  sidecarProblems: Array<{ file: string; code: ErrorCode; message: string; fix?: string }>;
  uncoveredImages: string[];
  tokens: { input: number; output: number; thoughts: number; total: number };
  costUsd: number;
  deliveries: number;
  retries: number;
  deadLettered: number;
  startedAt: string;
  finishedAt: string;
  summaryFiles: { json: string; csv: string };
  rows: SummaryRow[];
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
  const planner: PlannerDeps = {
    store,
    catalog: options.catalog,
    log: options.log,
    now,
    uriOf,
    inputBucket: INPUT_BUCKET,
    outputBucket: OUTPUT_BUCKET,
    defaultModel: options.config.BANANAFLOW_MODEL,
    maxSidecarBytes: options.config.BANANAFLOW_MAX_SIDECAR_BYTES,
  };
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

export async function runDrop(options: RunDropOptions): Promise<RunSummary> {
  const startedAt = new Date();
  const runId = options.runId ?? newRunId(startedAt);
  const { store, planner, uriOf, now, dropDir, outDir } = localPipeline(options);
  const listing = await store.list(INPUT_BUCKET, '');
  const sizes = await readDropImageSizes(
    dropDir,
    listing.map((o) => o.name),
    options.config.BANANAFLOW_MAX_INPUT_BYTES,
  );
  const plan = await planDrop(planner, { runId, imageSize: (name) => sizes.get(name) });
  options.onPlanned?.(plan);

  const queue = new MemoryJobQueue({
    concurrency: options.concurrency ?? 4,
    maxAttempts: options.maxAttempts ?? 5,
    minBackoffMs: options.minBackoffMs ?? 1000,
    maxBackoffMs: options.maxBackoffMs ?? 60_000,
  });
  const worker: WorkerDeps = {
    store,
    model: options.model,
    queue,
    catalog: options.catalog,
    log: options.log,
    now,
    uriOf,
    workerId: `local-${process.pid}`,
    buckets: { input: INPUT_BUCKET, output: OUTPUT_BUCKET },
    limits: {
      maxInputBytes: options.config.BANANAFLOW_MAX_INPUT_BYTES,
      maxInputPixels: options.config.BANANAFLOW_MAX_INPUT_PIXELS,
      modelTimeoutMs: options.config.BANANAFLOW_MODEL_TIMEOUT_MS,
      leaseMs: options.config.BANANAFLOW_LEASE_MS,
    },
  };

  const rows: SummaryRow[] = [];
  const progress: RunProgress = {
    total: plan.jobs.length,
    done: 0,
    succeeded: 0,
    failed: 0,
    costUsd: 0,
  };
  let committedUsd = 0;
  const done = (row: SummaryRow) => {
    rows.push(row);
    progress.done++;
    if (row.status === 'failed') progress.failed++;
    else progress.succeeded++;
    progress.costUsd += row.costUsd;
    options.onJobDone?.(row, progress);
  };
  const finish = (job: Job, result: RunJobResult) => done(summaryRow(job, result));

  /** A job finished by an earlier run: a success is "already done", a failure stays a failure. */
  const finishDuplicate = async (job: Job, result: RunJobResult) => {
    // Only an error record needs reading: a metadata record means "already done".
    const earlier = result.recordUri.endsWith('.error.json')
      ? await earlierFailure(store, job)
      : undefined;
    if (!earlier) return finish(job, result);
    done({
      jobId: job.jobId,
      status: 'failed',
      mode: job.mode,
      model: job.model,
      errorCode: earlier.error.code,
      fromEarlierRun: true,
      record: result.recordUri,
      ...tokenColumns(undefined),
      costUsd: 0,
    });
  };

  const refused =
    options.maxUsd !== undefined && plan.estimatedCostUsd > options.maxUsd
      ? `estimated $${plan.estimatedCostUsd.toFixed(4)} exceeds --max-usd $${options.maxUsd}`
      : undefined;
  // Only a run that goes ahead clears the failures it will try again.
  const retried = refused ? 0 : await clearRerunnableFailures(store, plan.jobs);
  if (retried > 0) {
    options.log.info('trying again the jobs an earlier run dead-lettered or did not start', {
      jobs: retried,
    });
  }
  if (!refused) {
    queue.consume(
      async (delivery: JobDelivery) => {
        const job = delivery.job as Job;
        // The run's budget: a job that could push spending past --max-usd is not started.
        if (options.maxUsd !== undefined && delivery.attempt === 1) {
          if (committedUsd + job.estimatedCostUsd > options.maxUsd) {
            const failure = new BananaError({
              code: 'COST_CAP_EXCEEDED',
              message: `Not started: the run's spending would pass --max-usd $${options.maxUsd}.`,
              fix: 'Raise --max-usd and run again; finished jobs are not redone.',
              details: { notStarted: true },
            });
            const record = await writeErrorRecord(worker, job, failure, delivery.attempt);
            finish(job, { status: 'failed', record, recordUri: '' });
            return;
          }
          committedUsd += job.estimatedCostUsd;
        }
        const result: DeliveryResult = await handleJobDelivery(worker, delivery);
        if (result.status === 'duplicate') await finishDuplicate(job, result);
        else if (result.status !== 'invalid') finish(job, result);
      },
      async (delivery: JobDelivery) => {
        const result = await recordDeadLetter(worker, delivery);
        if (result.status === 'duplicate') await finishDuplicate(delivery.job as Job, result);
        else if (result.status === 'failed' || result.status === 'succeeded') {
          finish(delivery.job as Job, result);
        }
      },
    );
    await queue.publishJobs(plan.jobs);
    await queue.drain();
    // Not even an error record could be written for these: report them, never drop them silently.
    for (const lost of queue.undeliverable) {
      const failure = toBananaError(lost.error);
      const job = lost.job as Job;
      options.log.error('job could not be recorded', { jobId: job.jobId, code: failure.code });
      finish(job, {
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

  const finishedAt = new Date();
  const failedByCode: RunSummary['failedByCode'] = {};
  for (const row of rows) {
    if (row.errorCode) failedByCode[row.errorCode] = (failedByCode[row.errorCode] ?? 0) + 1;
  }
  const tokens = { input: 0, output: 0, thoughts: 0, total: 0 };
  for (const row of rows) {
    tokens.input += row.inputTokens;
    tokens.output += row.outputTokens;
    tokens.thoughts += row.thoughtsTokens;
    tokens.total += row.totalTokens;
  }
  const summaryName = `_runs/${runId}/summary`;
  const summary: RunSummary = {
    runId,
    dropDir,
    outDir,
    backend: options.model.backend,
    priceTableVersion: options.catalog.priceTableVersion,
    estimatedCostUsd: round(plan.estimatedCostUsd),
    ...(refused ? { refused } : {}),
    jobs: plan.jobs.length,
    succeeded: rows.filter((r) => r.status === 'succeeded').length,
    failed: rows.filter((r) => r.status === 'failed').length,
    alreadyDone: rows.filter((r) => r.status === 'already-done').length,
    retriedFromEarlierRuns: retried,
    failedByCode,
    sidecarProblems: plan.sidecars.flatMap((s) =>
      s.problems.map((p) => ({
        file: s.sidecar,
        code: p.code,
        message: p.message,
        ...(p.fix ? { fix: p.fix } : {}),
      })),
    ),
    uncoveredImages: plan.uncovered,
    tokens,
    costUsd: round(rows.reduce((s, r) => s + r.costUsd, 0)),
    deliveries: queue.stats.deliveries,
    retries: queue.stats.retries,
    deadLettered: queue.stats.deadLettered,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    summaryFiles: {
      json: uriOf(OUTPUT_BUCKET, `${summaryName}.json`),
      csv: uriOf(OUTPUT_BUCKET, `${summaryName}.csv`),
    },
    rows: rows.sort((a, b) => a.record.localeCompare(b.record)),
  };
  await store.write(OUTPUT_BUCKET, `${summaryName}.json`, toJsonBytes(summary), {
    contentType: 'application/json',
  });
  await store.write(OUTPUT_BUCKET, `${summaryName}.csv`, Buffer.from(toCsv(summary.rows)), {
    contentType: 'text/csv',
  });
  return summary;
}

/** The error record an earlier run left for this job, if any. */
async function earlierFailure(store: ObjectStore, job: Job): Promise<ErrorRecord | undefined> {
  const name = outputNames(job.output.base, job.output.format).error;
  try {
    const { bytes } = await store.read(job.output.bucket, name, { maxBytes: 1 << 20 });
    return JSON.parse(bytes.toString('utf8')) as ErrorRecord;
  } catch (error) {
    if (toBananaError(error).code === 'STORAGE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * Failures a rerun can fix are not final locally: a job an earlier run dead-lettered (its
 * retryable failures ran out: network, quota) or did not start (--max-usd) runs again. Its error
 * record is removed; what earlier attempts were billed stays in the job's state and is added to
 * the new record. Permanent failures (blocked, bad input) stay failed until the sidecar changes.
 */
async function clearRerunnableFailures(store: ObjectStore, jobs: readonly Job[]): Promise<number> {
  let cleared = 0;
  for (const job of jobs) {
    const earlier = await earlierFailure(store, job);
    if (!earlier) continue;
    const code = earlier.error.code;
    if (code === 'DEAD_LETTERED' || earlier.error.details?.notStarted === true) {
      await store.delete(job.output.bucket, outputNames(job.output.base, job.output.format).error);
      // Its next result is a new one, to be announced again.
      await new JobState(store, job.output.bucket, job.jobId).forgetAnnounced();
      cleared++;
    }
  }
  return cleared;
}

function tokenColumns(usage: Usage | undefined) {
  return {
    inputTokens: usage ? usage.inputTextTokens + usage.inputImageTokens : 0,
    outputTokens: usage ? usage.outputTextTokens + usage.outputImageTokens : 0,
    thoughtsTokens: usage?.thoughtsTokens ?? 0,
    totalTokens: usage?.totalTokens ?? 0,
  };
}

function summaryRow(job: Job, result: RunJobResult): SummaryRow {
  const base = { jobId: job.jobId, mode: job.mode, model: job.model, record: result.recordUri };
  if (result.status === 'duplicate') {
    return { ...base, status: 'already-done', ...tokenColumns(undefined), costUsd: 0 };
  }
  if (result.status === 'succeeded') {
    return {
      ...base,
      status: 'succeeded',
      output: result.record.output.uri,
      ...tokenColumns(result.record.usage),
      costUsd: result.record.cost.total,
    };
  }
  return {
    ...base,
    status: 'failed',
    errorCode: result.record.error.code,
    ...tokenColumns(result.record.usage),
    costUsd: result.record.cost?.total ?? 0,
  };
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

function csvCell(value: unknown): string {
  const text = value === undefined ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly SummaryRow[]): string {
  const header = [
    'jobId',
    'status',
    'mode',
    'model',
    'errorCode',
    'output',
    'record',
    'inputTokens',
    'outputTokens',
    'thoughtsTokens',
    'totalTokens',
    'costUsd',
  ] as const;
  const lines = [header.join(',')];
  for (const row of rows) lines.push(header.map((key) => csvCell(row[key])).join(','));
  return `${lines.join('\n')}\n`;
}
