import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pubsubEmulatorAvailable } from '../../infra/emulator/pubsub-emulator.ts';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { PubSubJobQueue } from '../../shared/adapters/pubsub-job-queue.ts';
import { HELD_PREFIX, PAUSE_NAME, resumeSpending } from '../../shared/pipeline/spend-guard.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';
import {
  readRecords,
  waitFor as waitUntil,
  withoutGeminiCredentials,
} from '../support/stack-harness.ts';

/**
 * The spend kill switch on the emulator stack: a budget notification (as Cloud Billing publishes
 * it) reaches the budget-guard function through its push subscription, the worker then holds jobs
 * instead of calling Gemini, and resuming publishes them again: nothing lost, nothing paid twice.
 */

const available = pubsubEmulatorAvailable();
if (!available.ok) console.warn(`Skipping the spend guard stack test: ${available.why}`);

let stack: Stack;
let pubsub: PubSub;
const lines: string[] = [];
const waitFor = <T>(what: string, check: () => Promise<T | undefined>) =>
  waitUntil(what, check, { deadlineMs: 120_000, lines });

beforeAll(async () => {
  if (!available.ok) return;
  stack = await startStack({
    pollMs: 100,
    env: withoutGeminiCredentials(process.env),
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
  pubsub = new PubSub({
    projectId: stack.projectId,
    apiEndpoint: stack.emulatorHost,
    emulatorMode: true,
  });
}, 60_000);

afterAll(async () => {
  if (!available.ok) return;
  await pubsub.close();
  await stack.stop();
});

const budgetAlert = (costAmount: number) => ({
  budgetDisplayName: 'bananaflow',
  alertThresholdExceeded: 1,
  costAmount,
  costIntervalStart: '2026-12-01T08:00:00Z',
  budgetAmount: 100,
  budgetAmountType: 'SPECIFIED_AMOUNT',
  currencyCode: 'USD',
});

const publishBudget = (data: unknown) =>
  pubsub.topic(stack.topics.budget).publishMessage({ json: data });

const exists = async (dir: string, name: string) =>
  (await readdir(dir, { recursive: true })).includes(name);

describe.skipIf(!available.ok)('the spend kill switch on the emulator stack', () => {
  it('ignores a budget message in an unknown format, and one under the budget', async () => {
    await publishBudget({ hello: 'world' });
    await publishBudget(budgetAlert(40));
    await waitFor('the budget guard to handle both', async () =>
      lines.filter((l) => l.includes('budget notification handled')).length >= 2 &&
      lines.some((l) => l.includes('unknown format'))
        ? true
        : undefined,
    );
    expect(await exists(stack.outputDir, PAUSE_NAME)).toBe(false);
  }, 180_000);

  it('pauses at the budget, holds jobs unpaid, and resume runs each once', async () => {
    await publishBudget(budgetAlert(100));
    await waitFor('the pause marker', async () =>
      (await exists(stack.outputDir, PAUSE_NAME)) ? true : undefined,
    );

    await writeDrop(stack.inputDir, {
      'paused/cat.png': await tinyImage(),
      'paused/cat.png.edit.json': { prompt: 'a hat (held-while-paused)' },
    });
    const held = await waitFor('a held job', async () => {
      // The folder store writes through a temp file beside the object: a listing taken mid-write
      // sees it too (this count read 2 once under load), so only whole objects count.
      const names = (await readdir(stack.outputDir, { recursive: true })).filter(
        (n) => n.startsWith(HELD_PREFIX) && !n.includes('.bananaflow-tmp-'),
      );
      return names.length > 0 ? names : undefined;
    });
    expect(held).toHaveLength(1);
    const calls = () =>
      stack.standIn?.stats().calls.filter((c) => c.prompt.includes('held-while-paused')).length;
    expect(calls()).toBe(0);
    expect((await readRecords(stack.outputDir)).filter((r) => r.prompt?.includes('held-'))).toEqual(
      [],
    );

    const { released } = await resumeSpending(
      {
        store: new FsObjectStore({ [stack.outputBucket]: stack.outputDir }),
        queue: new PubSubJobQueue(pubsub, stack.topics),
        log: silentLogger,
      },
      stack.outputBucket,
    );
    expect(released).toBe(1);
    const [record] = await waitFor('the held job to finish', async () => {
      const done = (await readRecords(stack.outputDir)).filter((r) =>
        r.prompt?.includes('held-while-paused'),
      );
      return done.length > 0 ? done : undefined;
    });
    expect(record?.status).toBe('succeeded');
    expect(calls()).toBe(1);
    expect(await exists(stack.outputDir, PAUSE_NAME)).toBe(false);
    expect(
      await exists(stack.outputDir, join(HELD_PREFIX, held[0]?.slice(HELD_PREFIX.length) ?? '')),
    ).toBe(false);
  }, 300_000);
});
