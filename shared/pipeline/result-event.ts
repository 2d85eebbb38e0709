import { z } from 'zod';
import { usageSchema } from '../catalog/cost.ts';
import { ERROR_CODES } from '../errors.ts';

/**
 * Published on the results topic when a job reaches a terminal state. Small: no image bytes.
 *
 * It is also the cost ledger's row: Terraform's BigQuery subscription writes each event into a
 * table whose columns are these fields (terraform/ledger.tf; a test keeps the two in step). Add
 * fields freely (the subscription drops fields the table lacks); never rename or retype one.
 */
export const jobResultEventSchema = z.object({
  schemaVersion: z.literal(1),
  jobId: z.string(),
  runId: z.string(),
  /** The request message the job was planned from (absent for drops): also an attribute. */
  requestId: z.string().optional(),
  status: z.enum(['succeeded', 'failed']),
  /** gs://bucket/name (or file path locally) of the metadata or error record. */
  recordUri: z.string(),
  outputUri: z.string().optional(),
  errorCode: z.enum(ERROR_CODES).optional(),
  costUsd: z.number(),
  finishedAt: z.string(),
  /** The sidecar (or request) that planned the job: the "drop" a ledger groups by. */
  sidecarUri: z.string().optional(),
  /** Catalog id of the model that was called (or would have been). */
  model: z.string().optional(),
  tier: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  usage: usageSchema.optional(),
  priceTableVersion: z.string().optional(),
});

export type JobResultEvent = z.infer<typeof jobResultEventSchema>;
