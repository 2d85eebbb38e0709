import { z } from 'zod';
import { hasErrorCode } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import { type ObjectStore, readJsonWithGeneration } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';
import { OUTPUT_FORMATS } from '../sidecar/sidecar-schema.ts';

/**
 * What was planned for one sidecar version: `_bananaflow/plans/<sidecar name>@<generation>.json`
 * in the output bucket, written by whoever planned it (ingest, backfill). `bananaflow status`
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

/**
 * Adds planned jobs to the plan record of their sidecar version. Ingest plans a sidecar in parts
 * when its inputs arrive one by one (each upload plans the jobs it completes), so the record is
 * the union of every part: read, merge, write back under a generation precondition, and try again
 * when another planner wrote in between. Returns how many jobs were new to the record.
 */
export async function writePlanRecord(
  store: ObjectStore,
  bucket: string,
  plan: { sidecar: string; generation: string; runId: string; by: string; jobs: readonly Job[] },
  now: Date,
): Promise<number> {
  const name = planRecordName(plan.sidecar, plan.generation);
  const planned = plan.jobs.map((j) => ({
    jobId: j.jobId,
    base: j.output.base,
    format: j.output.format,
    model: j.model,
    estimatedCostUsd: j.estimatedCostUsd,
  }));
  for (let attempt = 1; ; attempt++) {
    const current = await readWithGeneration(store, bucket, name);
    const known = new Set(current?.record?.jobs.map((j) => j.jobId));
    const added = planned.filter((j) => !known.has(j.jobId));
    if (current?.record && added.length === 0) return 0;
    const record: PlanRecord = current?.record
      ? { ...current.record, jobs: [...current.record.jobs, ...added] }
      : {
          schemaVersion: 1,
          sidecar: plan.sidecar,
          generation: plan.generation,
          runId: plan.runId,
          plannedAt: now.toISOString(),
          by: plan.by,
          jobs: added,
        };
    try {
      await store.write(bucket, name, Buffer.from(`${JSON.stringify(record, null, 2)}\n`), {
        contentType: 'application/json',
        ifGenerationMatch: current?.generation ?? '0',
      });
      return added.length;
    } catch (error) {
      const raced =
        hasErrorCode(error, 'STORAGE_ALREADY_EXISTS') ||
        hasErrorCode(error, 'STORAGE_PRECONDITION_FAILED');
      if (!raced || attempt >= 10) throw error;
    }
  }
}

async function readWithGeneration(store: ObjectStore, bucket: string, name: string) {
  const found = await readJsonWithGeneration(store, bucket, name, planRecordSchema, {
    maxBytes: 16 << 20,
  });
  // An unreadable record is replaced: it only summarises what the jobs' own records say.
  return found && { record: found.ok ? found.value : undefined, generation: found.generation };
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
    const found = await readJsonWithGeneration(store, bucket, info.name, planRecordSchema, {
      maxBytes: 16 << 20,
    });
    if (found?.ok) plans.push(found.value);
    else if (found) unreadable.push(info.name);
  }
  return { plans, unreadable };
}
