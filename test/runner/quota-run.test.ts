import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { runDrop } from '../../infra/runner/run-drop.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { standInModel } from '../../shared/wiring/image-model.ts';
import { writeDrop } from '../support/pipeline-harness.ts';

/**
 * The embedded runner against the stand-in's quota (a compressed window): the rate governor of
 * the one composition root, told the quota and adaptive, and jobs published again, not retried,
 * when the quota outlasts their hold.
 */

const WINDOW_MS = 2_000;
/** Covers the time a call takes to reach the stand-in on a loaded machine (first calls included). */
const MARGIN_MS = 400;
const QUOTA = 6;

let root: string | undefined;
let standIn: GeminiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
  standIn = undefined;
});

async function runUnderQuota(jobs: number, env: Record<string, string>, maxAttempts = 3) {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-quota-'));
  standIn = await startGeminiStandIn({
    quota: { windowMs: WINDOW_MS, models: { '*': { ipm: QUOTA } } },
  });
  const drop = join(root, 'drop');
  await writeDrop(drop, {
    'many.jobs.json': { jobs: Array.from({ length: jobs }, (_, i) => ({ prompt: `banana ${i}` })) },
  });
  const summary = await runDrop({
    dropDir: drop,
    outDir: join(root, 'out'),
    model: standInModel(standIn.url),
    catalog: loadModelCatalog(),
    config: loadConfig({
      LOG_LEVEL: 'error',
      BANANAFLOW_QUOTA_WINDOW_MS: String(WINDOW_MS),
      BANANAFLOW_QUOTA_MARGIN_MS: String(MARGIN_MS),
      ...env,
    }),
    log: silentLogger,
    concurrency: 8,
    maxAttempts,
    minBackoffMs: 1,
    maxBackoffMs: 5,
  });
  const stats = standIn.stats();
  return { summary, stats, refused: stats.byOutcome['http-429'] ?? 0 };
}

describe('runner under a quota', () => {
  it('told the quota (BANANAFLOW_IPM): every job done, (almost) no 429, throttling reported', async () => {
    const { summary, stats, refused } = await runUnderQuota(3 * QUOTA, {
      BANANAFLOW_IPM: String(QUOTA),
    });
    expect(summary.succeeded).toBe(3 * QUOTA);
    // A call reaching the stand-in later than the 2% margin allows could be refused: at most one.
    expect(refused).toBeLessThanOrEqual(1);
    expect(summary.retries).toBe(0);
    expect(stats.quota?.models['gemini-3.1-flash-image']?.busiestWindowRequests ?? QUOTA).toBe(
      QUOTA,
    );
    expect(summary.throttling).toMatchObject({
      mode: 'told',
      limitPerMinute: (QUOTA * 60_000) / WINDOW_MS,
      calls: 3 * QUOTA + refused,
    });
    expect(summary.throttling?.waitingWallMs).toBeGreaterThan(WINDOW_MS);
  });

  it('not told (adaptive): learns the quota from the first 429s and holds them in-process', async () => {
    const { summary, refused } = await runUnderQuota(3 * QUOTA, {});
    expect(summary.succeeded).toBe(3 * QUOTA);
    expect(refused).toBeGreaterThanOrEqual(1);
    // The first wave in flight when the window filled (8 slots), barely any after.
    expect(refused).toBeLessThanOrEqual(8 + 2);
    // A 429 is waited out in-process: no redelivery, no attempt used.
    expect(summary.retries).toBe(0);
    expect(summary.throttling).toMatchObject({ mode: 'adaptive', throttled: refused });
    // Learnt near the quota (the governor's span, window + margin, may have admitted a call more).
    const perWindow = ((summary.throttling?.limitPerMinute ?? 0) * WINDOW_MS) / 60_000;
    expect(perWindow).toBeGreaterThanOrEqual(QUOTA / 2);
    expect(perWindow).toBeLessThanOrEqual(QUOTA + 2);
  });

  it('publishes a job again instead of retrying it when the quota outlasts its hold', async () => {
    // No hold and one attempt: a job retried for its 429 would be dead-lettered at once.
    const hold0 = { BANANAFLOW_QUOTA_MAX_HOLD_MS: '0' };
    const deferred = await runUnderQuota(2 * QUOTA, hold0, 1);
    expect(deferred.refused).toBeGreaterThanOrEqual(1);
    expect(deferred.summary).toMatchObject({ succeeded: 2 * QUOTA, deadLettered: 0 });
    await standIn?.close();
    standIn = undefined;
    // The same without deferrals: the 429s use up the one attempt (the test can fail).
    const retried = await runUnderQuota(
      2 * QUOTA,
      { ...hold0, BANANAFLOW_MAX_QUOTA_DEFERRALS: '0' },
      1,
    );
    expect(retried.summary.deadLettered).toBeGreaterThanOrEqual(1);
  });
});
