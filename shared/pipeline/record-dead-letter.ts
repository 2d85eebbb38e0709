import { BananaError } from '../errors.ts';
import { jobSchema } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import type { JobDelivery } from '../ports/job-queue.ts';
import type { RecordDeps } from '../ports/worker-deps.ts';
import { announceIfMissed } from './announce-result.ts';
import { BillingLedger } from './billing-ledger.ts';
import type { RunJobResult } from './job-run.ts';
import { JobState } from './job-state.ts';
import { writeErrorRecord } from './write-records.ts';

/**
 * A job that exhausted its deliveries becomes an error record that says how many attempts were
 * made and what the last one hit, so nothing disappears silently. A job that finished after all
 * (a late success) or is still held by a live worker is left alone.
 */
export async function recordDeadLetter(
  deps: RecordDeps,
  delivery: JobDelivery,
): Promise<RunJobResult | { status: 'invalid' | 'in-progress' }> {
  const parsed = jobSchema.safeParse(delivery.job);
  if (!parsed.success) {
    deps.log.error('dead-lettered message is not a valid job; dropped', {
      code: 'JOB_INVALID',
      messageId: delivery.messageId,
    });
    return { status: 'invalid' };
  }
  const job = parsed.data;
  const names = outputNames(job.output.base, job.output.format);
  for (const name of [names.metadata, names.error]) {
    if (await deps.store.stat(job.output.bucket, name)) {
      await announceIfMissed(deps, job.output.bucket, job.jobId, name);
      return { status: 'duplicate', recordUri: deps.uriOf(job.output.bucket, name) };
    }
  }
  const state = new JobState(deps.store, job.output.bucket, job.jobId);
  if (await state.claimIsLive(deps.now(), deps.claimOwnerGone)) {
    // A worker still holds it: let it finish. The dead-letter delivery is retried later.
    throw new BananaError({
      code: 'JOB_IN_PROGRESS',
      message: `Dead-lettered job ${job.jobId} is still held by a live worker; checking again later.`,
      retryable: true,
    });
  }
  const last = await state.loadLastError();
  const failure = new BananaError({
    code: 'DEAD_LETTERED',
    message: `Gave up after ${delivery.attempt} delivery attempts${
      last ? `; the last failure was ${last.code}: ${last.message.replace(/\.$/, '')}` : ''
    }.`,
    fix: !last
      ? 'The worker recorded no failure for this job, so it failed before running it: check the worker logs (CONFIG_INVALID names missing settings such as the Gemini credentials), fix that, then upload the sidecar again.'
      : last.code === 'MODEL_QUOTA'
        ? 'The Gemini quota was exhausted: lower worker concurrency or max instances, or raise the quota, then upload the sidecar again.'
        : 'Check the last failure above; once it is fixed, upload the sidecar again to re-plan the job.',
    details: { attempts: delivery.attempt, ...(last ? { lastError: last } : {}) },
  });
  // Failed attempts may still have been billed (answered steps of a refinement, say).
  const billed = await BillingLedger.forJob(deps, job, state).forFailure();
  const record = await writeErrorRecord(deps, job, failure, delivery.attempt, billed);
  return { status: 'failed', record, recordUri: deps.uriOf(job.output.bucket, names.error) };
}
