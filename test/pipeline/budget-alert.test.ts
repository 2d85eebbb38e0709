import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { handleBudgetAlert } from '../../shared/pipeline/budget-alert.ts';
import { readPause } from '../../shared/pipeline/spend-guard.ts';
import { silentLogger } from '../../shared/ports/logger.ts';

/** A notification as Cloud Billing publishes it (schema 1.0). */
const alert = (costAmount: number, budgetAmount = 100) => ({
  budgetDisplayName: 'bananaflow',
  alertThresholdExceeded: 1.0,
  costAmount,
  costIntervalStart: '2026-12-01T08:00:00Z',
  budgetAmount,
  budgetAmountType: 'SPECIFIED_AMOUNT',
  currencyCode: 'USD',
});

describe('budget alert (the kill switch)', () => {
  let dir: string;
  let deps: Parameters<typeof handleBudgetAlert>[0];
  const now = new Date('2026-12-02T12:00:00Z');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bf-budget-'));
    deps = {
      store: new FsObjectStore({ out: dir }),
      bucket: 'out',
      log: silentLogger,
      now: () => now,
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it.each([
    [50, 'below'],
    [99.99, 'below'],
    [100, 'paused'],
    [130, 'paused'],
  ] as const)('cost %d of a 100 budget (pause at 100%%): %s', async (cost, status) => {
    const result = await handleBudgetAlert(deps, alert(cost), 1);
    expect(result.status).toBe(status);
    expect((await readPause(deps.store, 'out', now))?.reason).toBe(
      status === 'paused' ? 'budget' : undefined,
    );
  });

  it('pauses at a lower fraction when configured, and only once', async () => {
    expect((await handleBudgetAlert(deps, alert(80), 0.8)).status).toBe('paused');
    expect((await handleBudgetAlert(deps, alert(90), 0.8)).status).toBe('already-paused');
  });

  it.each([
    ['not an object', 'hello'],
    ['missing amounts', { budgetDisplayName: 'x', currencyCode: 'USD' }],
    ['amounts as strings', { ...alert(1), costAmount: '120' }],
  ])('ignores a message in an unknown format (%s) without pausing or throwing', async (_, data) => {
    expect((await handleBudgetAlert(deps, data, 1)).status).toBe('ignored');
    expect(await readPause(deps.store, 'out', now)).toBeUndefined();
  });
});
