import { z } from 'zod';

/**
 * What the report needs from the records the pipeline writes (shared/pipeline/records.ts), as zod
 * schemas. They are loose on purpose: extra fields (a `tier`, a keyframe's `frame` and `sequence`,
 * fields of later record versions) pass through and are shown when present; only what the report
 * cannot do without is required. A JSON file that fails them is shown as an unreadable card.
 */

const imageRef = z.looseObject({
  uri: z.string(),
  role: z.string().optional(),
  generation: z.string().optional(),
  bytes: z.number().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
});

const tags = z.record(z.string(), z.string());

/** Fields a later issue may add to both kinds of record. */
const optionalExtras = {
  tier: z.string().optional(),
  frame: z.number().optional(),
  sequence: z.union([z.string(), z.looseObject({ id: z.string().optional() })]).optional(),
};

export const metadataRecordView = z.looseObject({
  status: z.literal('succeeded'),
  jobId: z.string(),
  runId: z.string().optional(),
  mode: z.string().optional(),
  model: z.looseObject({ id: z.string(), requested: z.string().optional() }),
  prompt: z.string(),
  steps: z.array(z.string()).optional(),
  sidecar: z.looseObject({ uri: z.string() }).optional(),
  inputs: z.array(imageRef),
  output: imageRef,
  aspectRatio: z.string().optional(),
  imageSize: z.string().optional(),
  cost: z.looseObject({ total: z.number() }),
  timing: z.looseObject({ totalMs: z.number(), finishedAt: z.string().optional() }).optional(),
  attempts: z.number().optional(),
  tags: tags.optional(),
  ...optionalExtras,
});

export const errorRecordView = z.looseObject({
  status: z.literal('failed'),
  jobId: z.string().optional(),
  runId: z.string().optional(),
  file: z.string().optional(),
  sidecar: z.string().optional(),
  field: z.string().optional(),
  error: z.looseObject({ code: z.string(), message: z.string(), fix: z.string().optional() }),
  mode: z.string().optional(),
  model: z.string().optional(),
  prompt: z.string().optional(),
  inputs: z.array(imageRef).optional(),
  cost: z.looseObject({ total: z.number() }).optional(),
  attempts: z.number().optional(),
  tags: tags.optional(),
  at: z.string().optional(),
  ...optionalExtras,
});

export const recordView = z.discriminatedUnion('status', [metadataRecordView, errorRecordView]);

export type MetadataRecordView = z.infer<typeof metadataRecordView>;
export type ErrorRecordView = z.infer<typeof errorRecordView>;
export type ImageRefView = z.infer<typeof imageRef>;
