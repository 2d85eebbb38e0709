import type { BananaError } from '../errors.ts';
import { toBananaError } from '../errors.ts';
import { outcomeError } from '../gemini/outcome-error.ts';
import { mapLimit } from '../map-limit.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import { type BatchState, FINAL_BATCH_STATES } from '../ports/batch-image-model.ts';
import type { ModelOutcome } from '../ports/image-model.ts';
import { announceIfMissed } from './announce-result.ts';
import type { StoredManifest } from './batch-manifests.ts';
import {
  batchCheckpointOf,
  keepBatchStep,
  missingAnswer,
  rerunnable,
  withEarlierSteps,
} from './batch-requests.ts';
import type { BatchTick } from './batch-tick-context.ts';
import { JobState } from './job-state.ts';
import { isCallFailure } from './model-answer.ts';
import { writeErrorRecord } from './write-records.ts';

/**
 * The batch tick's collecting half. A finished batch's answers are persisted per job as the
 * worker persists a direct call's answer (JobState.saveModelResult, create-only), and the job is
 * then published to the jobs topic: the worker finds the answer, never calls the model, and
 * writes outputs, the record and the result event exactly as for any job (dead-letter path
 * included). A job the batch did not answer gets its error record here. Each step is idempotent,
 * so a tick that crashes mid-collect is simply collected again by the next.
 */

/** Polls the named open batches and collects the finished ones; returns those still running. */
export async function collectFinished(
  tick: BatchTick,
  named: readonly StoredManifest[],
): Promise<StoredManifest[]> {
  const running: StoredManifest[] = [];
  for (const stored of named) {
    const state = await stateOf(tick, stored);
    if (FINAL_BATCH_STATES.includes(state)) {
      await collectBatch(tick, stored, state);
      tick.report.collected++;
    } else {
      running.push(stored);
      tick.report.running++;
    }
  }
  return running;
}

/** The batch's state; a failed poll (network, 5xx) counts as "not done yet". */
async function stateOf(tick: BatchTick, stored: StoredManifest): Promise<BatchState> {
  try {
    return (await tick.deps.batchModel.status(stored.manifest.name ?? '')).state;
  } catch (error) {
    const failure = toBananaError(error);
    if (!failure.retryable) throw failure;
    tick.deps.log.warn('polling a batch failed; the next tick polls again', {
      batch: stored.manifest.name,
      error: failure.message,
    });
    return 'running';
  }
}

async function collectBatch(tick: BatchTick, stored: StoredManifest, state: BatchState) {
  const name = stored.manifest.name ?? '';
  const answers = state === 'succeeded' ? await tick.deps.batchModel.results(name) : undefined;
  await mapLimit(stored.manifest.keys, tick.options.concurrency, async (key) => {
    // No marker: collected before a crash (answered and handed off, or recorded).
    const job = await tick.inbox.read(key);
    if (!job) return;
    await settleJob(tick, stored, job, state, answers?.get(key));
    tick.deps.batchFailpoint?.('batch-job-recorded');
  });
  await tick.manifests.remove(stored);
  tick.deps.log.info('batch collected', { batch: name, state, jobs: stored.manifest.keys.length });
}

/** One job of a finished batch: its next round, the worker, or its error record. */
async function settleJob(
  tick: BatchTick,
  stored: StoredManifest,
  job: Job,
  state: BatchState,
  outcome: ModelOutcome | undefined,
): Promise<void> {
  const asked = stored.manifest.steps?.[job.jobId];
  if (outcome && asked !== undefined && (await keepBatchStep(tick.deps, job, asked, outcome))) {
    tick.report.nextRound++;
    return;
  }
  if (outcome && !isCallFailure(outcome)) return handOff(tick, job, asked, outcome);
  const batch = stored.manifest.name ?? stored.manifest.displayName;
  const failure = outcome
    ? rerunnable(outcomeError(outcome, tick.deps.catalog), batch)
    : missingAnswer(batch, state, job.jobId);
  await recordBatchFailure(tick, job, failure);
}

/** Persists the answer (a refinement's with its earlier steps), then the worker takes over. */
async function handOff(
  tick: BatchTick,
  job: Job,
  asked: number | undefined,
  outcome: ModelOutcome,
): Promise<void> {
  const checkpoint = asked ? await batchCheckpointOf(tick.deps, job) : undefined;
  const earlier = checkpoint?.turns.length === asked ? checkpoint : undefined;
  const state = new JobState(tick.deps.store, job.output.bucket, job.jobId);
  await state.saveModelResult(withEarlierSteps(outcome, earlier));
  await tick.deps.queue.publishJobs([job]);
  await tick.inbox.remove(job.jobId);
  tick.report.handedOff++;
}

/**
 * A job the batch path cannot finish: its error record (create-only, announced), unless it has a
 * record already (then only a missed result event goes out); its marker goes either way.
 */
export async function recordBatchFailure(
  tick: BatchTick,
  job: Job,
  failure: BananaError,
): Promise<void> {
  const { deps } = tick;
  const bucket = job.output.bucket;
  const names = outputNames(job.output.base, job.output.format);
  const [metadata, error] = await Promise.all(
    [names.metadata, names.error].map((n) => deps.store.stat(bucket, n)),
  );
  const record = metadata ?? error;
  if (record) await announceIfMissed(deps, bucket, job.jobId, record.name);
  else {
    await writeErrorRecord(deps, job, failure, 1);
    tick.report.failed++;
  }
  await tick.inbox.remove(job.jobId);
}
