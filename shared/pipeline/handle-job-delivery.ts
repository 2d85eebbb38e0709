import { z } from 'zod';
import { BananaError } from '../errors.ts';
import { jobSchema } from '../planning/job.ts';
import type { JobDelivery } from '../ports/job-queue.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { type DeferredResult, deferForQuota } from './defer-for-quota.ts';
import { type HeldResult, type RunJobResult, runJob } from './run-job.ts';

export type DeliveryResult =
  | RunJobResult
  | HeldResult
  | DeferredResult
  | { status: 'invalid'; error: BananaError }
  /** A batch-tier job without an answer: left for the batch tick (batch-inbox.ts). */
  | { status: 'batched' };

/**
 * The worker's boundary, shared by the Cloud Function and the embedded runner: validate the
 * message, run the job. Resolves for every terminal outcome (the caller acknowledges); rejects
 * with a retryable BananaError when the platform should deliver again. A job over the quota after
 * its hold is published again instead (`deferred`) and its delivery acknowledged.
 */
export async function handleJobDelivery(
  deps: WorkerDeps,
  delivery: JobDelivery,
): Promise<DeliveryResult> {
  const parsed = jobSchema.safeParse(delivery.job);
  if (!parsed.success) {
    // Nothing in a malformed message says where a record could go; log loudly and acknowledge,
    // since redelivering the same bytes cannot help.
    const error = new BananaError({
      code: 'JOB_INVALID',
      message: `Message ${delivery.messageId} is not a valid job: ${z.prettifyError(parsed.error)}`,
      fix: 'Publish jobs only through bananaflow ingest (or its job schema).',
      details: { messageId: delivery.messageId },
    });
    deps.log.error(error.message, { code: error.code, messageId: delivery.messageId });
    return { status: 'invalid', error };
  }
  const job = parsed.data;
  const buckets = deps.buckets;
  if (
    buckets &&
    (job.output.bucket !== buckets.output ||
      job.sidecar.bucket !== buckets.input ||
      job.inputs.some((input) => input.bucket !== buckets.input))
  ) {
    const error = new BananaError({
      code: 'JOB_INVALID',
      message: `Job ${job.jobId} names buckets this deployment does not own (inputs must come from ${buckets.input}, outputs go to ${buckets.output}).`,
      fix: 'Publish jobs only through this deployment’s ingest function.',
      details: { messageId: delivery.messageId, jobId: job.jobId },
    });
    deps.log.error(error.message, { code: error.code, jobId: job.jobId });
    return { status: 'invalid', error };
  }
  if (await deps.batchInbox?.adopt(job)) {
    deps.log.info('batch-tier job taken into the batch path', { jobId: job.jobId });
    return { status: 'batched' };
  }
  // Over the quota even after the hold: published again rather than retried (defer-for-quota.ts).
  return runJob(deps, job, delivery).catch((error: unknown) => deferForQuota(deps, job, error));
}
