import { BananaError } from '../errors.ts';
import { outcomeError } from '../gemini/outcome-error.ts';
import type { ConversationCheckpoint, ModelOutcome } from '../ports/image-model.ts';
import { modelTimeoutFor } from '../ports/worker-deps.ts';
import { IMAGE_SIDECAR_SUFFIX } from '../sidecar/drop-files.ts';
import { refuseOverCapEstimate, stopBeforeCap } from './cost-cap.ts';
import type { JobRun } from './job-run.ts';
import type { LoadedInput } from './load-inputs.ts';
import { requestOptionsOf } from './request-options.ts';

/** The model's answer to a job, and where it came from. */
export interface ModelAnswer {
  outcome: ModelOutcome;
  /** True when an earlier delivery persisted it (not paid again). */
  reused: boolean;
  /** Set when a refinement went on from an earlier delivery's checkpoint after this step. */
  resumedAfterStep?: number;
}

/**
 * The model's answer: the one an earlier delivery persisted, else a new call, persisted before
 * anything else happens (so it is never paid for twice). A retryable outcome is thrown, after
 * the ledger has kept what it was billed.
 */
export async function getModelAnswer(run: JobRun, inputs: LoadedInput[]): Promise<ModelAnswer> {
  const persisted = await run.state.loadModelResult();
  if (persisted) {
    run.log.info('reusing the persisted model answer of an earlier delivery (not paid again)');
    return { outcome: persisted, reused: true };
  }
  await refuseIfSuperseded(run);
  const resume = await usableCheckpoint(run);
  if (resume) {
    run.ledger.resumeFrom(resume);
    run.log.info('going on from an earlier delivery after step', { step: resume.turns.length });
  }
  const outcome = await callModelBilled(run, inputs, resume);
  await run.state.saveModelResult(outcome);
  run.deps.failpoint?.('model-answered');
  return { outcome, reused: false, ...(resume ? { resumedAfterStep: resume.turns.length } : {}) };
}

/**
 * The call failed before the model answered (quota, daily quota, credits, 4xx/5xx, timeout):
 * nothing to persist; its error says whether a retry can help.
 */
export function isCallFailure(outcome: ModelOutcome): boolean {
  return !ANSWERED.has(outcome.kind);
}
const ANSWERED = new Set(['image', 'blocked-prompt', 'blocked-output', 'text-only', 'no-image']);

/** Calls the model; whatever a stopped or retryable call was billed beyond a checkpoint is kept. */
async function callModelBilled(
  run: JobRun,
  inputs: LoadedInput[],
  resume: ConversationCheckpoint | undefined,
): Promise<ModelOutcome> {
  let outcome: ModelOutcome;
  try {
    outcome = await callModel(run, inputs, resume);
  } catch (error) {
    // Stopped between steps (the cost cap, a failed checkpoint write).
    await run.ledger.keepUnkept();
    throw error;
  }
  if (isCallFailure(outcome)) {
    // Turns answered but not in a checkpoint would be paid again on retry.
    await run.ledger.keepUnkept(outcome.usage);
    throw outcomeError(outcome, run.deps.catalog);
  }
  return outcome;
}

async function callModel(
  run: JobRun,
  inputs: LoadedInput[],
  resume: ConversationCheckpoint | undefined,
): Promise<ModelOutcome> {
  const { deps, job, ledger } = run;
  refuseOverCapEstimate(run, inputs);
  run.log.debug('calling the model', { model: job.model, turns: job.turns.length });
  return deps.model.generate({
    model: job.model,
    images: inputs.map((i) => i.prepared.image),
    turns: job.turns,
    ...(job.aspectRatio ? { aspectRatio: job.aspectRatio } : {}),
    ...(job.imageSize ? { imageSize: job.imageSize } : {}),
    ...requestOptionsOf(job),
    timeoutMs: modelTimeoutFor(deps.limits, job),
    ...(job.tier === 'flex' ? { serviceTier: 'flex' as const } : {}),
    ...(resume ? { resume } : {}),
    onTurn: async (turn, index, checkpoint) => {
      stopBeforeCap(run, index, ledger.turnAnswered(turn.usage));
      if (!checkpoint) return;
      await run.state.saveCheckpoint(checkpoint);
      ledger.checkpointKept(checkpoint);
      deps.failpoint?.('step-answered');
    },
  });
}

/**
 * A folder sidecar's job for an image that has since got its own sidecar: the image's sidecar
 * replaces the folder's for it, so the image is not edited (and paid for) twice. Only the cloud
 * can meet this (uploads in any order); a local run plans the image's own sidecar alone.
 */
async function refuseIfSuperseded({ deps, job }: JobRun): Promise<void> {
  const image = job.sidecar.kind === 'folder' ? job.inputs[0] : undefined;
  if (!image) return;
  const own = `${image.name}${IMAGE_SIDECAR_SUFFIX}`;
  if (!(await deps.store.stat(image.bucket, own))) return;
  throw new BananaError({
    code: 'JOB_SUPERSEDED',
    message: `Not run: ${image.name} has its own sidecar (${own}), which replaces the folder's ${job.sidecar.name} for it.`,
    fix: `Nothing to do: ${own} plans this image's jobs. Delete it to use the folder sidecar instead.`,
    details: { file: image.name, sidecar: own },
  });
}

/** The job's refinement checkpoint, when there is one this job can go on from. */
async function usableCheckpoint({
  state,
  job,
}: JobRun): Promise<ConversationCheckpoint | undefined> {
  if (job.turns.length < 2) return undefined;
  const checkpoint = await state.loadCheckpoint();
  if (!checkpoint) return undefined;
  const done = checkpoint.turns.length;
  return done >= 1 && done < job.turns.length ? checkpoint : undefined;
}
