import { toBananaError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { JobState } from './job-state.ts';

/** The job was published again (a fresh message) because its model stayed over the quota. */
export type DeferredResult = { status: 'deferred'; deferrals: number };

/**
 * A job whose model stayed over its per-minute quota through its whole in-process hold
 * (MODEL_QUOTA, retryable) is published again and its delivery acknowledged, so a quota alone
 * never uses up the delivery attempts that lead to the dead-letter topic. At most
 * `limits.maxQuotaDeferrals` times per job; past that, and for every other failure, the error is
 * thrown again (a redelivery, as before).
 */
export async function deferForQuota(
  deps: WorkerDeps,
  job: Job,
  error: unknown,
): Promise<DeferredResult> {
  const failure = toBananaError(error);
  const allowed = deps.limits.maxQuotaDeferrals ?? 0;
  if (failure.code !== 'MODEL_QUOTA' || !failure.retryable || allowed === 0) throw failure;
  const deferrals = await new JobState(deps.store, job.output.bucket, job.jobId)
    .recordQuotaDeferral()
    .catch(() => Number.POSITIVE_INFINITY);
  if (deferrals > allowed) throw failure;
  await deps.queue.publishJobs([job]);
  deps.log.warn('over the quota after the hold: job published again (no attempt used)', {
    jobId: job.jobId,
    code: failure.code,
    deferrals,
    retryAfterMs: failure.retryAfterMs,
  });
  return { status: 'deferred', deferrals };
}
