import { BananaError, toBananaError } from '../errors.ts';
import { animatedPreview, contactStrip, frameThumbnail } from '../imaging/sequence-preview.ts';
import { frameOutputNames, nextFrameJob, sequenceFileNames } from '../planning/frame-jobs.ts';
import type { Job, Sequence } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { JobState } from './job-state.ts';
import {
  type SequencePreviewFiles,
  stopSequence,
  writeSequenceSummary,
} from './sequence-summary.ts';
import { writeOutput } from './write-records.ts';

/**
 * The worker's next step after a keyframe frame's record, the same in the cloud and in the runner:
 * frame k's success publishes frame k+1's job (built from frame k's alone); the last frame's
 * success writes the sequence's preview, contact strip and `sequence.<id>.json`. A `chained`
 * marker says the step is done; a redelivery of a finished frame without it (the worker died
 * between the record and the step) does the step again. Publishing frame k+1 twice is harmless:
 * frame k+1 is a job like any other, done (and paid) once.
 */

type WorkerParts = Pick<WorkerDeps, 'store' | 'queue' | 'uriOf' | 'now' | 'log' | 'limits'>;

/**
 * After frame k's metadata record: publish frame k+1, or finish the sequence. Any failure here is
 * retryable: the frame is recorded already (it must never get an error record too), and the
 * redelivery does the step again.
 */
export async function continueSequence(deps: WorkerParts, job: Job): Promise<void> {
  const sequence = job.sequence;
  if (!sequence) return;
  try {
    await nextStep(deps, { ...job, sequence });
  } catch (error) {
    const cause = toBananaError(error);
    throw new BananaError({
      code: cause.code,
      message: `Frame ${sequence.frame} of "${sequence.name}" is recorded, but its next step failed: ${cause.message}`,
      retryable: true,
      details: cause.details,
      cause: error,
    });
  }
}

async function nextStep(deps: WorkerParts, job: Job & { sequence: Sequence }) {
  const sequence = job.sequence;
  const next = nextFrameJob(job);
  if (next) {
    await deps.queue.publishJobs([next]);
    deps.log.info('published the next frame', {
      jobId: job.jobId,
      frame: sequence.frame,
      next: next.jobId,
      of: sequence.plan.length,
    });
  } else {
    await finishSequence(deps, job);
  }
  await new JobState(deps.store, job.output.bucket, job.jobId).markChained();
}

/**
 * For a duplicate delivery of a finished frame: its next step, if it never happened. Idempotent,
 * so even a live claim's holder doing it at the same time costs nothing.
 */
export async function chainIfMissed(deps: WorkerParts, job: Job, recordName: string) {
  if (!job.sequence) return;
  const state = new JobState(deps.store, job.output.bucket, job.jobId);
  if (await state.wasChained()) return;
  deps.log.info('the next step of this finished frame was never done: doing it now', {
    jobId: job.jobId,
    frame: job.sequence.frame,
  });
  const succeeded = recordName === outputNames(job.output.base, job.output.format).metadata;
  if (succeeded) await continueSequence(deps, job);
  else await stopSequence(deps, job);
}

/** The last frame is done: preview, contact strip, then the summary that lists them. */
async function finishSequence(deps: WorkerParts, job: Job & { sequence: Sequence }) {
  const files = await writePreviews(deps, job);
  const summary = await writeSequenceSummary(deps, job, files);
  deps.log.info('sequence complete', { sequence: job.sequence.name, summary });
}

async function writePreviews(
  deps: WorkerParts,
  job: Job & { sequence: Sequence },
): Promise<SequencePreviewFiles> {
  const bucket = job.output.bucket;
  // One small copy per frame at a time: a 100-frame sequence never holds 100 full images.
  const thumbnails: Buffer[] = [];
  for (let frame = 1; frame <= job.sequence.plan.length; frame++) {
    const { bytes } = await deps.store.read(bucket, frameOutputNames(job, frame).image, {
      maxBytes: deps.limits.maxInputBytes,
    });
    thumbnails.push(await frameThumbnail(bytes));
  }
  const names = sequenceFileNames(job.sequence);
  const { fps, gif } = job.sequence.preview;
  const write = async (name: string, image: { bytes: Buffer; mimeType: string }) => {
    await writeOutput(deps, bucket, name, image.bytes, image.mimeType);
    return deps.uriOf(bucket, name);
  };
  const webp = await write(names.webp, await animatedPreview(thumbnails, { fps, format: 'webp' }));
  const animatedGif = gif
    ? await write(names.gif, await animatedPreview(thumbnails, { fps, format: 'gif' }))
    : undefined;
  const strip = await write(names.contactStrip, await contactStrip(thumbnails));
  return { webp, ...(animatedGif ? { gif: animatedGif } : {}), contactStrip: strip };
}
