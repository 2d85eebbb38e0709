import type { ModelInfo } from '../catalog/model-catalog.ts';
import { BananaError, toBananaError } from '../errors.ts';
import { type PreparedInput, prepareInput } from '../imaging/prepare-input.ts';
import { previousFrameName } from '../planning/frame-jobs.ts';
import type { Job, ObjectRef } from '../planning/job.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import type { InputRole } from './records.ts';

/** A job's input as read from the store and prepared for the model. */
export interface LoadedInput {
  ref: ObjectRef & { role: InputRole };
  prepared: PreparedInput;
}

/**
 * Reads and prepares every input; an input's error names the sidecar field that named it. A
 * sequence's frame after the first starts from the frame before, sent ahead of the references.
 */
export async function loadInputs(
  deps: WorkerDeps,
  job: Job,
  model: ModelInfo,
): Promise<LoadedInput[]> {
  const loaded: LoadedInput[] = [];
  const previous = await loadPreviousFrame(deps, job, model);
  if (previous) loaded.push(previous);
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
  const field = `${ref.role === 'reference' ? 'references' : 'inputs'}[${position}]`;
  if (job.sidecar.kind === 'request') return field;
  if (job.sidecar.kind !== 'manifest') return ref.role === 'reference' ? field : undefined;
  return `jobs[${job.jobIndex}].${field}`;
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

/**
 * Frame k-1's output, from the output bucket. It has no planned generation (it did not exist at
 * planning), but outputs are written create-only, so its name is one image for good.
 */
async function loadPreviousFrame(
  deps: WorkerDeps,
  job: Job,
  model: ModelInfo,
): Promise<LoadedInput | undefined> {
  const name = previousFrameName(job);
  if (!name) return undefined;
  const bucket = job.output.bucket;
  let read: { bytes: Buffer; info: { generation: string } };
  try {
    read = await deps.store.read(bucket, name, { maxBytes: deps.limits.maxInputBytes });
  } catch (error) {
    if (toBananaError(error).code !== 'STORAGE_NOT_FOUND') throw error;
    throw new BananaError({
      code: 'INPUT_MISSING',
      message: `${name}, the frame before frame ${job.sequence?.frame} of "${job.sequence?.name}", does not exist.`,
      fix: 'The earlier frame was deleted from the output; upload the manifest again to plan the sequence anew.',
      details: { file: name, sidecar: job.sidecar.name },
    });
  }
  const ref = { bucket, name, generation: read.info.generation, role: 'previous-frame' as const };
  return { ref, prepared: await prepare(read.bytes, name, deps, model) };
}

function prepare(bytes: Buffer, name: string, deps: WorkerDeps, model: ModelInfo) {
  return prepareInput(bytes, {
    name,
    maxPixels: deps.limits.maxInputPixels,
    longEdgePx: model.inputLongEdgePx,
    acceptedMimeTypes: model.inputMimeTypes,
  });
}

async function loadInput(
  deps: WorkerDeps,
  ref: Job['inputs'][number],
  model: ModelInfo,
): Promise<PreparedInput> {
  return prepare(await readInput(deps, ref), ref.name, deps, model);
}

/** The exact generation the job was planned with, within the input size limit. */
async function readInput(deps: WorkerDeps, ref: Job['inputs'][number]): Promise<Buffer> {
  try {
    const { bytes } = await deps.store.read(ref.bucket, ref.name, {
      maxBytes: deps.limits.maxInputBytes,
      generation: ref.generation,
    });
    return bytes;
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
}
