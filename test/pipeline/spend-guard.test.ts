import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import {
  countHeld,
  holdJob,
  PAUSE_NAME,
  type Pause,
  pauseSpending,
  readPause,
  resumeSpending,
  SpendGuard,
  spentOnDay,
} from '../../shared/pipeline/spend-guard.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { makeJob } from '../support/make-job.ts';

const BUCKET = 'out';

/** A queue that keeps what was published (a fake of the port, not of the code under test). */
function recordingQueue(): JobQueue & { published: Job[] } {
  const published: Job[] = [];
  return {
    published,
    publishJobs: async (jobs) => void published.push(...jobs),
    publishResult: async () => undefined,
  };
}

describe('spend guard', () => {
  let dir: string;
  let store: FsObjectStore;
  let clock: Date;
  const now = () => clock;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bf-spend-'));
    store = new FsObjectStore({ [BUCKET]: dir });
    clock = new Date('2026-12-02T10:00:00Z');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const guard = (workerId: string, maxUsdPerDay?: number, queue = recordingQueue()) =>
    new SpendGuard({
      store,
      bucket: BUCKET,
      queue,
      workerId,
      log: silentLogger,
      now,
      maxUsdPerDay,
      refreshMs: 30_000,
    });

  it('sums what every instance spent today, and keeps days apart', async () => {
    const a = guard('a');
    const b = guard('b');
    await a.record(0.5);
    await a.record(0.25);
    await b.record(1);
    clock = new Date('2026-12-03T00:00:01Z');
    await a.record(2);
    expect(await spentOnDay(store, BUCKET, '2026-12-02')).toEqual({ costUsd: 1.75, jobs: 3 });
    expect(await spentOnDay(store, BUCKET, '2026-12-03')).toEqual({ costUsd: 2, jobs: 1 });
  });

  it('trips the daily cap for every instance once their spend together reaches it', async () => {
    const a = guard('a', 1);
    const b = guard('b', 1);
    expect(await a.check()).toBeUndefined();
    await a.record(0.6);
    clock = new Date(clock.getTime() + 31_000);
    expect(await b.check()).toBeUndefined();
    await b.record(0.6);
    clock = new Date(clock.getTime() + 31_000);
    const pause = await a.check();
    expect(pause?.reason).toBe('daily-cap');
    expect(pause?.until).toBe('2026-12-03T00:00:00.000Z');
    expect((await readPause(store, BUCKET, clock))?.reason).toBe('daily-cap');
  });

  it('looks at the bucket at most once per refresh interval', async () => {
    const a = guard('a');
    expect(await a.check()).toBeUndefined();
    const budget: Pause = { reason: 'budget', since: clock.toISOString(), message: 'over' };
    await pauseSpending(store, BUCKET, budget);
    clock = new Date(clock.getTime() + 10_000);
    expect(await a.check()).toBeUndefined();
    clock = new Date(clock.getTime() + 21_000);
    expect(await a.check()).toEqual(budget);
  });

  it('holds jobs once each and publishes them all again on resume', async () => {
    const queue = recordingQueue();
    const pause: Pause = { reason: 'manual', since: clock.toISOString(), message: 'by hand' };
    await pauseSpending(store, BUCKET, pause);
    expect(await holdJob(store, BUCKET, makeJob(1), pause, clock)).toBe(true);
    expect(await holdJob(store, BUCKET, makeJob(1), pause, clock)).toBe(false);
    expect(await holdJob(store, BUCKET, makeJob(2), pause, clock)).toBe(true);
    expect(await countHeld(store, BUCKET)).toBe(2);

    const { released } = await resumeSpending({ store, queue, log: silentLogger }, BUCKET);
    expect(released).toBe(2);
    expect(queue.published.map((j) => j.jobId).sort()).toEqual(
      [makeJob(1).jobId, makeJob(2).jobId].sort(),
    );
    expect(await countHeld(store, BUCKET)).toBe(0);
    expect(await store.stat(BUCKET, PAUSE_NAME)).toBeUndefined();
  });

  it('lifts an expired daily-cap pause by itself and releases the jobs it held', async () => {
    const queue = recordingQueue();
    const a = guard('a', 1, queue);
    await a.record(1);
    const pause = await a.check();
    expect(pause?.reason).toBe('daily-cap');
    await holdJob(store, BUCKET, makeJob(7), pause as Pause, clock);

    clock = new Date('2026-12-03T00:00:30Z');
    expect(await a.check()).toBeUndefined();
    expect(queue.published.map((j) => j.jobId)).toEqual([makeJob(7).jobId]);
    expect(await store.stat(BUCKET, PAUSE_NAME)).toBeUndefined();
    expect(await countHeld(store, BUCKET)).toBe(0);
  });

  it('sees a resume at once, though it trusts "not paused" for the refresh interval', async () => {
    const a = guard('a');
    await pauseSpending(store, BUCKET, {
      reason: 'manual',
      since: clock.toISOString(),
      message: 'x',
    });
    expect((await a.check())?.reason).toBe('manual');
    await resumeSpending({ store, queue: recordingQueue(), log: silentLogger }, BUCKET);
    clock = new Date(clock.getTime() + 1_000);
    expect(await a.check()).toBeUndefined();
  });

  it('never lifts a budget pause by time', async () => {
    const a = guard('a');
    await pauseSpending(store, BUCKET, {
      reason: 'budget',
      since: clock.toISOString(),
      message: 'x',
    });
    clock = new Date('2027-01-01T00:00:00Z');
    expect((await a.check())?.reason).toBe('budget');
  });
});
