import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import type { ObjectStore } from '../ports/object-store.ts';

/**
 * Where a run of a whole drop (the runner) starts each keyframe sequence: at its first frame with
 * no metadata record, so running the drop again resumes there and pays nothing for the frames
 * before (`done`). A sequence whose every frame has a record starts at its last frame: a duplicate,
 * which redoes the sequence's files if an earlier run died before writing them. Every other job
 * starts as planned. Frames after the start are published by the frames before them.
 */
export async function sequenceStarts(
  store: ObjectStore,
  jobs: readonly Job[],
): Promise<{ start: Job[]; done: Job[] }> {
  const start: Job[] = [];
  const done: Job[] = [];
  const sequences = new Map<string, Job[]>();
  for (const job of jobs) {
    if (!job.sequence) start.push(job);
    else sequences.set(job.sequence.id, [...(sequences.get(job.sequence.id) ?? []), job]);
  }
  for (const frames of sequences.values()) {
    frames.sort((a, b) => (a.sequence?.frame ?? 0) - (b.sequence?.frame ?? 0));
    let first = frames.length - 1;
    for (const [index, frame] of frames.entries()) {
      const record = outputNames(frame.output.base, frame.output.format).metadata;
      if (!(await store.stat(frame.output.bucket, record))) {
        first = index;
        break;
      }
    }
    done.push(...frames.slice(0, first));
    const resumeAt = frames[first];
    if (resumeAt) start.push(resumeAt);
  }
  return { start, done };
}
