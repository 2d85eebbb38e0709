import type { ReportJob } from './report-jobs.ts';

/** The totals block of the report, computed from the records alone. */
export interface ReportTotals {
  jobs: number;
  /** Output images (one per succeeded record). */
  images: number;
  failed: number;
  /** Records that could not be read. */
  unreadable: number;
  /** Failed sidecars (no job was planned from them); not in `failed`. */
  sidecarProblems: number;
  costUsd: number;
  costByModel: Record<string, number>;
  /** Keyed `tag=value`. */
  costByTag: Record<string, number>;
  costByTier: Record<string, number>;
  /** Failed jobs by error code (sidecar problems are counted on their own). */
  failedByCode: Record<string, number>;
}

/** Rounded like the run summary (to a millionth of a dollar). */
export const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;

function add(into: Record<string, number>, key: string, value: number) {
  into[key] = (into[key] ?? 0) + value;
}

/** Jobs whose records give no tier ran on the standard (synchronous) tier. */
export const DEFAULT_TIER = 'standard';

export function reportTotals(jobs: readonly ReportJob[]): ReportTotals {
  const totals: ReportTotals = {
    jobs: 0,
    images: 0,
    failed: 0,
    unreadable: 0,
    sidecarProblems: 0,
    costUsd: 0,
    costByModel: {},
    costByTag: {},
    costByTier: {},
    failedByCode: {},
  };
  for (const job of jobs) {
    if (job.status === 'unreadable') {
      totals.unreadable++;
      continue;
    }
    if (job.sidecarProblem) totals.sidecarProblems++;
    else totals.jobs++;
    if (job.status === 'succeeded') totals.images++;
    if (job.failure && !job.sidecarProblem) {
      totals.failed++;
      add(totals.failedByCode, job.failure.code, 1);
    }
    totals.costUsd += job.costUsd;
    if (job.model) add(totals.costByModel, job.model, job.costUsd);
    add(totals.costByTier, job.tier ?? DEFAULT_TIER, job.costUsd);
    for (const [key, value] of Object.entries(job.tags))
      add(totals.costByTag, `${key}=${value}`, job.costUsd);
  }
  totals.costUsd = roundUsd(totals.costUsd);
  for (const table of [totals.costByModel, totals.costByTag, totals.costByTier]) {
    for (const key of Object.keys(table)) table[key] = roundUsd(table[key] ?? 0);
  }
  return totals;
}
