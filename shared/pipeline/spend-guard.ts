import { z } from 'zod';
import { BananaError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import type { Logger } from '../ports/logger.ts';
import { type ObjectStore, readJsonWithGeneration, writeIfAbsent } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';

/**
 * The spend kill switch, kept in the output bucket so every worker instance sees it:
 *   _bananaflow/pause.json              spending is paused (a budget alert, the daily cap, by hand)
 *   _bananaflow/spend/<day>/<worker>.json  what one worker instance spent that UTC day
 *   _bananaflow/held/<jobId>.json       a job that arrived while paused: kept, not run, not lost
 * A paused worker holds jobs instead of calling Gemini and acknowledges them, so a long pause never
 * dead-letters anything. `bananaflow resume` (or the end of a daily-cap pause) lifts the pause and
 * publishes every held job again.
 */

export const PAUSE_NAME = `${PIPELINE_PREFIX}pause.json`;
const SPEND_PREFIX = `${PIPELINE_PREFIX}spend/`;
export const HELD_PREFIX = `${PIPELINE_PREFIX}held/`;

export const pauseSchema = z.object({
  reason: z.enum(['budget', 'daily-cap', 'manual']),
  since: z.string(),
  message: z.string(),
  /** A pause that lifts itself at this time (the daily cap: next 00:00 UTC). */
  until: z.string().optional(),
});
export type Pause = z.infer<typeof pauseSchema>;

const spendSchema = z.object({ day: z.string(), costUsd: z.number(), jobs: z.number() });
const heldSchema = z.object({ reason: z.string(), heldAt: z.string(), job: z.unknown() });

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
const utcDay = (at: Date) => at.toISOString().slice(0, 10);
const nextUtcMidnight = (at: Date) =>
  new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));

/** A stored state object and its generation; one that does not read as its schema counts as none. */
async function readJson<T>(
  store: ObjectStore,
  bucket: string,
  name: string,
  schema: z.ZodType<T>,
): Promise<{ value: T; generation: string } | undefined> {
  const found = await readJsonWithGeneration(store, bucket, name, schema, { maxBytes: 1 << 20 });
  return found?.ok ? { value: found.value, generation: found.generation } : undefined;
}

/** The pause in force, if any (an expired one is not). */
export async function readPause(
  store: ObjectStore,
  bucket: string,
  now: Date,
): Promise<Pause | undefined> {
  const found = await readJson(store, bucket, PAUSE_NAME, pauseSchema);
  if (!found) return undefined;
  return found.value.until && Date.parse(found.value.until) <= now.getTime()
    ? undefined
    : found.value;
}

export async function pauseSpending(store: ObjectStore, bucket: string, pause: Pause) {
  await store.write(bucket, PAUSE_NAME, json(pause), { contentType: 'application/json' });
}

/**
 * Lifts the pause and publishes every held job again; returns how many. Safe to run twice or from
 * several places at once: a held job is published before its marker goes, and the worker runs a
 * job once however often it is delivered.
 */
export async function resumeSpending(
  deps: { store: ObjectStore; queue: JobQueue; log: Logger },
  bucket: string,
): Promise<{ released: number }> {
  await deps.store.delete(bucket, PAUSE_NAME);
  let released = 0;
  for (const info of await deps.store.list(bucket, HELD_PREFIX)) {
    const held = await readJson(deps.store, bucket, info.name, heldSchema);
    if (held) {
      await deps.queue.publishJobs([held.value.job as Job]);
      released++;
    }
    await deps.store.delete(bucket, info.name, { ifGenerationMatch: info.generation });
  }
  if (released > 0) deps.log.info('spending resumed: held jobs published again', { released });
  return { released };
}

/** Keeps a job that arrived while spending is paused; true when this call stored it. */
export async function holdJob(
  store: ObjectStore,
  bucket: string,
  job: Job,
  pause: Pause,
  now: Date,
): Promise<boolean> {
  const body = { reason: `${pause.reason}: ${pause.message}`, heldAt: now.toISOString(), job };
  return writeIfAbsent(store, bucket, `${HELD_PREFIX}${job.jobId}.json`, json(body), {
    contentType: 'application/json',
  });
}

export async function countHeld(store: ObjectStore, bucket: string): Promise<number> {
  return (await store.list(bucket, HELD_PREFIX)).length;
}

/** What every worker instance spent on a UTC day, in all. */
export async function spentOnDay(store: ObjectStore, bucket: string, day: string) {
  let costUsd = 0;
  let jobs = 0;
  for (const info of await store.list(bucket, `${SPEND_PREFIX}${day}/`)) {
    const spend = await readJson(store, bucket, info.name, spendSchema);
    costUsd += spend?.value.costUsd ?? 0;
    jobs += spend?.value.jobs ?? 0;
  }
  return { costUsd, jobs };
}

export interface SpendGuardOptions {
  store: ObjectStore;
  /** The output bucket: where the pause marker, spend files and held jobs live. */
  bucket: string;
  queue: JobQueue;
  workerId: string;
  log: Logger;
  now: () => Date;
  /** Pause spending for the rest of the UTC day once every instance together spent this much. */
  maxUsdPerDay?: number | undefined;
  /** How long a look at the bucket is trusted before the next (the guard reacts within this). */
  refreshMs?: number;
}

/**
 * One per worker instance: counts what this instance spends, and says whether spending is paused.
 * It looks at the bucket at most once per `refreshMs`, so the guard costs a few reads a minute,
 * not a read per job.
 */
export class SpendGuard {
  private spent = { day: '', costUsd: 0, jobs: 0 };
  private cached: { at: number; pause: Pause | undefined } | undefined;

  constructor(private readonly options: SpendGuardOptions) {}

  /** Adds a finished job's cost to this instance's spend file for today. */
  async record(costUsd: number): Promise<void> {
    const { store, bucket, workerId, now } = this.options;
    const day = utcDay(now());
    if (this.spent.day !== day) this.spent = { day, costUsd: 0, jobs: 0 };
    this.spent.costUsd += costUsd;
    this.spent.jobs += 1;
    await store.write(bucket, `${SPEND_PREFIX}${day}/${workerId}.json`, json(this.spent), {
      contentType: 'application/json',
    });
  }

  /** The pause in force, if any; trips the daily cap when today's spend reached it. */
  async check(): Promise<Pause | undefined> {
    const now = this.options.now();
    const refreshMs = this.options.refreshMs ?? 30_000;
    // Only "not paused" is trusted from the cache (the hot path); a pause is looked at again, so a
    // job published again by `resume` is never held by a stale answer.
    const fresh = this.cached && now.getTime() - this.cached.at < refreshMs;
    if (fresh && this.cached?.pause === undefined) return undefined;
    const pause = (await this.lookAtBucket(now)) ?? (await this.dailyCapTripped(now));
    this.cached = { at: now.getTime(), pause };
    return pause;
  }

  private async lookAtBucket(now: Date): Promise<Pause | undefined> {
    const { store, bucket } = this.options;
    const found = await readJson(store, bucket, PAUSE_NAME, pauseSchema);
    if (!found) return undefined;
    const until = found.value.until ? Date.parse(found.value.until) : Number.POSITIVE_INFINITY;
    if (until > now.getTime()) return found.value;
    // An expired pause: the instance that deletes it releases the jobs held meanwhile.
    try {
      await store.delete(bucket, PAUSE_NAME, { ifGenerationMatch: found.generation });
    } catch (error) {
      if (error instanceof BananaError && error.code === 'STORAGE_PRECONDITION_FAILED') return;
      throw error;
    }
    await resumeSpending(this.options, bucket);
    return undefined;
  }

  private async dailyCapTripped(now: Date): Promise<Pause | undefined> {
    const { maxUsdPerDay, store, bucket, log } = this.options;
    if (maxUsdPerDay === undefined) return undefined;
    const day = utcDay(now);
    const { costUsd } = await spentOnDay(store, bucket, day);
    if (costUsd < maxUsdPerDay) return undefined;
    const pause: Pause = {
      reason: 'daily-cap',
      since: now.toISOString(),
      until: nextUtcMidnight(now).toISOString(),
      message: `$${costUsd.toFixed(4)} spent on ${day} (UTC) reached max_usd_per_day $${maxUsdPerDay}.`,
    };
    await pauseSpending(store, bucket, pause);
    log.warn('daily spending cap reached: jobs are held until 00:00 UTC', {
      spentUsd: costUsd,
      maxUsdPerDay,
    });
    return pause;
  }
}
