import { previousFrameName } from '../planning/frame-jobs.ts';
import type { Job } from '../planning/job.ts';
import type { FrameFields } from './records.ts';

/** The frame fields of a sequence frame's metadata or error record (none for other jobs). */
export function frameRecordFields(
  job: Job,
  uriOf: (bucket: string, name: string) => string,
): FrameFields {
  const sequence = job.sequence;
  if (!sequence) return {};
  const previous = previousFrameName(job);
  return {
    frame: sequence.frame,
    frames: sequence.plan.length,
    sequence: sequence.name,
    sequenceId: sequence.id,
    ...(previous ? { previousFrame: uriOf(job.output.bucket, previous) } : {}),
  };
}

/** "frame 2 of 3 of walk", for messages. */
export function frameLabel(job: Job): string | undefined {
  const sequence = job.sequence;
  return sequence
    ? `frame ${sequence.frame} of ${sequence.plan.length} of sequence "${sequence.name}"`
    : undefined;
}
