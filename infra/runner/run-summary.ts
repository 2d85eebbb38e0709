import type { Usage } from '../../shared/catalog/cost.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import type { RunJobResult } from '../../shared/pipeline/job-run.ts';
import type { DropPlan } from '../../shared/pipeline/plan-drop.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { ThrottleNow, ThrottleReport } from './throttle-report.ts';

/** What a local run reports: one row per job, running totals, the summary (JSON and CSV). */

export interface RunProgress {
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  costUsd: number;
  /** The model calls' rate against the quota, and time spent waiting for it. */
  throttling?: ThrottleNow;
}

export interface SummaryRow {
  jobId: string;
  /** `not-run`: a keyframe after a frame that failed (the chain stopped there). */
  status: 'succeeded' | 'failed' | 'already-done' | 'not-run';
  /** The job's (first) input image; none for a job with no input image. */
  input?: string;
  /** The sidecar that planned it. */
  sidecar: string;
  /** Its output name without the job id: the same across edits of its sidecar (see latest.json). */
  jobName: string;
  tags: Record<string, string>;
  mode: Job['mode'];
  model: string;
  errorCode?: ErrorCode;
  /** A failure's cause in one line (a dead-lettered job's names the last underlying error). */
  errorMessage?: string;
  /** What to change, worded for where the job ran. */
  fix?: string;
  /** From the job's first start in this run to its record (from its record for an earlier run's). */
  durationMs?: number;
  /** A failure recorded by an earlier run (not paid again; its cost is in that run). */
  fromEarlierRun?: boolean;
  record: string;
  output?: string;
  inputTokens: number;
  outputTokens: number;
  thoughtsTokens: number;
  totalTokens: number;
  /** What this run paid for the job (0 for one finished earlier). */
  costUsd: number;
  /** What the job cost, from its record: an earlier run's cost for one finished then. */
  jobCostUsd: number;
  /** A keyframe: frame `frame` of `frames` of the sequence named `sequence`. */
  sequence?: string;
  frame?: number;
  frames?: number;
}

/** Every run into one output folder so far (kept in _runs/totals.json, see run-files.ts). */
export interface RunTotals {
  runs: number;
  costUsd: number;
  succeeded: number;
  failed: number;
}

export interface RunSummary {
  runId: string;
  dropDir: string;
  outDir: string;
  backend: string;
  priceTableVersion: string;
  estimatedCostUsd: number;
  refused?: string;
  /** Stopped by Ctrl-C or SIGTERM: jobs without a row were not started (a rerun does them). */
  interrupted?: boolean;
  jobs: number;
  succeeded: number;
  failed: number;
  alreadyDone: number;
  /** Keyframes not run because an earlier frame of their sequence failed. */
  notRun: number;
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
  /** The rate governor: quota held to, calls per minute, 429s, time waited (absent: no calls). */
  throttling?: ThrottleReport;
  startedAt: string;
  finishedAt: string;
  summaryFiles: { json: string; csv: string };
  /** Every run into this output folder so far, this one included (see run-files.ts). */
  totals?: RunTotals;
  rows: SummaryRow[];
}

/** What an earlier run's record says of a job finished then (its cost is not paid again). */
export interface EarlierFinish {
  output?: string;
  costUsd: number;
  durationMs?: number;
}

/** Collects rows as jobs finish and keeps the running progress the CLI shows. */
export class RunTally {
  readonly rows: SummaryRow[] = [];
  readonly progress: RunProgress;
  private readonly startedAt = new Map<string, number>();

  constructor(
    total: number,
    private readonly onJobDone?: (row: SummaryRow, progress: RunProgress) => void,
  ) {
    this.progress = { total, done: 0, succeeded: 0, failed: 0, costUsd: 0 };
  }

  /** A job's first start in this run: its row's duration counts from here. */
  started(jobId: string): void {
    if (!this.startedAt.has(jobId)) this.startedAt.set(jobId, Date.now());
  }

  add(row: SummaryRow): void {
    const started = this.startedAt.get(row.jobId);
    if (row.durationMs === undefined && started !== undefined) {
      row.durationMs = Date.now() - started;
    }
    this.rows.push(row);
    this.progress.done++;
    if (row.status === 'failed') this.progress.failed++;
    else if (row.status !== 'not-run') this.progress.succeeded++;
    this.progress.costUsd += row.costUsd;
    this.onJobDone?.(row, this.progress);
  }

  finish(job: Job, result: RunJobResult, earlier?: EarlierFinish): void {
    this.add(summaryRow(job, result, earlier));
  }

  /**
   * After the queue drained: a planned keyframe with no row was never published, because a frame
   * before it failed. It is reported as not run, never dropped.
   */
  finishUnreached(jobs: readonly Job[], recordOf: (job: Job) => string): void {
    const seen = new Set(this.rows.map((r) => r.jobId));
    for (const job of jobs) {
      if (seen.has(job.jobId) || !job.sequence) continue;
      this.add({
        ...jobColumns(job),
        status: 'not-run',
        record: recordOf(job),
        ...tokenColumns(undefined),
        costUsd: 0,
        jobCostUsd: 0,
      });
    }
  }
}

/** The columns every row of a job has: who it is, where it came from, its frame. */
export function jobColumns(job: Job) {
  const input = job.inputs.find((i) => i.role === 'input') ?? job.inputs[0];
  return {
    jobId: job.jobId,
    ...(input ? { input: input.name } : {}),
    sidecar: job.sidecar.name,
    jobName: jobNameOf(job),
    tags: job.tags,
    mode: job.mode,
    model: job.model,
    ...frameColumns(job),
  };
}

/** The output base without its job id suffix: `shoot/cat.edit` for `shoot/cat.edit.3f2a1b9c`. */
export function jobNameOf(job: Job): string {
  return job.output.base.replace(/\.[0-9a-f]{8}$/, '');
}

/** The frame columns of a keyframe's row (none for other jobs). */
export function frameColumns(job: Job): Pick<SummaryRow, 'sequence' | 'frame' | 'frames'> {
  const sequence = job.sequence;
  return sequence
    ? { sequence: sequence.name, frame: sequence.frame, frames: sequence.plan.length }
    : {};
}

export function tokenColumns(usage: Usage | undefined) {
  return {
    inputTokens: usage ? usage.inputTextTokens + usage.inputImageTokens : 0,
    outputTokens: usage ? usage.outputTextTokens + usage.outputImageTokens : 0,
    thoughtsTokens: usage?.thoughtsTokens ?? 0,
    totalTokens: usage?.totalTokens ?? 0,
  };
}

/** The failure columns of an error record: its cause in one line and its fix. */
export function failureColumns(error: { message: string; fix?: string | undefined }) {
  return {
    errorMessage: oneLine(error.message),
    ...(error.fix ? { fix: error.fix } : {}),
  };
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

function summaryRow(job: Job, result: RunJobResult, earlier?: EarlierFinish): SummaryRow {
  const base = { ...jobColumns(job), record: result.recordUri };
  if (result.status === 'duplicate') {
    return {
      ...base,
      status: 'already-done',
      ...(earlier?.output ? { output: earlier.output } : {}),
      ...(earlier?.durationMs === undefined ? {} : { durationMs: earlier.durationMs }),
      ...tokenColumns(undefined),
      costUsd: 0,
      jobCostUsd: earlier?.costUsd ?? 0,
    };
  }
  if (result.status === 'succeeded') {
    return {
      ...base,
      status: 'succeeded',
      output: result.record.output.uri,
      durationMs: result.record.timing.totalMs,
      ...tokenColumns(result.record.usage),
      costUsd: result.record.cost.total,
      jobCostUsd: result.record.cost.total,
    };
  }
  return {
    ...base,
    status: 'failed',
    errorCode: result.record.error.code,
    ...failureColumns(result.record.error),
    ...tokenColumns(result.record.usage),
    costUsd: result.record.cost?.total ?? 0,
    jobCostUsd: result.record.cost?.total ?? 0,
  };
}

/** What the summary is made of besides the rows. */
export interface SummaryFacts {
  runId: string;
  dropDir: string;
  outDir: string;
  backend: string;
  priceTableVersion: string;
  plan: DropPlan;
  refused: string | undefined;
  retried: number;
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM before every job ran. */
  interrupted: boolean;
  queueStats: { deliveries: number; retries: number; deadLettered: number };
  throttling?: ThrottleReport | undefined;
  startedAt: Date;
  finishedAt: Date;
  summaryFiles: { json: string; csv: string };
}

export function buildSummary(facts: SummaryFacts, rows: SummaryRow[]): RunSummary {
  const { plan } = facts;
  const count = (status: SummaryRow['status']) => rows.filter((r) => r.status === status).length;
  return {
    runId: facts.runId,
    dropDir: facts.dropDir,
    outDir: facts.outDir,
    backend: facts.backend,
    priceTableVersion: facts.priceTableVersion,
    estimatedCostUsd: round(plan.estimatedCostUsd),
    ...(facts.refused ? { refused: facts.refused } : {}),
    ...(facts.interrupted ? { interrupted: true } : {}),
    jobs: plan.jobs.length,
    succeeded: count('succeeded'),
    failed: count('failed'),
    alreadyDone: count('already-done'),
    notRun: count('not-run'),
    retriedFromEarlierRuns: facts.retried,
    failedByCode: failedByCode(rows),
    sidecarProblems: plan.sidecars.flatMap((s) =>
      s.problems.map((p) => ({
        file: s.sidecar,
        code: p.code,
        message: p.message,
        ...(p.fix ? { fix: p.fix } : {}),
      })),
    ),
    uncoveredImages: plan.uncovered,
    tokens: tokenTotals(rows),
    costUsd: round(rows.reduce((s, r) => s + r.costUsd, 0)),
    ...facts.queueStats,
    ...(facts.throttling ? { throttling: facts.throttling } : {}),
    startedAt: facts.startedAt.toISOString(),
    finishedAt: facts.finishedAt.toISOString(),
    summaryFiles: facts.summaryFiles,
    rows: rows.sort((a, b) => a.record.localeCompare(b.record)),
  };
}

function failedByCode(rows: readonly SummaryRow[]): RunSummary['failedByCode'] {
  const counts: RunSummary['failedByCode'] = {};
  for (const row of rows) {
    if (row.errorCode) counts[row.errorCode] = (counts[row.errorCode] ?? 0) + 1;
  }
  return counts;
}

function tokenTotals(rows: readonly SummaryRow[]): RunSummary['tokens'] {
  const tokens = { input: 0, output: 0, thoughts: 0, total: 0 };
  for (const row of rows) {
    tokens.input += row.inputTokens;
    tokens.output += row.outputTokens;
    tokens.thoughts += row.thoughtsTokens;
    tokens.total += row.totalTokens;
  }
  return tokens;
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

function csvCell(value: unknown): string {
  const text = value === undefined ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The summary's CSV: one row per job (tags as `key=value; ...`). */
export function toCsv(rows: readonly SummaryRow[]): string {
  const header = [
    'jobId',
    'status',
    'input',
    'sidecar',
    'jobName',
    'tags',
    'mode',
    'model',
    'errorCode',
    'errorMessage',
    'output',
    'record',
    'durationMs',
    'inputTokens',
    'outputTokens',
    'thoughtsTokens',
    'totalTokens',
    'costUsd',
    'jobCostUsd',
  ] as const;
  const lines = [header.join(',')];
  for (const row of rows) {
    const cells = header.map((key) =>
      key === 'tags'
        ? Object.entries(row.tags)
            .map(([k, v]) => `${k}=${v}`)
            .join('; ')
        : row[key],
    );
    lines.push(cells.map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}
