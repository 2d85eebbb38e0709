import type { Cost, Usage } from '../catalog/cost.ts';
import { BananaError, serializeError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import { OUTPUT_TAG } from '../sidecar/drop-files.ts';
import { announceResult } from './announce-result.ts';
import type { ErrorRecord } from './records.ts';
import { toJsonBytes } from './records.ts';
import type { WorkerDeps } from './run-job.ts';

/**
 * Writing what a job leaves behind. Kept apart from run-job.ts so that the dead-letter function,
 * which only writes records, does not load sharp or the Gemini SDK.
 */

const TAG = { [OUTPUT_TAG]: '1' };

/** Create-only write of an output; an existing object is this job's own earlier write. */
export async function writeOutput(
  deps: Pick<WorkerDeps, 'store'>,
  bucket: string,
  name: string,
  bytes: Buffer,
  contentType: string,
): Promise<void> {
  try {
    await deps.store.write(bucket, name, bytes, {
      contentType,
      metadata: TAG,
      ifGenerationMatch: '0',
    });
  } catch (error) {
    // Names are derived from the job id: an existing object is this job's own earlier write.
    if (!(error instanceof BananaError && error.code === 'STORAGE_ALREADY_EXISTS')) throw error;
  }
}

/** Writes the job's error record (create-only) and announces the failure. */
export async function writeErrorRecord(
  deps: Pick<WorkerDeps, 'store' | 'queue' | 'uriOf' | 'log' | 'now' | 'catalog'>,
  job: Job,
  failure: BananaError,
  attempts: number,
  billed?: { usage: Usage; cost: Cost },
): Promise<ErrorRecord> {
  const cost = billed?.cost;
  const names = outputNames(job.output.base, job.output.format);
  const record: ErrorRecord = {
    schemaVersion: 1,
    status: 'failed',
    jobId: job.jobId,
    runId: job.runId,
    ...(typeof failure.details.file === 'string' ? { file: failure.details.file } : {}),
    sidecar: deps.uriOf(job.sidecar.bucket, job.sidecar.name),
    ...(typeof failure.details.field === 'string' ? { field: failure.details.field } : {}),
    error: serializeError(failure),
    mode: job.mode,
    model: job.model,
    prompt: job.turns.join('\n→ '),
    inputs: job.inputs.map((i) => ({
      uri: deps.uriOf(i.bucket, i.name),
      role: i.role,
      generation: i.generation,
    })),
    ...(billed ? { usage: billed.usage, cost: billed.cost } : {}),
    attempts,
    tags: job.tags,
    at: deps.now().toISOString(),
  };
  await writeOutput(
    deps as WorkerDeps,
    job.output.bucket,
    names.error,
    toJsonBytes(record),
    'application/json',
  );
  await announceResult(deps, job.output.bucket, {
    schemaVersion: 1,
    jobId: job.jobId,
    runId: job.runId,
    status: 'failed',
    recordUri: deps.uriOf(job.output.bucket, names.error),
    errorCode: failure.code,
    costUsd: cost?.total ?? 0,
    finishedAt: record.at,
  });
  deps.log.warn('job failed', {
    jobId: job.jobId,
    runId: job.runId,
    code: failure.code,
    error: failure.message,
    cost: cost?.total ?? 0,
  });
  return record;
}
