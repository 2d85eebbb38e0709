import { serializeError, toBananaError } from '../errors.ts';
import { outcomeError } from '../gemini/outcome-error.ts';
import type { Job } from '../planning/job.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { claimJob, findFinished } from './claim-job.ts';
import { encodeAndWrite } from './encode-and-write.ts';
import { holdIfPaused } from './hold-if-paused.ts';
import {
  type Delivery,
  type HeldResult,
  type JobRun,
  type RunJobResult,
  startJobRun,
} from './job-run.ts';
import { loadInputs } from './load-inputs.ts';
import { buildMetadataRecord } from './metadata-record.ts';
import { getModelAnswer } from './model-answer.ts';
import { continueSequence } from './sequence-chain.ts';
import { writeErrorRecord, writeMetadataRecord } from './write-records.ts';

export type { HeldResult, RunJobResult } from './job-run.ts';

/**
 * The worker use case: one delivery of one job. Returns the terminal outcome (succeeded, failed
 * for good, or already done by an earlier delivery); throws a retryable BananaError when trying
 * again later can help (quota, 5xx, timeouts, another delivery holding the job).
 *
 * The steps, each in its own file: find an earlier finish (claim-job.ts), claim, load inputs,
 * get the model's answer (model-answer.ts; billed through billing-ledger.ts), encode and write
 * the outputs, build and write the metadata record (the commit point), release the claim.
 */
export async function runJob(
  deps: WorkerDeps,
  job: Job,
  delivery: Delivery,
): Promise<RunJobResult | HeldResult> {
  const run = startJobRun(deps, job, delivery);
  const before = await findFinished(run);
  if (before) return before;
  const claim = await claimJob(run);
  try {
    // The delivery that held the claim may have finished between our check and our claim.
    const meanwhile = await findFinished(run);
    if (meanwhile) return meanwhile;
    return await runClaimedJob(run).catch((error: unknown) => settleFailure(run, error));
  } finally {
    // A claim that cannot be released expires with its lease; the record already says "done".
    await run.state.release(claim).catch(() => undefined);
  }
}

/** The job's work under a live claim, up to its record. */
async function runClaimedJob(run: JobRun): Promise<RunJobResult | HeldResult> {
  run.deps.failpoint?.('claimed');
  const held = await holdIfPaused(run);
  if (held) return held;
  const inputs = await loadInputs(run.deps, run.job, run.model);
  const answer = await getModelAnswer(run, inputs);
  const billed = await run.ledger.total(answer.outcome.usage);
  if (answer.outcome.kind !== 'image') {
    return recordFailure(run, outcomeError(answer.outcome, run.deps.catalog), billed);
  }
  const output = await encodeAndWrite(run, answer.outcome.image);
  const finishedAt = run.deps.now();
  const record = buildMetadataRecord(run, { inputs, answer, output, billed, finishedAt });
  const recordUri = await writeMetadataRecord(run.deps, run.job, record);
  await run.deps.spending?.record(record.cost.total);
  await cleanWorkingState(run);
  run.log.info('job succeeded', {
    cost: record.cost.total,
    output: record.output.uri,
    modelMs: answer.outcome.modelMs,
  });
  run.deps.failpoint?.('recorded');
  // A keyframe: publish the next frame, or finish the sequence.
  await continueSequence(run.deps, run.job);
  return { status: 'succeeded', record, recordUri };
}

/** A retryable failure is noted and thrown again; a permanent one becomes the error record. */
async function settleFailure(run: JobRun, error: unknown): Promise<RunJobResult> {
  const failure = toBananaError(error);
  if (failure.retryable) {
    await run.state.saveLastError(serializeError(failure), run.delivery.attempt).catch(() => {});
    run.log.warn('retryable failure: the delivery will be retried', {
      code: failure.code,
      error: failure.message,
      retryAfterMs: failure.retryAfterMs,
    });
    throw failure;
  }
  const billed = await run.ledger.forFailure().catch(() => undefined);
  return recordFailure(run, failure, billed);
}

/** A permanent failure: its error record (what it was billed included), then no working state. */
async function recordFailure(
  run: JobRun,
  failure: ReturnType<typeof toBananaError>,
  billed: Parameters<typeof writeErrorRecord>[4],
): Promise<RunJobResult> {
  const record = await writeErrorRecord(run.deps, run.job, failure, run.delivery.attempt, billed);
  if (billed) await run.deps.spending?.record(billed.cost.total);
  await cleanWorkingState(run);
  return { status: 'failed', record, recordUri: run.deps.uriOf(run.bucket, run.names.error) };
}

/**
 * Past the commit point (record written, result announced) the job's working state is deleted.
 * Best effort: the record already says "done", and a lifecycle rule removes what is left.
 */
async function cleanWorkingState(run: JobRun): Promise<void> {
  await run.state.clean().catch((error: unknown) => {
    run.log.warn('could not delete the working state of a finished job', {
      error: (error as Error).message,
    });
  });
}
