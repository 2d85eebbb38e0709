import { addUsage, costFromUsage, subtractUsage, type Usage, ZERO_USAGE } from '../catalog/cost.ts';
import type { ModelCatalog, ModelInfo } from '../catalog/model-catalog.ts';
import { BananaError, serializeError, toBananaError } from '../errors.ts';
import { outcomeError } from '../gemini/outcome-error.ts';
import { encodeOutput } from '../imaging/encode-output.ts';
import { type PreparedInput, prepareInput } from '../imaging/prepare-input.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import { estimateJobCost } from '../planning/plan-jobs.ts';
import type { ConversationCheckpoint, ImageModel, ModelOutcome } from '../ports/image-model.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { IMAGE_SIDECAR_SUFFIX } from '../sidecar/drop-files.ts';
import { announceIfMissed, announceResult } from './announce-result.ts';
import type { JobStage } from './job-stages.ts';
import { JobState } from './job-state.ts';
import {
  type ErrorRecord,
  type InputRecord,
  type MetadataRecord,
  toJsonBytes,
  WATERMARK_NOTE,
} from './records.ts';
import { writeErrorRecord, writeOutput } from './write-records.ts';

/** What the worker needs; built once per instance by the entry point. */
export interface WorkerDeps {
  store: ObjectStore;
  model: ImageModel;
  queue: JobQueue;
  catalog: ModelCatalog;
  log: Logger;
  now: () => Date;
  /** How records name an object (gs://bucket/name in the cloud, a file path locally). */
  uriOf: (bucket: string, name: string) => string;
  workerId: string;
  /**
   * The buckets this deployment owns: a job naming any other is refused (a forged or misrouted
   * message must not make the worker read or write elsewhere).
   */
  buckets?: { input: string; output: string };
  /** Called at each stage of a job; crash tests kill the process there. */
  failpoint?: (stage: JobStage) => void;
  limits: {
    maxInputBytes: number;
    maxInputPixels: number;
    modelTimeoutMs: number;
    leaseMs: number;
  };
}

export type RunJobResult =
  | { status: 'succeeded'; record: MetadataRecord; recordUri: string }
  | { status: 'failed'; record: ErrorRecord; recordUri: string }
  | { status: 'duplicate'; recordUri: string };

/**
 * The worker use case: one delivery of one job. Returns the terminal outcome (succeeded, failed
 * for good, or already done by an earlier delivery); throws a retryable BananaError when trying
 * again later can help (quota, 5xx, timeouts, another delivery holding the job).
 */
export async function runJob(
  deps: WorkerDeps,
  job: Job,
  delivery: { messageId: string; attempt: number },
): Promise<RunJobResult> {
  const { store, log } = deps;
  const names = outputNames(job.output.base, job.output.format);
  const bucket = job.output.bucket;
  const jobLog = log.child({ jobId: job.jobId, runId: job.runId, attempt: delivery.attempt });

  // 1. Already finished by an earlier delivery: nothing to do, nothing to pay.
  const finished = async () => {
    const [metadata, error] = await Promise.all(
      [names.metadata, names.error].map((name) => store.stat(bucket, name)),
    );
    const record = metadata ?? error;
    if (!record) return undefined;
    jobLog.info('duplicate delivery of a finished job: skipped', { record: record.name });
    await announceIfMissed({ ...deps, log: jobLog }, bucket, job.jobId, record.name);
    return { status: 'duplicate', recordUri: deps.uriOf(bucket, record.name) } as const;
  };
  const before = await finished();
  if (before) return before;

  // 2. Claim it, so that two concurrent deliveries never both call the model.
  const state = new JobState(store, bucket, job.jobId);
  const startedAt = deps.now();
  const leaseMs = Math.max(
    deps.limits.leaseMs,
    job.turns.length * deps.limits.modelTimeoutMs + 5_000,
  );
  const claim = await state.claim(
    { owner: deps.workerId, messageId: delivery.messageId, attempt: delivery.attempt },
    startedAt,
    leaseMs,
  );
  if (!claim.ok) {
    throw new BananaError({
      code: 'JOB_IN_PROGRESS',
      message: `Job ${job.jobId} is being processed by ${claim.heldBy}; this delivery will be retried.`,
      retryable: true,
      retryAfterMs: Math.min(claim.retryAfterMs, 60_000),
      details: { jobId: job.jobId },
    });
  }
  // The delivery that held the claim may have finished between our check and our claim.
  const meanwhile = await finished();
  if (meanwhile) {
    await state.release(claim.generation);
    return meanwhile;
  }
  if (claim.tookOver) jobLog.warn('took over an expired claim (an earlier worker stopped)');
  deps.failpoint?.('claimed');

  try {
    const result = await processClaimedJob(deps, job, delivery, state, startedAt, jobLog);
    await state.release(claim.generation);
    return result;
  } catch (error) {
    const failure = toBananaError(error);
    await state.release(claim.generation).catch(() => undefined);
    if (failure.retryable) {
      await state.saveLastError(serializeError(failure), delivery.attempt).catch(() => undefined);
      jobLog.warn('retryable failure: the delivery will be retried', {
        code: failure.code,
        error: failure.message,
        retryAfterMs: failure.retryAfterMs,
      });
      throw failure;
    }
    const billed = await state.spentSoFar().catch(() => undefined);
    const record = await writeErrorRecord(
      deps,
      job,
      failure,
      delivery.attempt,
      billed && billed.totalTokens > 0 ? billedCost(deps, job, billed) : undefined,
    );
    return { status: 'failed', record, recordUri: deps.uriOf(bucket, names.error) };
  }
}

function billedCost(deps: Pick<WorkerDeps, 'catalog'>, job: Job, usage: Usage) {
  const model = deps.catalog.resolve(job.model);
  return { usage, cost: costFromUsage(model, usage, deps.catalog.priceTableVersion) };
}

async function processClaimedJob(
  deps: WorkerDeps,
  job: Job,
  delivery: { attempt: number },
  state: JobState,
  startedAt: Date,
  log: Logger,
): Promise<RunJobResult> {
  const model = deps.catalog.resolve(job.model);
  const names = outputNames(job.output.base, job.output.format);

  // 3. The model's answer, from an earlier delivery if it was persisted, else from the model.
  const inputs = await loadInputs(deps, job, model);
  let outcome = await state.loadModelResult();
  const reused = outcome !== undefined;
  let resumedAfterStep: number | undefined;
  if (outcome) {
    log.info('reusing the persisted model answer of an earlier delivery (not paid again)');
  } else {
    await refuseIfSuperseded(deps, job);
    // A refinement an earlier delivery left between steps goes on from there.
    const resume = await usableCheckpoint(state, job);
    if (resume) {
      resumedAfterStep = resume.turns.length;
      log.info('going on from an earlier delivery after step', { step: resumedAfterStep });
    }
    const progress: RefinementProgress = {
      spent: resume?.usage ?? ZERO_USAGE,
      checkpointed: resume?.usage ?? ZERO_USAGE,
    };
    const keep = async (checkpoint: ConversationCheckpoint) => {
      await state.saveCheckpoint(checkpoint);
      progress.checkpointed = checkpoint.usage;
      deps.failpoint?.('step-answered');
    };
    try {
      outcome = await callModel(deps, job, model, inputs, log, { resume, progress, keep });
    } catch (error) {
      // Stopped between steps (the cost cap, a failed checkpoint write): what was billed beyond the
      // checkpoint is kept; the checkpoint's own steps are counted from the checkpoint.
      const unkept = subtractUsage(progress.spent, progress.checkpointed);
      if (unkept.totalTokens > 0) await state.addBilledUsage(unkept);
      throw error;
    }
    if (isRetryable(outcome)) {
      // Turns answered but not in a checkpoint would be paid again on retry; keep count.
      const unkept = subtractUsage(outcome.usage, progress.checkpointed);
      if (unkept.totalTokens > 0) await state.addBilledUsage(unkept);
      throw outcomeError(outcome);
    }
    await state.saveModelResult(outcome);
    deps.failpoint?.('model-answered');
  }
  // Everything this job was billed for: the answer plus any failed attempts before it.
  const earlier = await state.loadBilledUsage();
  const usage = addUsage(outcome.usage, earlier);
  const cost = costFromUsage(model, usage, deps.catalog.priceTableVersion);
  if (outcome.kind !== 'image') {
    const failure = outcomeError(outcome);
    const record = await writeErrorRecord(deps, job, failure, delivery.attempt, { usage, cost });
    return { status: 'failed', record, recordUri: deps.uriOf(job.output.bucket, names.error) };
  }

  // 4. Post-process and write: outputs first, the metadata record last (it marks the job done).
  let encoded: Awaited<ReturnType<typeof encodeOutput>>;
  try {
    encoded = await encodeOutput(outcome.image.bytes, job.output);
  } catch (error) {
    throw new BananaError({
      code: 'MODEL_NO_IMAGE',
      message: `The model's image could not be decoded: ${(error as Error).message}`,
      fix: 'Retry the job by uploading the sidecar again; report it if it persists.',
      cause: error,
    });
  }
  const bucket = job.output.bucket;
  await writeOutput(deps, bucket, names.image, encoded.main.bytes, encoded.main.mimeType);
  deps.failpoint?.('output-written');
  const renditions = [];
  for (const r of encoded.renditions) {
    const name = names.rendition(r.renditionWidth ?? r.width);
    await writeOutput(deps, bucket, name, r.bytes, r.mimeType);
    renditions.push({
      uri: deps.uriOf(bucket, name),
      type: r.mimeType,
      width: r.width,
      height: r.height,
      bytes: r.bytes.length,
      renditionWidth: r.renditionWidth ?? r.width,
    });
  }
  const finishedAt = deps.now();
  const record: MetadataRecord = {
    schemaVersion: 1,
    jobId: job.jobId,
    runId: job.runId,
    status: 'succeeded',
    mode: job.mode,
    model: {
      requested: job.requestedModel,
      id: job.model,
      ...(outcome.modelVersion ? { version: outcome.modelVersion } : {}),
      backend: deps.model.backend,
    },
    prompt: job.turns[job.turns.length - 1] ?? '',
    ...(job.turns.length > 1 ? { steps: job.turns } : {}),
    sidecar: {
      uri: deps.uriOf(job.sidecar.bucket, job.sidecar.name),
      generation: job.sidecar.generation,
      kind: job.sidecar.kind,
    },
    inputs: inputRecords(deps, inputs),
    output: {
      uri: deps.uriOf(bucket, names.image),
      type: encoded.main.mimeType,
      width: encoded.main.width,
      height: encoded.main.height,
      bytes: encoded.main.bytes.length,
      renditions,
    },
    ...(job.aspectRatio ? { aspectRatio: job.aspectRatio } : {}),
    ...(job.imageSize ? { imageSize: job.imageSize } : {}),
    usage,
    ...(earlier.totalTokens > 0 ? { retriedUsage: earlier } : {}),
    cost,
    estimatedCostUsd: job.estimatedCostUsd,
    timing: {
      plannedAt: job.plannedAt,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      modelMs: outcome.modelMs,
      totalMs: finishedAt.getTime() - startedAt.getTime(),
    },
    attempts: delivery.attempt,
    modelResultReused: reused,
    ...(resumedAfterStep ? { resumedAfterStep } : {}),
    ...(outcome.finishReason ? { finishReason: outcome.finishReason } : {}),
    ...(outcome.text ? { modelText: outcome.text } : {}),
    tags: job.tags,
    watermark: WATERMARK_NOTE,
  };
  await writeOutput(deps, bucket, names.metadata, toJsonBytes(record), 'application/json');
  await announceResult(deps, bucket, {
    schemaVersion: 1,
    jobId: job.jobId,
    runId: job.runId,
    status: 'succeeded',
    recordUri: deps.uriOf(bucket, names.metadata),
    outputUri: record.output.uri,
    costUsd: cost.total,
    finishedAt: record.timing.finishedAt,
  });
  log.info('job succeeded', {
    cost: cost.total,
    output: record.output.uri,
    modelMs: outcome.modelMs,
  });
  return { status: 'succeeded', record, recordUri: deps.uriOf(bucket, names.metadata) };
}

function isRetryable(outcome: ModelOutcome): boolean {
  return outcome.kind === 'quota' || outcome.kind === 'transient' || outcome.kind === 'timeout';
}

async function loadInputs(
  deps: WorkerDeps,
  job: Job,
  model: ModelInfo,
): Promise<Array<{ ref: Job['inputs'][number]; prepared: PreparedInput }>> {
  const loaded = [];
  for (const [index, ref] of job.inputs.entries()) {
    try {
      loaded.push({ ref, prepared: await loadInput(deps, ref, model) });
    } catch (error) {
      throw naming(toBananaError(error), job, index);
    }
  }
  return loaded;
}

/** The sidecar field that names a job's input, e.g. `jobs[2].references[0]` (none for the image). */
function inputField(job: Job, index: number): string | undefined {
  const ref = job.inputs[index];
  if (!ref) return undefined;
  const position = job.inputs.slice(0, index).filter((i) => i.role === ref.role).length;
  if (job.sidecar.kind !== 'manifest') {
    return ref.role === 'reference' ? `references[${position}]` : undefined;
  }
  return `jobs[${job.jobIndex}].${ref.role === 'reference' ? 'references' : 'inputs'}[${position}]`;
}

/** An input's error, saying which sidecar and field named the file (so the fix is findable). */
function naming(error: BananaError, job: Job, index: number): BananaError {
  if (error.retryable) return error;
  const field = inputField(job, index);
  const where = `${field ? `${field} in ` : ''}${job.sidecar.name}`;
  return new BananaError({
    code: error.code,
    message: `${error.message} (named by ${where})`,
    ...(error.fix ? { fix: error.fix } : {}),
    details: { ...error.details, sidecar: job.sidecar.name, ...(field ? { field } : {}) },
    cause: error,
  });
}

async function loadInput(
  deps: WorkerDeps,
  ref: Job['inputs'][number],
  model: ModelInfo,
): Promise<PreparedInput> {
  let bytes: Buffer;
  try {
    ({ bytes } = await deps.store.read(ref.bucket, ref.name, {
      maxBytes: deps.limits.maxInputBytes,
      generation: ref.generation,
    }));
  } catch (error) {
    const e = toBananaError(error);
    if (e.code === 'STORAGE_NOT_FOUND') {
      throw new BananaError({
        code: 'INPUT_MISSING',
        message: `${ref.name} (generation ${ref.generation}) no longer exists.`,
        fix: 'The input was replaced or deleted after planning; a new upload plans a new job.',
        details: { file: ref.name },
      });
    }
    if (e.code === 'INPUT_TOO_LARGE') {
      throw new BananaError({
        code: 'INPUT_TOO_LARGE',
        message: `${ref.name} is over the ${deps.limits.maxInputBytes}-byte input limit.`,
        fix: 'Upload a smaller file (the model uses at most a few megapixels).',
        details: { file: ref.name, ...e.details },
      });
    }
    throw e;
  }
  return prepareInput(bytes, {
    name: ref.name,
    maxPixels: deps.limits.maxInputPixels,
    longEdgePx: model.inputLongEdgePx,
    acceptedMimeTypes: model.inputMimeTypes,
  });
}

/**
 * Usage of a refinement as it goes: `spent` in all (checkpoint included), `checkpointed` what the
 * latest checkpoint holds (a retry goes on from there, so that much is never paid again).
 */
interface RefinementProgress {
  spent: Usage;
  checkpointed: Usage;
}

/**
 * A folder sidecar's job for an image that has since got its own sidecar: the image's sidecar
 * replaces the folder's for it, so the image is not edited (and paid for) twice. Only the cloud
 * can meet this (uploads in any order); a local run plans the image's own sidecar alone.
 */
async function refuseIfSuperseded(deps: WorkerDeps, job: Job): Promise<void> {
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
async function usableCheckpoint(
  state: JobState,
  job: Job,
): Promise<ConversationCheckpoint | undefined> {
  if (job.turns.length < 2) return undefined;
  const checkpoint = await state.loadCheckpoint();
  if (!checkpoint) return undefined;
  const done = checkpoint.turns.length;
  return done >= 1 && done < job.turns.length ? checkpoint : undefined;
}

async function callModel(
  deps: WorkerDeps,
  job: Job,
  model: ModelInfo,
  inputs: Array<{ prepared: PreparedInput }>,
  log: Logger,
  refinement: {
    resume: ConversationCheckpoint | undefined;
    progress: RefinementProgress;
    keep: (checkpoint: ConversationCheckpoint) => Promise<void>;
  },
): Promise<ModelOutcome> {
  const { resume, progress, keep } = refinement;
  // The estimate with the real input sizes must fit the job's cap before anything is spent.
  if (job.maxCostUsd !== undefined) {
    const sizes = new Map(
      inputs.map((i, index) => [
        String(index),
        { width: i.prepared.width, height: i.prepared.height },
      ]),
    );
    const estimate = estimateJobCost(
      model,
      { catalog: deps.catalog, imageSize: (n) => sizes.get(n) },
      {
        images: [...sizes.keys()],
        turns: job.turns,
        aspectRatio: job.aspectRatio,
        imageSize: job.imageSize,
      },
    );
    if (estimate > job.maxCostUsd) {
      throw new BananaError({
        code: 'COST_CAP_EXCEEDED',
        message: `Estimated $${estimate.toFixed(4)} for this job exceeds its cap of $${job.maxCostUsd.toFixed(4)}.`,
        fix: 'Raise maxCostUsd in the sidecar, or use smaller inputs or fewer steps.',
        details: { estimatedCostUsd: estimate, cap: job.maxCostUsd },
      });
    }
  }
  const cap = job.maxCostUsd;
  log.debug('calling the model', { model: job.model, turns: job.turns.length });
  return deps.model.generate({
    model: job.model,
    images: inputs.map((i) => i.prepared.image),
    turns: job.turns,
    ...(job.aspectRatio ? { aspectRatio: job.aspectRatio } : {}),
    ...(job.imageSize ? { imageSize: job.imageSize } : {}),
    timeoutMs: deps.limits.modelTimeoutMs,
    ...(resume ? { resume } : {}),
    onTurn: async (turn, index, checkpoint) => {
      progress.spent = addUsage(progress.spent, turn.usage);
      const soFar = costFromUsage(model, progress.spent, deps.catalog.priceTableVersion).total;
      const perTurn = soFar / (index + 1);
      if (cap !== undefined && index + 1 < job.turns.length && soFar + perTurn > cap) {
        throw new BananaError({
          code: 'COST_CAP_EXCEEDED',
          message: `Stopped after step ${index + 1} of ${job.turns.length}: $${soFar.toFixed(4)} spent, the next step would pass the cap of $${cap.toFixed(4)}.`,
          fix: 'Raise maxCostUsd in the sidecar, or use fewer steps.',
          details: { spentUsd: soFar, cap, step: index + 1 },
        });
      }
      if (checkpoint) await keep(checkpoint);
    },
  });
}

function inputRecords(
  deps: WorkerDeps,
  inputs: Array<{ ref: Job['inputs'][number]; prepared: PreparedInput }>,
): InputRecord[] {
  return inputs.map(({ ref, prepared }) => ({
    uri: deps.uriOf(ref.bucket, ref.name),
    role: ref.role,
    generation: ref.generation,
    ...(prepared.original.mimeType
      ? { type: prepared.original.mimeType }
      : { type: prepared.original.format }),
    bytes: prepared.original.bytes,
    width: prepared.original.width,
    height: prepared.original.height,
    conversions: prepared.conversions,
    sentWidth: prepared.width,
    sentHeight: prepared.height,
  }));
}
