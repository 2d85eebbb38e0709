import { z } from 'zod';
import { BananaError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import { type ObjectStore, writeIfAbsent } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';
import { OUTPUT_FORMATS } from '../sidecar/sidecar-schema.ts';

/**
 * What was planned for one sidecar version: `_bananaflow/plans/<sidecar name>@<generation>.json`
 * in the output bucket, written once by whoever planned it (ingest, backfill). `bananaflow status`
 * reads these to know the jobs of a drop (planned vs. done) and what the rest will cost; backfill
 * reads them to plan nothing twice. Small and kept (not working state): one per sidecar version.
 */

export const PLANS_PREFIX = `${PIPELINE_PREFIX}plans/`;

export const planRecordSchema = z.object({
  schemaVersion: z.literal(1),
  sidecar: z.string(),
  generation: z.string(),
  runId: z.string(),
  plannedAt: z.string(),
  /** Who planned it: ingest (an upload), backfill, or a request. */
  by: z.string(),
  jobs: z.array(
    z.object({
      jobId: z.string(),
      base: z.string(),
      format: z.enum(OUTPUT_FORMATS),
      model: z.string(),
      estimatedCostUsd: z.number(),
    }),
  ),
});
export type PlanRecord = z.infer<typeof planRecordSchema>;

export const planRecordName = (sidecar: string, generation: string) =>
  `${PLANS_PREFIX}${sidecar}@${generation}.json`;

/** Writes the plan of one sidecar version once (a second planner of it changes nothing). */
export async function writePlanRecord(
  store: ObjectStore,
  bucket: string,
  plan: { sidecar: string; generation: string; runId: string; by: string; jobs: readonly Job[] },
  now: Date,
): Promise<boolean> {
  const record: PlanRecord = {
    schemaVersion: 1,
    sidecar: plan.sidecar,
    generation: plan.generation,
    runId: plan.runId,
    plannedAt: now.toISOString(),
    by: plan.by,
    jobs: plan.jobs.map((j) => ({
      jobId: j.jobId,
      base: j.output.base,
      format: j.output.format,
      model: j.model,
      estimatedCostUsd: j.estimatedCostUsd,
    })),
  };
  return writeIfAbsent(
    store,
    bucket,
    planRecordName(plan.sidecar, plan.generation),
    Buffer.from(`${JSON.stringify(record, null, 2)}\n`),
    { contentType: 'application/json' },
  );
}

/** Every plan record under a sidecar-name prefix; unreadable ones are skipped and counted. */
export async function readPlanRecords(
  store: ObjectStore,
  bucket: string,
  prefix = '',
): Promise<{ plans: PlanRecord[]; unreadable: string[] }> {
  const plans: PlanRecord[] = [];
  const unreadable: string[] = [];
  for (const info of await store.list(bucket, `${PLANS_PREFIX}${prefix}`)) {
    try {
      const { bytes } = await store.read(bucket, info.name, { maxBytes: 16 << 20 });
      const parsed = planRecordSchema.safeParse(JSON.parse(bytes.toString('utf8')));
      if (parsed.success) plans.push(parsed.data);
      else unreadable.push(info.name);
    } catch (error) {
      if (error instanceof BananaError && error.code === 'STORAGE_NOT_FOUND') continue;
      if (error instanceof SyntaxError) unreadable.push(info.name);
      else throw error;
    }
  }
  return { plans, unreadable };
}
