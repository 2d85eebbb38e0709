import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { MemoryJobQueue } from '../../shared/adapters/memory-job-queue.ts';
import { ZERO_USAGE } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { BananaError } from '../../shared/errors.ts';
import { writeErrorRecord, writeOutput } from '../../shared/pipeline/write-records.ts';
import { outputNames } from '../../shared/planning/output-names.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { OUTPUT_TAG } from '../../shared/sidecar/drop-files.ts';
import { makeJob } from '../support/make-job.ts';

let root: string;
let store: FsObjectStore;
let queue: MemoryJobQueue;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-write-records-'));
  store = new FsObjectStore({ out: join(root, 'out') });
  queue = new MemoryJobQueue({ concurrency: 1, maxAttempts: 1, minBackoffMs: 1, maxBackoffMs: 1 });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const deps = () => ({
  store,
  queue,
  log: silentLogger,
  catalog: loadModelCatalog(),
  now: () => new Date('2026-01-01T00:00:00.000Z'),
  uriOf: (b: string, n: string) => `${b}/${n}`,
});

describe('writeOutput', () => {
  it('writes once, tagged as an output: a second write of the same name keeps the first', async () => {
    await writeOutput(deps(), 'out', 'cat.png', Buffer.from('first'), 'image/png');
    await writeOutput(deps(), 'out', 'cat.png', Buffer.from('second'), 'image/png');
    const { bytes, info } = await store.read('out', 'cat.png');
    expect(bytes.toString()).toBe('first');
    expect(info.metadata[OUTPUT_TAG]).toBe('1');
  });
});

describe('writeErrorRecord', () => {
  it('records the failure with what it was billed, and announces it', async () => {
    const job = makeJob(3);
    const usage = { ...ZERO_USAGE, inputTextTokens: 10, totalTokens: 10 };
    const cost = {
      currency: 'USD' as const,
      input: 0.001,
      output: 0,
      total: 0.001,
      priceTableVersion: 'test',
      estimated: false,
    };
    const failure = new BananaError({
      code: 'MODEL_BLOCKED_PROMPT',
      message: 'blocked',
      fix: 'reword it',
      details: { file: 'shoot/cat.png' },
    });
    const record = await writeErrorRecord(deps(), job, failure, 2, { usage, cost });
    const name = outputNames(job.output.base, job.output.format).error;
    const stored = JSON.parse((await store.read('out', name)).bytes.toString('utf8'));
    expect(stored).toEqual(record);
    expect(record).toMatchObject({
      status: 'failed',
      jobId: job.jobId,
      file: 'shoot/cat.png',
      error: { code: 'MODEL_BLOCKED_PROMPT', fix: 'reword it', retryable: false },
      usage,
      cost,
      attempts: 2,
      at: '2026-01-01T00:00:00.000Z',
    });
    expect(queue.results).toEqual([
      expect.objectContaining({
        jobId: job.jobId,
        status: 'failed',
        errorCode: 'MODEL_BLOCKED_PROMPT',
        costUsd: 0.001,
        recordUri: `out/${name}`,
      }),
    ]);
  });
});
