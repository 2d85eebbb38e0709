import { describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import { emulatorSuite } from '../support/emulator.ts';
import { writeDrop } from '../support/pipeline-harness.ts';
import { readRecords, waitFor, withoutGeminiCredentials } from '../support/stack-harness.ts';

/**
 * Three worker processes (behind a round-robin balancer, as pushes spread over cloud instances)
 * share one quota of the stand-in: each is told its share (BANANAFLOW_IPM = quota / 3, as
 * Terraform's images_per_minute tells each instance), so together they stay under the quota, and a
 * 429 never costs a delivery attempt.
 */

const needsEmulator = emulatorSuite('the emulator quota suite');

const WORKERS = 3;
const WINDOW_MS = 3_000;
const QUOTA = 12;
const JOBS = 3 * QUOTA;

const lines: string[] = [];
let stack: Stack;

needsEmulator.beforeAll(async () => {
  stack = await startStack({
    pollMs: 100,
    workers: WORKERS,
    standIn: { quota: { windowMs: WINDOW_MS, models: { '*': { ipm: QUOTA } } } },
    env: {
      ...withoutGeminiCredentials(process.env),
      LOG_LEVEL: 'warn',
      BANANAFLOW_IPM: String(QUOTA / WORKERS),
      BANANAFLOW_QUOTA_WINDOW_MS: String(WINDOW_MS),
      // Covers the time a call takes to reach the stand-in from another process on a loaded machine.
      BANANAFLOW_QUOTA_MARGIN_MS: '300',
    },
    maxDeliveryAttempts: 5,
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
}, 90_000);

needsEmulator.afterAll(async () => {
  await stack.stop();
});

describe.skipIf(!needsEmulator.ok)('3 worker processes sharing one quota (emulator stack)', () => {
  it('runs every job, spread over the workers, with (almost) no 429 and nothing dead-lettered', async () => {
    await writeDrop(stack.inputDir, {
      'quota/load.jobs.json': {
        jobs: Array.from({ length: JOBS }, (_, i) => ({ prompt: `quota job #${i}#` })),
      },
    });
    const records = await waitFor(
      `${JOBS} records`,
      async () => {
        const found = (await readRecords(stack.outputDir)).filter((r) =>
          (r.prompt ?? '').startsWith('quota job #'),
        );
        return found.length >= JOBS ? found : undefined;
      },
      { deadlineMs: 180_000, lines },
    );
    expect(records.filter((r) => r.status === 'succeeded')).toHaveLength(JOBS);
    expect(records.filter((r) => r.error?.code === 'DEAD_LETTERED')).toEqual([]);
    const workers = stack.workers();
    expect(workers).toHaveLength(WORKERS);
    for (const worker of workers) expect(worker.pushes).toBeGreaterThan(0);
    const stats = stack.standIn?.stats();
    const refused = stats?.byOutcome['http-429'] ?? 0;
    const admitted = Object.values(stats?.quota?.models ?? {}).map((m) => m.admittedImages);
    expect(admitted).toEqual([JOBS]);
    // Told their shares, the workers together stay under the quota: at most 5% of calls refused.
    expect(refused).toBeLessThanOrEqual(Math.max(2, Math.floor(0.05 * (JOBS + refused))));
  }, 240_000);
});
