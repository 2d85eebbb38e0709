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
});
export type Job = z.infer<typeof jobSchema>;
