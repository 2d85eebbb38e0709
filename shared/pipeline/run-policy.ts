import { z } from 'zod';
import { BananaError, ERROR_CODES } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import { type ObjectStore, readJsonIfExists } from '../ports/object-store.ts';
import { JobState } from './job-state.ts';

/**
 * A run's policy over many jobs (the embedded runner's `run`): its budget (`--max-usd`) and which
 * failures of an earlier run a new run tries again. The budget writes the "not started" failure
 * and the rerun policy reads it, so the flag that connects them lives in this one file.
 */

/** The part of an error record the policy reads. */
const earlierFailureSchema = z.looseObject({
  status: z.literal('failed'),
  error: z.looseObject({
    code: z.enum(ERROR_CODES),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type EarlierFailure = z.infer<typeof earlierFailureSchema>;

/** The spending cap of a run: refuse a plan over it, and start no job that could pass it. */
export class RunBudget {
  private committedUsd = 0;

  constructor(private readonly maxUsd: number | undefined) {}

  /** Why the whole plan is refused before anything runs, or undefined when it may go ahead. */
  refusal(estimatedUsd: number): string | undefined {
    if (this.maxUsd === undefined || estimatedUsd <= this.maxUsd) return undefined;
    return `estimated $${estimatedUsd.toFixed(4)} exceeds --max-usd $${this.maxUsd}`;
  }

  /**
   * Reserves a job's estimate at its first delivery. Returns the failure to record instead when
   * the reservation could push the run's spending past the cap (the job is not started).
   */
  admit(job: Job, attempt: number): BananaError | undefined {
    if (this.maxUsd === undefined || attempt !== 1) return undefined;
    if (this.committedUsd + job.estimatedCostUsd > this.maxUsd) {
      return new BananaError({
        code: 'COST_CAP_EXCEEDED',
        message: `Not started: the run's spending would pass --max-usd $${this.maxUsd}.`,
        fix: 'Raise --max-usd and run again; finished jobs are not redone.',
        details: { notStarted: true },
      });
    }
    this.committedUsd += job.estimatedCostUsd;
    return undefined;
  }
}

/** The error record an earlier run left for this job, if any. */
export function earlierFailure(store: ObjectStore, job: Job): Promise<EarlierFailure | undefined> {
  const name = outputNames(job.output.base, job.output.format).error;
  return readJsonIfExists(store, job.output.bucket, name, earlierFailureSchema, {
    maxBytes: 1 << 20,
  });
}

/**
 * True for failures a rerun can fix: dead-lettered (retryable failures ran out: network, quota),
 * not started (the run's budget), a model's daily quota or the project's credits ran out (a new
 * day, new credits), or left unanswered by a batch job (expired, cancelled, failed, a missing
 * result, a per-request quota or 5xx: `details.rerunnable`). Permanent failures (blocked, bad
 * input) stay failed until the sidecar or the image changes, which gives new job ids.
 */
export function isRerunnable(failure: EarlierFailure): boolean {
  const details = failure.error.details;
  return (
    RERUNNABLE.has(failure.error.code) ||
    details?.notStarted === true ||
    details?.rerunnable === true
  );
}
const RERUNNABLE: ReadonlySet<string> = new Set([
  'DEAD_LETTERED',
  'MODEL_DAILY_QUOTA',
  'MODEL_BILLING',
]);

/** What of a plan is still to do, like `terraform plan`: the estimate and the cap cover only this. */
export interface WorkToDo {
  /** Jobs with no record yet, or whose earlier failure a rerun retries. */
  toRun: Job[];
  /** Jobs an earlier run finished (a metadata record, or a failure that stays failed). */
  finished: number;
  estimatedCostUsd: number;
}

/** Sorts a plan's jobs into finished and still to run, from the records in the output. */
export async function workStillToDo(store: ObjectStore, jobs: readonly Job[]): Promise<WorkToDo> {
  const toRun: Job[] = [];
  for (const job of jobs) {
    const names = outputNames(job.output.base, job.output.format);
    if (await store.stat(job.output.bucket, names.metadata)) continue;
    const earlier = await earlierFailure(store, job);
    if (!earlier || isRerunnable(earlier)) toRun.push(job);
  }
  return {
    toRun,
    finished: jobs.length - toRun.length,
    estimatedCostUsd: toRun.reduce((sum, j) => sum + j.estimatedCostUsd, 0),
  };
}

/**
 * Removes the error records of rerunnable failures so their jobs run again; returns how many.
 * What earlier attempts were billed stays in the job's state and is added to the new record.
 */
export async function clearRerunnableFailures(
  store: ObjectStore,
  jobs: readonly Job[],
): Promise<number> {
  let cleared = 0;
  for (const job of jobs) {
    const earlier = await earlierFailure(store, job);
    if (!earlier || !isRerunnable(earlier)) continue;
    await store.delete(job.output.bucket, outputNames(job.output.base, job.output.format).error);
    // Its next result is a new one, to be announced again (and, for a frame, chained again).
    const state = new JobState(store, job.output.bucket, job.jobId);
    await state.forgetAnnounced();
    await state.forgetChained();
    cleared++;
  }
  return cleared;
}
