import type { Job, Sequence } from './job.ts';
import { frameJobIdFor } from './job-id.ts';
import { outputBase, outputNames } from './output-names.ts';

/**
 * Keyframe sequences as jobs: frame k is its own job with a deterministic id, and its job is a pure
 * function of frame k-1's job. The planner builds every frame this way (for the estimate and the
 * caps); the worker that finishes frame k builds frame k+1's job the same way and publishes it.
 */

/** `frame-0007`: four digits, so a folder listing sorts the frames in order (at most 100). */
export function frameStem(frame: number): string {
  return `frame-${String(frame).padStart(4, '0')}`;
}

/** Output base of frame k of a sequence (`walk/frame-0002.1a2b3c4d`). */
export function frameOutputBase(sequence: Pick<Sequence, 'id' | 'folder'>, frame: number): string {
  return outputBase({
    folder: sequence.folder,
    stem: frameStem(frame),
    label: '',
    variant: 1,
    variants: 1,
    jobId: frameJobIdFor(sequence.id, frame),
  });
}

/** What every frame of a sequence writes, by frame number (1-based). */
export function frameOutputNames(job: Job & { sequence: Sequence }, frame: number) {
  return outputNames(frameOutputBase(job.sequence, frame), job.output.format);
}

/** The output image of the frame before this one (undefined for frame 1). */
export function previousFrameName(job: Job): string | undefined {
  const sequence = job.sequence;
  if (!sequence || sequence.frame <= 1) return undefined;
  return frameOutputNames({ ...job, sequence }, sequence.frame - 1).image;
}

/**
 * Frame k+1's job from frame k's, or undefined after the last frame. The next frame keeps the
 * references (the character or style to hold) and starts from this frame's output instead of the
 * job's inputs.
 */
export function nextFrameJob(job: Job): Job | undefined {
  const sequence = job.sequence;
  if (!sequence) return undefined;
  const frame = sequence.frame + 1;
  const planned = sequence.plan[frame - 1];
  if (!planned) return undefined;
  const next = { ...sequence, frame };
  const { maxCostUsd: _previousCap, ...rest } = job;
  return {
    ...rest,
    jobId: frameJobIdFor(sequence.id, frame),
    inputs: job.inputs.filter((input) => input.role === 'reference'),
    turns: [planned.prompt],
    output: { ...job.output, base: frameOutputBase(next, frame) },
    estimatedCostUsd: planned.estimatedCostUsd,
    ...(planned.maxCostUsd === undefined ? {} : { maxCostUsd: planned.maxCostUsd }),
    sequence: next,
  };
}

/** Where a sequence's own files go, beside its frames; named by the sequence id, never overwritten by another version. */
export function sequenceFileNames(sequence: Pick<Sequence, 'id' | 'folder'>) {
  const id = sequence.id.slice(0, 8);
  return {
    summary: `${sequence.folder}sequence.${id}.json`,
    webp: `${sequence.folder}preview.${id}.webp`,
    gif: `${sequence.folder}preview.${id}.gif`,
    contactStrip: `${sequence.folder}contact-strip.${id}.png`,
  };
}

/**
 * What to publish of planned jobs: every job, except that a sequence starts with its lowest frame
 * among them (frame 1 when freshly planned); the frames after it follow it, published by the worker.
 */
export function chainStarts(jobs: readonly Job[]): Job[] {
  const lowest = new Map<string, number>();
  for (const { sequence } of jobs) {
    if (sequence)
      lowest.set(sequence.id, Math.min(lowest.get(sequence.id) ?? sequence.frame, sequence.frame));
  }
  return jobs.filter((job) => !job.sequence || lowest.get(job.sequence.id) === job.sequence.frame);
}

/**
 * Every frame's job of a sequence, from the job planned for its first frame: frame 1 gets the
 * sequence's ids and names, and frames 2..n follow from it with `nextFrameJob`, exactly as the
 * worker will build them.
 */
export function sequenceJobs(
  first: Job,
  sequence: Omit<Sequence, 'frame' | 'plan'> & {
    prompts: readonly string[];
    estimates: readonly number[];
  },
): Job[] {
  const { prompts, estimates, ...fields } = sequence;
  const plan = prompts.map((prompt, index) => ({
    prompt,
    estimatedCostUsd: estimates[index] ?? 0,
  }));
  const start: Sequence = { ...fields, frame: 1, plan };
  const firstFrame: Job = {
    ...first,
    jobId: frameJobIdFor(start.id, 1),
    variant: 1,
    variants: 1,
    turns: [plan[0]?.prompt ?? ''],
    output: { ...first.output, base: frameOutputBase(start, 1) },
    estimatedCostUsd: plan[0]?.estimatedCostUsd ?? 0,
    sequence: start,
  };
  const jobs = [firstFrame];
  for (let next = nextFrameJob(firstFrame); next; next = nextFrameJob(next)) jobs.push(next);
  return jobs;
}

/**
 * Sets each frame's cost cap (planning splits a sidecar's caps over its jobs) in every frame's copy
 * of the plan too, so the frames the worker builds later keep their caps.
 */
export function withFrameCaps(frames: readonly Job[]): Job[] {
  const caps = frames.map((job) => job.maxCostUsd);
  return frames.map((job) => {
    if (!job.sequence) return job;
    const plan = job.sequence.plan.map((planned, index) => {
      const { maxCostUsd: _old, ...rest } = planned;
      const cap = caps[index];
      return cap === undefined ? rest : { ...rest, maxCostUsd: cap };
    });
    return { ...job, sequence: { ...job.sequence, plan } };
  });
}
