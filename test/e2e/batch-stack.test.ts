import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import { costFromUsage, type Usage } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { BATCH_STAGES, type BatchStage } from '../../shared/pipeline/job-stages.ts';
import { emulatorSuite } from '../support/emulator.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';
import { readRecords, waitFor, withoutGeminiCredentials } from '../support/stack-harness.ts';

/**
 * The batch tier through the emulator stack, as it runs in the cloud: an upload with a batch-tier
 * sidecar becomes a pending marker (ingest), the batch-tick function ticked as Cloud Scheduler
 * would submits it to the stand-in's Batch API and collects it, and the worker writes the outputs,
 * the records at batch prices and the result events. Then the batch tick is SIGKILLed at every
 * stage of the batch path: after a restart nothing is submitted twice and no job is lost.
 */

const needsEmulator = emulatorSuite('the batch-tier stack tests');

const lines: string[] = [];
let stack: Stack;
const wait = <T>(what: string, check: () => Promise<T | undefined>) =>
  waitFor(what, check, { deadlineMs: 120_000, lines });

needsEmulator.beforeAll(async () => {
  stack = await startStack({
    pollMs: 100,
    batchTickMs: 400,
    batchTurnaroundMs: 300,
    env: {
      ...withoutGeminiCredentials(process.env),
      BANANAFLOW_BATCH_WINDOW_MS: '2000',
      // A killed tick's lease is taken over after this.
      BANANAFLOW_BATCH_LEASE_MS: '1500',
    },
    maxDeliveryAttempts: 20,
    ackDeadlineSeconds: 10,
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
}, 90_000);

needsEmulator.afterAll(async () => {
  await stack.stop();
});

type BatchRecord = Awaited<ReturnType<typeof readRecords>>[number] & {
  tier?: string;
  batch?: { name: string };
  usage?: Usage;
  model?: { id: string; backend: string };
  cost?: { total: number; tier?: string };
};

/** The records whose prompt carries `marker`, once there are `count` of them. */
async function recordsOf(marker: string, count: number): Promise<BatchRecord[]> {
  return wait(`${count} records of ${marker}`, async () => {
    const found = (await readRecords(stack.outputDir)).filter((r) =>
      (r.prompt ?? '').includes(marker),
    );
    return found.length >= count ? (found as BatchRecord[]) : undefined;
  });
}

const batchCalls = (marker: string) =>
  stack.standIn?.stats().calls.filter((c) => c.prompt.includes(marker)) ?? [];

async function dropImages(marker: string, count: number) {
  const files: Record<string, Buffer | object> = {};
  for (let i = 0; i < count; i++) {
    files[`${marker}/img${i}.png`] = await tinyImage();
    files[`${marker}/img${i}.png.edit.json`] = { prompt: `${marker} ${i}`, tier: 'batch' };
  }
  await writeDrop(stack.inputDir, files);
}

describe.skipIf(!needsEmulator.ok)('the batch tier on the emulator stack', () => {
  it('a batch-tier drop comes back with outputs, records at 50% of standard, and result events', async () => {
    await dropImages('bulk-drop', 3);
    const records = await recordsOf('bulk-drop', 3);
    const catalog = loadModelCatalog();
    expect(records.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    for (const record of records) {
      expect(record.tier).toBe('batch');
      expect(record.cost?.tier).toBe('batch');
      expect(record.batch?.name).toMatch(/^batches\//);
      expect(existsSync(record.output?.uri ?? '')).toBe(true);
      const model = catalog.resolve(record.model?.id ?? '');
      const standard = costFromUsage(model, record.usage as Usage, 'x', { tier: 'standard' });
      expect(Math.abs((record.cost?.total ?? 0) - standard.total / 2)).toBeLessThan(1e-9);
    }
    // One batch for the three (one window), each request answered once, in the batch tier.
    const calls = batchCalls('bulk-drop');
    expect(calls.map((c) => c.tier)).toEqual(['batch', 'batch', 'batch']);
    expect(new Set(records.map((r) => r.batch?.name)).size).toBe(1);
    const events = await wait('the result events', async () => {
      const mine = stack.results().filter((e) => records.some((r) => r.jobId === e.jobId));
      return new Set(mine.map((e) => e.jobId)).size === 3 ? mine : undefined;
    });
    expect(events.every((e) => e.status === 'succeeded' && e.tier === 'batch')).toBe(true);
  }, 150_000);

  it.each(BATCH_STAGES.map((stage) => [stage]))(
    'the batch tick killed at "%s": after a restart 0 duplicate submissions, 0 lost jobs',
    async (stage: BatchStage) => {
      await stack.restartFunction('batchTick', { BANANAFLOW_BATCH_FAILPOINT: stage });
      const exited = stack.exited('batchTick');
      const marker = `batch-crash-${stage}`;
      await dropImages(marker, 2);
      await exited;
      lines.push(`-- batch tick killed at ${stage}; restarting without the failpoint`);
      await stack.restartFunction('batchTick', { BANANAFLOW_BATCH_FAILPOINT: '' });

      const records = await recordsOf(marker, 2);
      expect(records.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
      expect(new Set(records.map((r) => r.jobId)).size).toBe(2);
      // Each request reached the Batch API once: nothing was submitted twice.
      expect(batchCalls(marker)).toHaveLength(2);
      expect(new Set(records.map((r) => r.batch?.name)).size).toBe(1);
      await wait('the result events', async () => {
        const ids = new Set(stack.results().map((e) => e.jobId));
        return records.every((r) => ids.has(r.jobId)) ? true : undefined;
      });
    },
    150_000,
  );
});
