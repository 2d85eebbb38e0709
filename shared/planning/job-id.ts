import { createHash } from 'node:crypto';
import type { ObjectRef } from './job.ts';

const objectKey = (ref: ObjectRef) => `${ref.bucket}/${ref.name}#${ref.generation}`;

/**
 * A job's identity: the inputs' identities (name + generation), the sidecar's version, the job's
 * index in the sidecar and its variant. Planning the same drop twice gives the same ids; a new
 * generation of any input or of the sidecar gives new ones. The run id is deliberately not part of it.
 */
export function jobIdFor(parts: {
  sidecar: ObjectRef;
  inputs: readonly ObjectRef[];
  jobIndex: number;
  variant: number;
}): string {
  const canonical = JSON.stringify([
    1,
    objectKey(parts.sidecar),
    parts.inputs.map(objectKey),
    parts.jobIndex,
    parts.variant,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 20);
}

/** A keyframe sequence's identity: like a job's, without variant (a sequence has none). */
export function sequenceIdFor(parts: {
  sidecar: ObjectRef;
  inputs: readonly ObjectRef[];
  jobIndex: number;
}): string {
  const canonical = JSON.stringify([
    1,
    'sequence',
    objectKey(parts.sidecar),
    parts.inputs.map(objectKey),
    parts.jobIndex,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 20);
}

/** Frame k's job id: the sequence's identity and k, so every frame's id is known at planning. */
export function frameJobIdFor(sequenceId: string, frame: number): string {
  const canonical = JSON.stringify([1, 'frame', sequenceId, frame]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 20);
}
