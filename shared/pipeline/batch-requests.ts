import { addUsage } from '../catalog/cost.ts';
import { BananaError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import type { BatchImageModel, BatchItem, BatchState } from '../ports/batch-image-model.ts';
import type { ConversationCheckpoint, ModelOutcome } from '../ports/image-model.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { JobState } from './job-state.ts';
import { loadInputs } from './load-inputs.ts';

/**
 * The steps of the batch tier that the embedded runner (run-batch.ts) and the cloud's batch tick
 * (batch-tick.ts) share: a job's request, grouping requests into batches within the API's limits,
 * a refinement's step kept between rounds, and what a job without an answer is told.
 */

/** A job's next request: its first turn, or a refinement's next step after its checkpoint. */
export async function batchItemOf(deps: WorkerDeps, job: Job): Promise<BatchItem> {
  const model = deps.catalog.resolve(job.model);
  const inputs = await loadInputs(deps, job, model);
  const resume = await batchCheckpointOf(deps, job);
  return {
    key: job.jobId,
    request: {
      model: job.model,
      images: inputs.map((i) => i.prepared.image),
      turns: job.turns,
      ...(job.aspectRatio ? { aspectRatio: job.aspectRatio } : {}),
      ...(job.imageSize ? { imageSize: job.imageSize } : {}),
      ...(resume ? { resume } : {}),
    },
  };
}

/** A refinement's checkpoint when it has one to go on from (1 to n-1 steps answered). */
export async function batchCheckpointOf(
  deps: Pick<WorkerDeps, 'store'>,
  job: Job,
): Promise<ConversationCheckpoint | undefined> {
  if (job.turns.length < 2) return undefined;
  const state = new JobState(deps.store, job.output.bucket, job.jobId);
  const checkpoint = await state.loadCheckpoint();
  const done = checkpoint?.turns.length ?? 0;
  return checkpoint && done >= 1 && done < job.turns.length ? checkpoint : undefined;
}

export interface BatchLimits {
  maxRequests: number;
  maxBytes: number;
}

/** Per model, in order, a new batch whenever the next item would pass a limit. */
export function groupBatchItems(
  jobs: readonly Job[],
  items: ReadonlyMap<string, BatchItem>,
  limits: BatchLimits,
  sizeOf: (item: BatchItem) => number,
): Array<{ model: string; keys: string[] }> {
  const groups: Array<{ model: string; keys: string[] }> = [];
  const open = new Map<string, { model: string; keys: string[]; bytes: number }>();
  for (const job of jobs) {
    const item = items.get(job.jobId);
    if (!item) continue;
    const size = sizeOf(item);
    let group = open.get(job.model);
    if (!group || group.keys.length >= limits.maxRequests || group.bytes + size > limits.maxBytes) {
      group = { model: job.model, keys: [], bytes: 0 };
      open.set(job.model, group);
      groups.push(group);
    }
    group.keys.push(job.jobId);
    group.bytes += size;
  }
  return groups;
}

/** Which step each refinement of a batch asks for (steps answered before it), by key. */
export function stepsOf(
  keys: readonly string[],
  items: ReadonlyMap<string, BatchItem>,
): Record<string, number> | undefined {
  const steps = Object.fromEntries(
    keys.flatMap((key) => {
      const item = items.get(key);
      return item && item.request.turns.length > 1
        ? [[key, item.request.resume?.turns.length ?? 0]]
        : [];
    }),
  );
  return Object.keys(steps).length > 0 ? steps : undefined;
}

/**
 * A refinement step answered (with an image) with more steps to go: kept as the job's checkpoint
 * (once: a step collected again after a crash is already in it). False when the job ends here.
 */
export async function keepBatchStep(
  deps: WorkerDeps & { batchModel: BatchImageModel },
  job: Job,
  asked: number,
  outcome: ModelOutcome,
): Promise<boolean> {
  if (outcome.kind !== 'image' || asked + 1 >= job.turns.length) return false;
  const state = new JobState(deps.store, job.output.bucket, job.jobId);
  const done = (await state.loadCheckpoint())?.turns.length ?? 0;
  if (done === asked) {
    const item = await batchItemOf(deps, job);
    await state.saveCheckpoint(deps.batchModel.continueConversation(item, outcome));
  }
  return true;
}

/** A refinement's last step, with the earlier steps of its checkpoint (as a direct call gives it). */
export function withEarlierSteps(
  outcome: ModelOutcome,
  resume: ConversationCheckpoint | undefined,
): ModelOutcome {
  if (!resume) return outcome;
  return {
    ...outcome,
    usage: addUsage(resume.usage, outcome.usage),
    turns: [...resume.turns, ...outcome.turns],
  };
}

/** The failure of a job its batch did not answer: missing from the results, or the batch ended. */
export function missingAnswer(batch: string, state: BatchState, key: string): BananaError {
  if (state === 'succeeded') {
    return new BananaError({
      code: 'BATCH_RESULT_MISSING',
      message: `Batch ${batch} succeeded but has no result for this job (key ${key}).`,
      fix: 'Run the drop again: the job is submitted in a new batch.',
      details: { batch, key, rerunnable: true },
    });
  }
  return new BananaError({
    code: 'BATCH_INCOMPLETE',
    message: `Batch ${batch} ended ${state.toUpperCase()} before answering this job.`,
    fix:
      state === 'expired'
        ? 'Run the drop again: unanswered jobs are submitted in a new batch (batches expire after 48 h in the queue).'
        : 'Run the drop again: unanswered jobs are submitted in a new batch.',
    details: { batch, state, rerunnable: true },
  });
}

/** A per-request failure inside a batch (quota, 5xx): recorded, and resubmitted by a rerun. */
export function rerunnable(failure: BananaError, batch: string | undefined): BananaError {
  return new BananaError({
    code: failure.code,
    message: failure.message,
    fix: 'Run the drop again: the job is submitted in a new batch.',
    details: { ...failure.details, ...(batch ? { batch } : {}), rerunnable: true },
    cause: failure,
  });
}
