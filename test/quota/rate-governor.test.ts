import { describe, expect, it } from 'vitest';
import { QuotaWindows } from '../../infra/gemini-stand-in/quota.ts';
import { type Permit, RateGovernor } from '../../shared/quota/rate-governor.ts';
import { ManualClock } from '../support/manual-clock.ts';

const WINDOW = 60_000;

/** The most starts within any `windowMs` (a sliding window over sorted times). */
function busiestWindow(starts: readonly number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < starts.length; last++) {
    while ((starts[first] ?? 0) <= (starts[last] ?? 0) - windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/**
 * `jobs` calls by `slots` concurrent workers against the stand-in's quota window, in virtual time:
 * each call waits for the governor, is admitted or refused (429) by the quota, and takes
 * `latencyMs`; a refused call is reported to the governor and tried again.
 */
async function simulate(options: {
  /** One per instance; slot i runs on instance i mod n (as pushes spread over instances). */
  governor: RateGovernor | RateGovernor[];
  clock: ManualClock;
  quota: number;
  jobs: number;
  slots: number;
  latencyMs: number;
}) {
  const { clock } = options;
  const governors = [options.governor].flat();
  const server = new QuotaWindows({ windowMs: WINDOW, models: { m: { rpm: options.quota } } }, () =>
    clock.now(),
  );
  const admitted: number[] = [];
  let refused = 0;
  let next = 0;
  const slot = async (_: unknown, index: number) => {
    const governor = governors[index % governors.length] as RateGovernor;
    while (next < options.jobs) {
      next++;
      for (;;) {
        const permit = await governor.acquire();
        const violation = server.admit('m', 1);
        await clock.sleep(options.latencyMs);
        if (!violation) {
          admitted.push(permit.startedAt);
          break;
        }
        refused++;
        governor.throttled(permit, violation.retryDelayMs);
      }
    }
  };
  const all = Promise.all(Array.from({ length: options.slots }, slot));
  await clock.runUntil(all, 100 * WINDOW);
  return {
    admitted,
    refused,
    calls: admitted.length + refused,
    usedShare: server.stats().models.m?.usedShare ?? 0,
  };
}

describe('RateGovernor, told the quota', () => {
  it.each([
    { quota: 10, jobs: 40, slots: 10, latencyMs: 2_000 },
    { quota: 120, jobs: 360, slots: 64, latencyMs: 2_000 },
    { quota: 7, jobs: 28, slots: 30, latencyMs: 0 },
  ])('never starts more than the quota in any window: %j', async (c) => {
    const clock = new ManualClock();
    const governor = new RateGovernor({ quota: c.quota, clock });
    const run = await simulate({ governor, clock, ...c });
    expect(run.refused).toBe(0);
    expect(busiestWindow(run.admitted, WINDOW)).toBeLessThanOrEqual(c.quota);
    // Close to the quota: only the 2% margin is given up.
    expect(run.usedShare).toBeGreaterThanOrEqual(0.95);
    expect(governor.snapshot()).toMatchObject({ mode: 'told', limit: c.quota, started: c.jobs });
  });

  it('one 429 pauses every slot until its retry time and gives its slot back', async () => {
    const clock = new ManualClock();
    const governor = new RateGovernor({ quota: 5, clock });
    const first = await governor.acquire();
    governor.throttled(first, 10_000);
    const started: number[] = [];
    const waiting = Array.from({ length: 5 }, () =>
      governor.acquire().then((p) => started.push(p.startedAt)),
    );
    await clock.runUntil(Promise.all(waiting), WINDOW);
    // All five start when the pause ends: the refused call's slot counts no more.
    expect(started).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
    expect(governor.snapshot()).toMatchObject({ throttled: 1, started: 6, waitedMs: 50_000 });
  });

  it('reports the time calls spent waiting, in sum and on the wall', async () => {
    const clock = new ManualClock();
    const governor = new RateGovernor({ quota: 2, windowMs: 1000, marginMs: 0, clock });
    const permits: Permit[] = [];
    const all = Promise.all(
      Array.from({ length: 4 }, () => governor.acquire().then((p) => permits.push(p))),
    );
    await clock.runUntil(all, 10_000);
    expect(permits.map((p) => p.startedAt)).toEqual([0, 0, 1000, 1000]);
    const snapshot = governor.snapshot();
    expect(snapshot.waitedMs).toBe(2000);
    expect(snapshot.waitingWallMs).toBe(1000);
    expect(snapshot.startedInWindow).toBe(2);
  });

  it.each([0, -1, 2.5, Number.NaN])('refuses the quota %s', (quota) => {
    expect(() => new RateGovernor({ quota })).toThrow(RangeError);
  });
});

describe('RateGovernor, cloud: instances told their share of one quota', () => {
  it.each([
    { quota: 60, instances: 3, jobs: 360, slots: 12, latencyMs: 2_000 },
    { quota: 100, instances: 4, jobs: 500, slots: 16, latencyMs: 5_000 },
  ])('together stay under the quota and use most of it: %j', async (c) => {
    const clock = new ManualClock();
    const share = Math.floor(c.quota / c.instances);
    const governors = Array.from(
      { length: c.instances },
      () => new RateGovernor({ quota: share, clock }),
    );
    const run = await simulate({ governor: governors, clock, ...c });
    expect(run.refused).toBe(0);
    expect(
      busiestWindow(
        run.admitted.sort((a, b) => a - b),
        WINDOW,
      ),
    ).toBeLessThanOrEqual(c.quota);
    expect(run.usedShare).toBeGreaterThanOrEqual(0.9);
  });
});

describe('RateGovernor, adaptive (not told the quota)', () => {
  // The first 429s are the calls already in flight when the window fills (about one per slot).
  it.each([
    { quota: 60, jobs: 360, slots: 8, latencyMs: 1_000 },
    { quota: 60, jobs: 600, slots: 8, latencyMs: 1_000 },
    { quota: 120, jobs: 720, slots: 32, latencyMs: 2_000 },
    { quota: 30, jobs: 300, slots: 4, latencyMs: 1_000 },
  ])('learns the quota from 429s: few 429s, most of the quota used: %j', async (c) => {
    const clock = new ManualClock();
    const governor = new RateGovernor({ clock });
    const run = await simulate({ governor, clock, ...c });
    expect(run.admitted).toHaveLength(c.jobs);
    expect(run.refused / run.calls).toBeLessThanOrEqual(0.05);
    // The first wave in flight when the window filled, and barely any probe after it.
    expect(run.refused).toBeLessThanOrEqual(c.slots + 2);
    expect(run.usedShare).toBeGreaterThanOrEqual(0.85);
    const snapshot = governor.snapshot();
    expect(snapshot.mode).toBe('adaptive');
    expect(snapshot.limit).toBeLessThanOrEqual(c.quota + Math.ceil(c.quota * 0.05));
  });

  it.each([
    { retryAfterMs: 50, learns: false },
    { retryAfterMs: 55_000, learns: true },
    { retryAfterMs: undefined, learns: true },
  ])('learns from a 429 only when a full window explains its delay: %j', async (c) => {
    const clock = new ManualClock();
    const governor = new RateGovernor({ clock });
    const permits = await Promise.all([1, 2, 3, 4].map(() => governor.acquire()));
    await clock.advance(1_000);
    governor.throttled(permits[3] as Permit, c.retryAfterMs);
    // 3 calls in a window that still has 59 s to run: only a long delay says "3 a minute".
    expect(governor.snapshot().limit).toBe(c.learns ? 2 : undefined);
    expect(governor.snapshot().throttled).toBe(1);
  });

  it('without a governor the same load is a 429 storm (the simulation can fail)', async () => {
    const clock = new ManualClock();
    // A quota far above anything: the governor never holds a call back.
    const governor = new RateGovernor({ quota: 1_000_000, clock });
    let refused = 0;
    const server = new QuotaWindows({ windowMs: WINDOW, models: { m: { rpm: 60 } } }, () =>
      clock.now(),
    );
    const tries = Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 45; i++) {
        await governor.acquire();
        if (server.admit('m', 1)) refused++;
        await clock.sleep(3_000);
      }
    });
    await clock.runUntil(Promise.all(tries), 100 * WINDOW);
    expect(refused / 360).toBeGreaterThan(0.5);
  });
});
