import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { runDrop } from '../../infra/runner/run-drop.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { costFromUsage } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * Running a drop again: finished jobs are not redone, permanent failures stay reported, and jobs
 * an earlier run dead-lettered (their retryable failures ran out) are tried again.
 */

let root: string | undefined;
let standIn: GeminiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
  standIn = undefined;
});

const run = (dropDir: string, outDir: string, s: GeminiStandIn) =>
  runDrop(runOptions(dropDir, outDir, s));

function runOptions(dropDir: string, outDir: string, s: GeminiStandIn) {
  return {
    dropDir,
    outDir,
    model: createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: s.url },
      label: 'offline-stand-in',
    }),
    catalog: loadModelCatalog(),
    config: loadConfig({ LOG_LEVEL: 'error' }),
    log: silentLogger,
    maxAttempts: 2,
    minBackoffMs: 1,
    maxBackoffMs: 5,
  };
}

describe('a rerun of a drop', () => {
  it('tries a dead-lettered job again, keeps what its failed attempts cost, and redoes nothing else', async () => {
    root = await mkdtemp(join(tmpdir(), 'bananaflow-rerun-'));
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    await writeDrop(drop, {
      'ok.png': await tinyImage(),
      'ok.png.edit.json': { prompt: 'fine' },
      'flaky.png': await tinyImage('png', 48, 48, '#a3a'),
      // Step 1 is answered, step 2 keeps failing: dead-lettered with step 1 billed.
      'flaky.png.edit.json': { steps: ['flaky one', 'flaky two'] },
      'blocked.png': await tinyImage('png', 40, 40, '#33a'),
      'blocked.png.edit.json': { prompt: 'blocked [standin:outcome=blocked-output]' },
    });
    const s = await startGeminiStandIn({
      faults: (_n, request) => (request.prompt === 'flaky two' ? { status: 503 } : undefined),
    });
    standIn = s;

    const first = await run(drop, out, s);
    expect(first).toMatchObject({
      jobs: 3,
      succeeded: 1,
      failed: 2,
      failedByCode: { DEAD_LETTERED: 1, MODEL_BLOCKED_OUTPUT: 1 },
    });
    const firstCalls = s.stats().totalCalls;

    // A rerun refused by --max-usd changes nothing: the failures stay recorded.
    const refused = await runDrop({
      ...runOptions(drop, out, s),
      maxUsd: 0.000001,
    });
    expect(refused.refused).toBeDefined();
    expect(refused.retriedFromEarlierRuns).toBe(0);
    expect(s.stats().totalCalls).toBe(firstCalls);

    // The outage is over.
    s.setFaults(undefined);
    const second = await run(drop, out, s);
    expect(second).toMatchObject({
      jobs: 3,
      succeeded: 1,
      alreadyDone: 1,
      failed: 1,
      failedByCode: { MODEL_BLOCKED_OUTPUT: 1 },
      retriedFromEarlierRuns: 1,
    });
    expect(second.rows.find((r) => r.errorCode)?.fromEarlierRun).toBe(true);
    // Only the dead-lettered job called the model again, from its checkpoint: step 2 alone.
    expect(s.stats().totalCalls - firstCalls).toBe(1);
    // The dead-letter record said what the failed attempts cost (step 1); the record that
    // replaced it includes that too, and the records left add up to what the stand-in billed.
    const deadLettered = first.rows.find((r) => r.errorCode === 'DEAD_LETTERED');
    expect(deadLettered?.costUsd).toBeGreaterThan(0);
    const catalog = loadModelCatalog();
    const billed = costFromUsage(
      catalog.defaultModel,
      s.stats().usage,
      catalog.priceTableVersion,
    ).total;
    let recorded = 0;
    for (const row of second.rows) {
      recorded += JSON.parse(await readFile(row.record, 'utf8')).cost?.total ?? 0;
    }
    expect(recorded).toBeCloseTo(billed, 9);
  });
});
