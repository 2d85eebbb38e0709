import type { BananaError } from '../errors.ts';
import { type SerializedError, serializeError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import { writeIfAbsent } from '../ports/object-store.ts';
import type { RecordDeps, WorkerDeps } from '../ports/worker-deps.ts';
import { OUTPUT_TAG } from '../sidecar/drop-files.ts';
import { announceResult, eventFromRecord } from './announce-result.ts';
import type { Billed } from './billing-ledger.ts';
import { fixFor, type JobSite } from './fix-wording.ts';
import { frameLabel, frameRecordFields } from './frame-record.ts';
import type { ErrorRecord, MetadataRecord } from './records.ts';
import { toJsonBytes } from './records.ts';
import { stopSequence } from './sequence-summary.ts';

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
  // Names are derived from the job id: an existing object is this job's own earlier write.
  await writeIfAbsent(deps.store, bucket, name, bytes, { contentType, metadata: TAG });
}

/**
 * Writes a succeeded job's metadata record (create-only; the commit point: from here on the job
 * is done) and announces the success.
 */
export async function writeMetadataRecord(
  deps: RecordDeps,
  job: Job,
  record: MetadataRecord,
): Promise<string> {
  const bucket = job.output.bucket;
  const name = outputNames(job.output.base, job.output.format).metadata;
  await writeOutput(deps, bucket, name, toJsonBytes(record), 'application/json');
  const recordUri = deps.uriOf(bucket, name);
  await announceEvent(deps, bucket, record, recordUri);
  return recordUri;
}

/**
 * Writes the job's error record (create-only) and announces the failure. A keyframe's failure
 * stops its sequence: no later frame is published, and `sequence.<id>.json` names the frame.
 */
export async function writeErrorRecord(
  deps: RecordDeps,
  job: Job,
  failure: BananaError,
  attempts: number,
  billed?: Billed,
): Promise<ErrorRecord> {
  const cost = billed?.cost;
  const names = outputNames(job.output.base, job.output.format);
  const record: ErrorRecord = {
    schemaVersion: 1,
    status: 'failed',
    jobId: job.jobId,
    runId: job.runId,
    ...(job.requestId ? { requestId: job.requestId } : {}),
    ...(typeof failure.details.file === 'string' ? { file: failure.details.file } : {}),
    sidecar: deps.uriOf(job.sidecar.bucket, job.sidecar.name),
    ...(typeof failure.details.field === 'string' ? { field: failure.details.field } : {}),
    error: wordedFor(withFrame(serializeError(failure), job), deps.site),
    mode: job.mode,
    model: job.model,
    ...(job.tier ? { tier: job.tier } : {}),
    ...(typeof failure.details.batch === 'string' ? { batch: failure.details.batch } : {}),
    prompt: job.turns.join('\n→ '),
    inputs: job.inputs.map((i) => ({
      uri: deps.uriOf(i.bucket, i.name),
      role: i.role,
      generation: i.generation,
    })),
    ...(billed ? { usage: billed.usage, cost: billed.cost } : {}),
    ...(job.warnings ? { warnings: job.warnings } : {}),
    attempts,
    tags: job.tags,
    ...frameRecordFields(job, deps.uriOf),
    at: deps.now().toISOString(),
  };
  await writeOutput(deps, job.output.bucket, names.error, toJsonBytes(record), 'application/json');
  await announceEvent(deps, job.output.bucket, record, deps.uriOf(job.output.bucket, names.error));
  await stopSequence(deps, job);
  deps.log.warn('job failed', {
    jobId: job.jobId,
    runId: job.runId,
    code: failure.code,
    error: failure.message,
    cost: cost?.total ?? 0,
  });
  return record;
}

async function announceEvent(
  deps: RecordDeps,
  bucket: string,
  record: MetadataRecord | ErrorRecord,
  recordUri: string,
): Promise<void> {
  const event = eventFromRecord(record, recordUri);
  if (event) await announceResult(deps, bucket, event);
}

/** A keyframe's failure says which frame failed, in its message too. */
/** The fix worded for where the job ran (the runner's "run the drop again", say). */
function wordedFor(error: SerializedError, site: JobSite | undefined): SerializedError {
  return error.fix === undefined ? error : { ...error, fix: fixFor(error.fix, site) };
}

function withFrame(error: SerializedError, job: Job): SerializedError {
  const label = frameLabel(job);
  return label ? { ...error, message: `${error.message} (${label})` } : error;
}
