import { z } from 'zod';
import { TIERS } from '../catalog/tiers.ts';
import { REQUEST_ID_PATTERN } from '../requests/request-schema.ts';
import { MODES, OUTPUT_FORMATS } from '../sidecar/sidecar-schema.ts';

/**
 * A planned edit job: the message on the jobs topic. It names objects by bucket, name and
 * generation and never carries image bytes. Validated again at the worker boundary.
 */

export const objectRefSchema = z.strictObject({
  bucket: z.string().min(1),
  name: z.string().min(1),
  generation: z.string().min(1),
});
export type ObjectRef = z.infer<typeof objectRefSchema>;

/** One planned frame of a keyframe sequence, as every frame's job carries it. */
export const framePlanSchema = z.strictObject({
  prompt: z.string().min(1),
  estimatedCostUsd: z.number().nonnegative(),
  maxCostUsd: z.number().positive().optional(),
});
export type FramePlan = z.infer<typeof framePlanSchema>;

/**
 * A frame of a keyframe sequence (mode "keyframes"). Every frame's job carries the whole plan, so
 * the worker that finishes frame k builds frame k+1's job from it alone (`nextFrameJob`), in the
 * cloud and in the runner alike. Frame k > 1 also reads frame k-1's output image (derived from
 * the sequence id, never planned with a generation: outputs are create-only, so one name is one
 * image).
 */
export const sequenceSchema = z.strictObject({
  /** Deterministic, like job ids: the sidecar's version, the inputs and the job's index. */
  id: z.string().regex(/^[a-f0-9]{20}$/),
  /** The manifest job's name (its output folder). */
  name: z.string().min(1),
  /** 1-based. */
  frame: z.number().int().positive(),
  /** Output folder of the frames and of the sequence files (ends with "/"). */
  folder: z.string(),
  plan: z.array(framePlanSchema).min(2).max(100),
  preview: z.strictObject({ fps: z.number().positive(), gif: z.boolean() }),
});
export type Sequence = z.infer<typeof sequenceSchema>;

export const jobSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** Deterministic: same inputs, sidecar version, index and variant = same id. */
  jobId: z.string().regex(/^[a-f0-9]{20}$/),
  /** The ingest (or CLI run) that planned it; not part of the identity. */
  runId: z.string().min(1),
  mode: z.enum(MODES),
  /** For a request's jobs (kind 'request'), `requests/<requestId>` and the request's content hash. */
  sidecar: objectRefSchema.extend({ kind: z.enum(['image', 'folder', 'manifest', 'request']) }),
  /** Set when the job was planned from a request message: echoed on its result event and records. */
  requestId: z.string().regex(REQUEST_ID_PATTERN).optional(),
  jobIndex: z.number().int().nonnegative(),
  variant: z.number().int().positive(),
  variants: z.number().int().positive(),
  inputs: z.array(objectRefSchema.extend({ role: z.enum(['input', 'reference']) })).max(14),
  turns: z.array(z.string().min(1)).min(1),
  /** Canonical catalog id, and what the sidecar asked for (an alias, say). */
  model: z.string().min(1),
  requestedModel: z.string().min(1),
  /** How the model is called and priced; absent = standard. */
  tier: z.enum(TIERS).optional(),
  aspectRatio: z.string().optional(),
  imageSize: z.string().optional(),
  thinkingLevel: z.string().optional(),
  grounding: z.string().optional(),
  /** Said at planning (a deprecated model); copied into the job's records. */
  warnings: z.array(z.string()).optional(),
  output: z.strictObject({
    bucket: z.string().min(1),
    /** Object name without extension; outputs are base.ext, base.json, base.w512.ext ... */
    base: z.string().min(1),
    format: z.enum(OUTPUT_FORMATS),
    quality: z.number().int().min(1).max(100),
    renditions: z.array(z.number().int().positive()),
  }),
  /** Cap for this job's actual spend; refinement stops before a turn that would pass it. */
  maxCostUsd: z.number().positive().optional(),
  estimatedCostUsd: z.number().nonnegative(),
  tags: z.record(z.string(), z.string()),
  plannedAt: z.string(),
  sequence: sequenceSchema.optional(),
});
export type Job = z.infer<typeof jobSchema>;
