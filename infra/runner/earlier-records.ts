import { z } from 'zod';
import { ERROR_CODES } from '../../shared/errors.ts';
import type { Job } from '../../shared/planning/job.ts';
import { outputNames } from '../../shared/planning/output-names.ts';
import { type ObjectStore, readJsonIfExists } from '../../shared/ports/object-store.ts';
import type { EarlierFinish } from './run-summary.ts';

/**
 * What the records of jobs finished by an earlier run say, for this run's summary rows: an
 * "already done" row shows the job's real cost, output and duration, an earlier failure its cause.
 */

const metadataSchema = z.looseObject({
  output: z.looseObject({ uri: z.string() }),
  cost: z.looseObject({ total: z.number() }),
  timing: z.looseObject({ totalMs: z.number() }).optional(),
});

const errorSchema = z.looseObject({
  error: z.looseObject({
    code: z.enum(ERROR_CODES),
    message: z.string(),
    fix: z.string().optional(),
  }),
  cost: z.looseObject({ total: z.number() }).optional(),
});
export type EarlierError = z.infer<typeof errorSchema>;

const LIMIT = { maxBytes: 1 << 20 };

/** The metadata record's cost, output and duration (zero cost when it cannot be read). */
export async function earlierFinish(store: ObjectStore, job: Job): Promise<EarlierFinish> {
  const name = outputNames(job.output.base, job.output.format).metadata;
  const record = await readJsonIfExists(
    store,
    job.output.bucket,
    name,
    metadataSchema,
    LIMIT,
  ).catch(() => undefined);
  if (!record) return { costUsd: 0 };
  return {
    output: record.output.uri,
    costUsd: record.cost.total,
    ...(record.timing ? { durationMs: record.timing.totalMs } : {}),
  };
}

/** The error record an earlier run left, with its cause and cost. */
export function earlierError(store: ObjectStore, job: Job): Promise<EarlierError | undefined> {
  const name = outputNames(job.output.base, job.output.format).error;
  return readJsonIfExists(store, job.output.bucket, name, errorSchema, LIMIT).catch(
    () => undefined,
  );
}
