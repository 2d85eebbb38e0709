import { z } from 'zod';
import { mapLimit } from '../map-limit.ts';
import { outputNames } from '../planning/output-names.ts';
import { type ObjectStore, readJsonWithGeneration } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';
import { type PlanRecord, readPlanRecords } from './plan-record.ts';
import { HELD_PREFIX, type Pause, readPause } from './spend-guard.ts';

/**
 * How far a drop (everything planned under a prefix of the input) has got, read from the output
 * bucket alone: the plan records say what was planned, the records what finished and what it
 * cost, the working state what is running or held. `bananaflow status` prints it.
 */
export interface DropStatus {
  sidecars: number;
  planned: number;
  succeeded: number;
  failed: number;
  failedByCode: Record<string, number>;
  deadLettered: number;
  inProgress: number;
  held: number;
  queued: number;
  costUsd: number;
  /** The plan's estimate for every job without a record yet. */
  remainingEstimateUsd: number;
  unreadable: string[];
  paused?: Pause;
}

const recordSchema = z.object({
  cost: z.object({ total: z.number() }).optional(),
  error: z.object({ code: z.string() }).optional(),
});

type JobState = 'succeeded' | 'failed' | 'in-progress' | 'held' | 'queued';

export async function dropStatus(
  store: ObjectStore,
  outputBucket: string,
  prefix: string,
  now: Date,
): Promise<DropStatus> {
  const { plans, unreadable } = await readPlanRecords(store, outputBucket, prefix);
  const jobs = uniqueJobs(plans);
  const outputs = new Set((await store.list(outputBucket, prefix)).map((o) => o.name));
  const claimed = new Set(
    (await store.list(outputBucket, `${PIPELINE_PREFIX}jobs/`))
      .filter((o) => o.name.endsWith('/claim.json'))
      .map((o) => o.name.split('/')[2]),
  );
  const held = new Set(
    (await store.list(outputBucket, HELD_PREFIX)).map((o) => o.name.slice(HELD_PREFIX.length, -5)),
  );
  const status: DropStatus = {
    sidecars: plans.length,
    planned: jobs.length,
    succeeded: 0,
    failed: 0,
    failedByCode: {},
    deadLettered: 0,
    inProgress: 0,
    held: 0,
    queued: 0,
    costUsd: 0,
    remainingEstimateUsd: 0,
    unreadable,
  };
  await mapLimit(jobs, 16, async (job) => {
    const names = outputNames(job.base, job.format);
    const recordName = outputs.has(names.metadata)
      ? names.metadata
      : outputs.has(names.error)
        ? names.error
        : undefined;
    const record = recordName ? await readRecord(store, outputBucket, recordName) : undefined;
    if (recordName && !record) status.unreadable.push(recordName);
    const state: JobState = record
      ? recordName === names.metadata
        ? 'succeeded'
        : 'failed'
      : claimed.has(job.jobId)
        ? 'in-progress'
        : held.has(job.jobId)
          ? 'held'
          : 'queued';
    count(status, state, record, job.estimatedCostUsd);
  });
  const paused = await readPause(store, outputBucket, now);
  return paused ? { ...status, paused } : status;
}

function count(
  status: DropStatus,
  state: JobState,
  record: z.infer<typeof recordSchema> | undefined,
  estimate: number,
) {
  status.costUsd += record?.cost?.total ?? 0;
  if (state === 'succeeded') status.succeeded++;
  else if (state === 'failed') {
    const code = record?.error?.code ?? 'UNKNOWN';
    if (code === 'DEAD_LETTERED') status.deadLettered++;
    else {
      status.failed++;
      status.failedByCode[code] = (status.failedByCode[code] ?? 0) + 1;
    }
  } else {
    status.remainingEstimateUsd += estimate;
    if (state === 'in-progress') status.inProgress++;
    else if (state === 'held') status.held++;
    else status.queued++;
  }
}

function uniqueJobs(plans: readonly PlanRecord[]) {
  const byId = new Map<string, PlanRecord['jobs'][number]>();
  for (const plan of plans) for (const job of plan.jobs) byId.set(job.jobId, job);
  return [...byId.values()];
}

/** A job's record, or undefined when it is missing or unreadable (it then counts as not done). */
async function readRecord(store: ObjectStore, bucket: string, name: string) {
  const found = await readJsonWithGeneration(store, bucket, name, recordSchema, {
    maxBytes: 4 << 20,
  });
  return found?.ok ? found.value : undefined;
}
