import { z } from 'zod';
import { toJsonBytes } from '../../shared/pipeline/records.ts';
import { type ObjectStore, readJsonIfExists } from '../../shared/ports/object-store.ts';
import { type RunSummary, type RunTotals, type SummaryRow, toCsv } from './run-summary.ts';

/**
 * What a local run leaves in the output folder besides the jobs' own files:
 *   _runs/<runId>/summary.json, summary.csv   this run, one row per job
 *   _runs/runs.csv                            one line per run, with running totals across runs
 *   _runs/totals.json                         the running totals the next run adds to
 *   latest.json                               per job name, the job of the newest plan and its
 *                                             output: which file is current after a sidecar edit
 */

export const LATEST_NAME = 'latest.json';
const TOTALS_NAME = '_runs/totals.json';
const RUNS_CSV = '_runs/runs.csv';

const totalsSchema: z.ZodType<RunTotals> = z.object({
  runs: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
  succeeded: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});

const latestEntrySchema = z.looseObject({
  status: z.enum(['succeeded', 'failed', 'already-done']),
  jobId: z.string(),
  runId: z.string(),
  input: z.string().optional(),
  sidecar: z.string(),
  output: z.string().optional(),
  record: z.string(),
  errorCode: z.string().optional(),
});
const latestSchema = z.object({
  schemaVersion: z.literal(1),
  updatedAt: z.string(),
  jobs: z.record(z.string(), latestEntrySchema),
});
export type LatestManifest = z.infer<typeof latestSchema>;

/** The totals so far (none before the first run; a damaged file starts them again). */
export async function readTotals(store: ObjectStore, bucket: string): Promise<RunTotals> {
  const none = { runs: 0, costUsd: 0, succeeded: 0, failed: 0 };
  return (
    (await readJsonIfExists(store, bucket, TOTALS_NAME, totalsSchema).catch(() => none)) ?? none
  );
}

/** The totals with one more run added. */
export function addRun(
  before: RunTotals,
  run: Pick<RunSummary, 'costUsd' | 'succeeded' | 'failed'>,
): RunTotals {
  return {
    runs: before.runs + 1,
    costUsd: Math.round((before.costUsd + run.costUsd) * 1e6) / 1e6,
    succeeded: before.succeeded + run.succeeded,
    failed: before.failed + run.failed,
  };
}

/** Writes the summary (JSON, CSV), the runs line and totals, and updates latest.json. */
export async function writeRunFiles(
  store: ObjectStore,
  bucket: string,
  summaryName: string,
  summary: RunSummary,
): Promise<void> {
  const json = { contentType: 'application/json' };
  const csv = { contentType: 'text/csv' };
  await store.write(bucket, `${summaryName}.json`, toJsonBytes(summary), json);
  await store.write(bucket, `${summaryName}.csv`, Buffer.from(toCsv(summary.rows)), csv);
  if (summary.totals) {
    await store.write(bucket, TOTALS_NAME, toJsonBytes(summary.totals), json);
    await store.write(bucket, RUNS_CSV, await runsCsv(store, bucket, summary), csv);
  }
  await store.write(bucket, LATEST_NAME, toJsonBytes(await latest(store, bucket, summary)), json);
}

const RUNS_HEADER =
  'runId,startedAt,finishedAt,jobs,succeeded,alreadyDone,failed,interrupted,costUsd,totalRuns,totalCostUsd';

async function runsCsv(store: ObjectStore, bucket: string, summary: RunSummary): Promise<Buffer> {
  const before = await store
    .read(bucket, RUNS_CSV, { maxBytes: 64 << 20 })
    .then((o) => o.bytes.toString('utf8'))
    .catch(() => `${RUNS_HEADER}\n`);
  const s = summary;
  const line = [
    s.runId,
    s.startedAt,
    s.finishedAt,
    s.jobs,
    s.succeeded,
    s.alreadyDone,
    s.failed,
    s.interrupted === true,
    s.costUsd,
    s.totals?.runs,
    s.totals?.costUsd,
  ].join(',');
  return Buffer.from(`${before}${line}\n`);
}

/** latest.json with this run's rows: each job name points at its job in the newest plan. */
async function latest(
  store: ObjectStore,
  bucket: string,
  summary: RunSummary,
): Promise<LatestManifest> {
  const before = await readJsonIfExists(store, bucket, LATEST_NAME, latestSchema).catch(
    () => undefined,
  );
  const jobs = { ...(before?.jobs ?? {}) };
  for (const row of summary.rows) {
    if (row.status === 'not-run') continue;
    jobs[row.jobName] = latestEntry(row, summary.runId);
  }
  const sorted = Object.fromEntries(Object.entries(jobs).sort(([a], [b]) => a.localeCompare(b)));
  return { schemaVersion: 1, updatedAt: summary.finishedAt, jobs: sorted };
}

function latestEntry(row: SummaryRow, runId: string) {
  return {
    status: row.status as 'succeeded' | 'failed' | 'already-done',
    jobId: row.jobId,
    runId,
    ...(row.input ? { input: row.input } : {}),
    sidecar: row.sidecar,
    ...(row.output ? { output: row.output } : {}),
    record: row.record,
    ...(row.errorCode ? { errorCode: row.errorCode } : {}),
  };
}
