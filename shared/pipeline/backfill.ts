import { chainStarts } from '../planning/frame-jobs.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { planDrop } from './plan-drop.ts';
import { planRecordName, writePlanRecord } from './plan-record.ts';
import type { PlannerDeps } from './plan-sidecar.ts';

/**
 * Backfill: plans jobs for objects that were in the input bucket before the deployment (or whose
 * events were lost), and publishes them only under a spending cap. Idempotent: a sidecar version
 * that has a plan record (planned by ingest or an earlier backfill) plans nothing, and a job that
 * already has a record is never published again. It never writes into the input bucket, so it can
 * never trigger itself (the runaway-backfill failure of other resize pipelines).
 */
export interface BackfillResult {
  sidecars: number;
  alreadyPlanned: number;
  /** Sidecars with problems (each has its error record in the output, as ingest writes). */
  invalid: Array<{ sidecar: string; problems: string[] }>;
  jobs: Job[];
  estimatedCostUsd: number;
  published: number;
  refused?: string;
}

export async function backfill(
  deps: PlannerDeps & { queue: JobQueue },
  options: { runId: string; prefix: string; maxUsd: number; dryRun: boolean },
): Promise<BackfillResult> {
  // A dry run must not leave anything behind, not even a sidecar's error record.
  const planner = options.dryRun ? { ...deps, store: readOnly(deps.store) } : deps;
  const plan = await planDrop(planner, { runId: options.runId });
  const sidecars = plan.sidecars.filter((s) => s.sidecar.startsWith(options.prefix));
  const result: BackfillResult = {
    sidecars: sidecars.length,
    alreadyPlanned: 0,
    invalid: [],
    jobs: [],
    estimatedCostUsd: 0,
    published: 0,
  };
  const fresh: typeof sidecars = [];
  for (const sidecar of sidecars) {
    if (sidecar.problems.length > 0) {
      result.invalid.push({
        sidecar: sidecar.sidecar,
        problems: sidecar.problems.map((p) => `${p.code}: ${p.message}`),
      });
    }
    const name = planRecordName(sidecar.sidecar, sidecar.generation);
    if (await deps.store.stat(deps.outputBucket, name)) result.alreadyPlanned++;
    else fresh.push(sidecar);
  }
  for (const sidecar of fresh) {
    for (const job of sidecar.jobs) if (!(await hasRecord(deps, job))) result.jobs.push(job);
  }
  result.estimatedCostUsd = result.jobs.reduce((sum, j) => sum + j.estimatedCostUsd, 0);
  if (result.estimatedCostUsd > options.maxUsd) {
    result.refused = `estimated $${result.estimatedCostUsd.toFixed(4)} for ${result.jobs.length} jobs exceeds --max-usd $${options.maxUsd}`;
    return result;
  }
  if (options.dryRun) return result;
  // A keyframe sequence starts at its first frame here; the worker publishes the frames after it.
  await deps.queue.publishJobs(chainStarts(result.jobs));
  result.published = result.jobs.length;
  // After publishing: a crash in between publishes again next time, which the worker absorbs.
  for (const sidecar of fresh) {
    await writePlanRecord(
      deps.store,
      deps.outputBucket,
      { ...sidecar, runId: options.runId, by: 'backfill' },
      deps.now(),
    );
  }
  return result;
}

async function hasRecord(deps: PlannerDeps, job: Job): Promise<boolean> {
  const names = outputNames(job.output.base, job.output.format);
  const [metadata, error] = await Promise.all([
    deps.store.stat(job.output.bucket, names.metadata),
    deps.store.stat(job.output.bucket, names.error),
  ]);
  return Boolean(metadata ?? error);
}

/** The store with writes and deletes turned into no-ops (a dry run reads, never writes). */
function readOnly(store: ObjectStore): ObjectStore {
  return {
    stat: (bucket, name) => store.stat(bucket, name),
    read: (bucket, name, options) => store.read(bucket, name, options),
    list: (bucket, prefix, options) => store.list(bucket, prefix, options),
    write: async (bucket, name, bytes, options) => ({
      bucket,
      name,
      generation: '0',
      size: bytes.length,
      metadata: options?.metadata ?? {},
      updated: new Date(0).toISOString(),
    }),
    delete: async () => undefined,
  };
}
