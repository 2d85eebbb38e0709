import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';
import { frameOutputNames, sequenceFileNames } from '../planning/frame-jobs.ts';
import type { Job, Sequence } from '../planning/job.ts';
import { frameJobIdFor } from '../planning/job-id.ts';
import { readJsonIfExists } from '../ports/object-store.ts';
import type { RecordDeps } from '../ports/worker-deps.ts';
import { OUTPUT_TAG } from '../sidecar/drop-files.ts';
import { JobState } from './job-state.ts';
import { toJsonBytes } from './records.ts';

/**
 * `sequence.<id>.json`: a keyframe sequence at the end of its chain, built from its frames'
 * records: the frames in order with their prompts and costs, the total, and where it stopped if a
 * frame failed. Rewritten whenever the chain ends (a rerun that finishes a stopped sequence
 * replaces the "stopped" one). Needs no sharp: the dead-letter function writes it too.
 */

export interface SequenceFrame {
  frame: number;
  prompt: string;
  status: 'succeeded' | 'failed' | 'not-run';
  jobId: string;
  record?: string;
  output?: string;
  previousFrame?: string;
  errorCode?: ErrorCode;
  estimatedCostUsd: number;
  costUsd: number;
}

export interface SequenceSummary {
  schemaVersion: 1;
  sequenceId: string;
  name: string;
  status: 'complete' | 'stopped';
  sidecar: string;
  model: string;
  frameCount: number;
  fps: number;
  frames: SequenceFrame[];
  /** The frame that failed, so the chain did not go on. */
  stoppedAt?: { frame: number; code: ErrorCode; message: string; record: string };
  estimatedCostUsd: number;
  /** What every frame's record says it cost (failed frames included). */
  costUsd: number;
  preview?: { webp: string; gif?: string };
  contactStrip?: string;
  at: string;
}

/** Files made from the frames, when the sequence is complete. */
export interface SequencePreviewFiles {
  webp: string;
  gif?: string;
  contactStrip: string;
}

const metadataSchema = z.object({
  output: z.object({ uri: z.string() }),
  cost: z.object({ total: z.number() }),
  previousFrame: z.string().optional(),
});
const errorSchema = z.object({
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }),
  cost: z.object({ total: z.number() }).optional(),
});

type FrameJob = Job & { sequence: Sequence };
type SummaryDeps = Pick<RecordDeps, 'store' | 'uriOf' | 'now'>;

/** One frame as its records tell it: succeeded, failed (with its error message), or not run. */
async function readFrame(
  deps: SummaryDeps,
  job: FrameJob,
  frame: number,
): Promise<{ read: SequenceFrame; message?: string }> {
  const names = frameOutputNames(job, frame);
  const planned = job.sequence.plan[frame - 1];
  const bucket = job.output.bucket;
  const base = {
    frame,
    prompt: planned?.prompt ?? '',
    jobId: frameJobIdFor(job.sequence.id, frame),
    estimatedCostUsd: planned?.estimatedCostUsd ?? 0,
  };
  const done = await readJsonIfExists(deps.store, bucket, names.metadata, metadataSchema);
  if (done) {
    const read: SequenceFrame = {
      ...base,
      status: 'succeeded',
      record: deps.uriOf(bucket, names.metadata),
      output: done.output.uri,
      ...(done.previousFrame ? { previousFrame: done.previousFrame } : {}),
      costUsd: done.cost.total,
    };
    return { read };
  }
  const failed = await readJsonIfExists(deps.store, bucket, names.error, errorSchema);
  if (!failed) return { read: { ...base, status: 'not-run', costUsd: 0 } };
  const read: SequenceFrame = {
    ...base,
    status: 'failed',
    record: deps.uriOf(bucket, names.error),
    errorCode: failed.error.code,
    costUsd: failed.cost?.total ?? 0,
  };
  return { read, message: failed.error.message };
}

/** Reads every frame's record and builds the summary. */
export async function buildSequenceSummary(
  deps: SummaryDeps,
  job: FrameJob,
  files?: SequencePreviewFiles,
): Promise<SequenceSummary> {
  const count = job.sequence.plan.length;
  const frames: SequenceFrame[] = [];
  let stoppedAt: SequenceSummary['stoppedAt'];
  for (let frame = 1; frame <= count; frame++) {
    const { read, message } = await readFrame(deps, job, frame);
    frames.push(read);
    if (!stoppedAt && read.status === 'failed' && read.errorCode && read.record) {
      stoppedAt = { frame, code: read.errorCode, message: message ?? '', record: read.record };
    }
  }
  const complete = frames.every((f) => f.status === 'succeeded');
  const sum = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) * 1e6) / 1e6;
  return {
    schemaVersion: 1,
    sequenceId: job.sequence.id,
    name: job.sequence.name,
    status: complete ? 'complete' : 'stopped',
    sidecar: deps.uriOf(job.sidecar.bucket, job.sidecar.name),
    model: job.model,
    frameCount: count,
    fps: job.sequence.preview.fps,
    frames,
    ...(stoppedAt ? { stoppedAt } : {}),
    estimatedCostUsd: sum(job.sequence.plan.map((p) => p.estimatedCostUsd)),
    costUsd: sum(frames.map((f) => f.costUsd)),
    ...(files
      ? {
          preview: { webp: files.webp, ...(files.gif ? { gif: files.gif } : {}) },
          contactStrip: files.contactStrip,
        }
      : {}),
    at: deps.now().toISOString(),
  };
}

/** Writes (or rewrites) `sequence.<id>.json` beside the frames; returns its URI. */
export async function writeSequenceSummary(
  deps: SummaryDeps,
  job: FrameJob,
  files?: SequencePreviewFiles,
): Promise<string> {
  const summary = await buildSequenceSummary(deps, job, files);
  const name = sequenceFileNames(job.sequence).summary;
  await deps.store.write(job.output.bucket, name, toJsonBytes(summary), {
    contentType: 'application/json',
    metadata: { [OUTPUT_TAG]: '1' },
  });
  return deps.uriOf(job.output.bucket, name);
}

/**
 * A frame failed for good (or was not started): the chain stops here. `sequence.<id>.json` says
 * so, naming the frame; no later frame is published.
 */
export async function stopSequence(deps: SummaryDeps, job: Job): Promise<void> {
  const sequence = job.sequence;
  if (!sequence) return;
  await writeSequenceSummary(deps, { ...job, sequence });
  await new JobState(deps.store, job.output.bucket, job.jobId).markChained();
}
