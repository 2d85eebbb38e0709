import { BananaError } from '../errors.ts';
import { modelTimeoutFor } from '../ports/worker-deps.ts';
import { announceIfMissed } from './announce-result.ts';
import type { JobRun, RunJobResult } from './job-run.ts';
import { chainIfMissed } from './sequence-chain.ts';

/**
 * Already finished by an earlier delivery (its metadata or error record exists): nothing to do,
 * nothing to pay; the result event goes out again if it never did.
 */
export async function findFinished(run: JobRun): Promise<RunJobResult | undefined> {
  const { deps, names, bucket } = run;
  const [metadata, error] = await Promise.all(
    [names.metadata, names.error].map((name) => deps.store.stat(bucket, name)),
  );
  const record = metadata ?? error;
  if (!record) return undefined;
  run.log.info('duplicate delivery of a finished job: skipped', { record: record.name });
  const { messageId } = run.delivery;
  await announceIfMissed({ ...deps, log: run.log }, bucket, run.job.jobId, record.name, messageId);
  await chainIfMissed({ ...deps, log: run.log }, run.job, record.name);
  return { status: 'duplicate', recordUri: deps.uriOf(bucket, record.name) };
}

const LOCAL_RECHECK_MS = 2_000;

/**
 * Claims the job, so that two concurrent deliveries never both call the model; returns the
 * claim's generation. Throws a retryable JOB_IN_PROGRESS while another delivery holds it.
 */
export async function claimJob(run: JobRun): Promise<string> {
  const { deps, job, delivery } = run;
  const leaseMs = Math.max(
    deps.limits.leaseMs,
    job.turns.length * modelTimeoutFor(deps.limits, job) + 5_000,
  );
  const claim = await run.state.claim(
    { owner: deps.workerId, messageId: delivery.messageId, attempt: delivery.attempt },
    run.startedAt,
    leaseMs,
    deps.claimOwnerGone,
  );
  if (!claim.ok) {
    // Where a holder can be seen to go (the runner's local processes), look again soon: its
    // claim is free the moment it exits. Elsewhere only the lease frees it.
    const wait = deps.claimOwnerGone
      ? Math.min(claim.retryAfterMs, LOCAL_RECHECK_MS)
      : claim.retryAfterMs;
    throw new BananaError({
      code: 'JOB_IN_PROGRESS',
      message: `Job ${job.jobId} is being processed by ${claim.heldBy}; this delivery will be retried.`,
      retryable: true,
      retryAfterMs: Math.min(wait, 60_000),
      details: { jobId: job.jobId },
    });
  }
  if (claim.tookOver) run.log.warn('took over an expired claim (an earlier worker stopped)');
  return claim.generation;
}
