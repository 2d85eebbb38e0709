import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BatchJob, GoogleGenAI } from '@google/genai';
import { afterEach, describe, expect, it } from 'vitest';
import { costFromUsage, type Usage } from '../../shared/catalog/cost.ts';
import { BananaError } from '../../shared/errors.ts';
import { BatchInbox, routeBatchTier } from '../../shared/pipeline/batch-inbox.ts';
import { BatchLease } from '../../shared/pipeline/batch-lease.ts';
import { CLOUD_BATCH_PREFIX } from '../../shared/pipeline/batch-manifests.ts';
import {
  type BatchTickDeps,
  type BatchTickOptions,
  runBatchTick,
} from '../../shared/pipeline/batch-tick.ts';
import { handleJobDelivery } from '../../shared/pipeline/handle-job-delivery.ts';
import { BATCH_STAGES, type BatchStage } from '../../shared/pipeline/job-stages.ts';
import { recordDeadLetter } from '../../shared/pipeline/record-dead-letter.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import type { WorkerDeps } from '../../shared/ports/worker-deps.ts';
import { geminiBatchModel, standInBackend } from '../../shared/wiring/image-model.ts';
import { failingWrites } from '../support/failing-store.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * The cloud's batch path against the stand-in's Batch API through the real SDK: pending markers
 * instead of the jobs topic, a tick that submits and collects, answers handed to the real worker
 * use case, failures as records, and crashes at every stage that never submit twice or lose a job.
 */

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface Setup {
  h: Harness;
  inbox: BatchInbox;
  worker: WorkerDeps;
  tickDeps: BatchTickDeps;
  tick: (options?: Partial<BatchTickOptions>) => ReturnType<typeof runBatchTick>;
}

async function setup(
  failpoint?: (stage: BatchStage) => void,
  workerStore?: (store: ObjectStore) => ObjectStore,
): Promise<Setup> {
  harness = await startHarness();
  const h = harness;
  h.standIn.setBatchTurnaround(30);
  const inbox = new BatchInbox(h.store, 'output');
  const worker: WorkerDeps = {
    ...h.worker,
    ...(workerStore ? { store: workerStore(h.worker.store) } : {}),
    batchInbox: inbox,
  };
  h.queue.consume(
    (d) => handleJobDelivery(worker, d),
    (d) => recordDeadLetter(worker, d),
  );
  const batchModel = geminiBatchModel(standInBackend(h.standIn.url), 16 << 20, 'offline-stand-in');
  if (!batchModel) throw new Error('no batch model');
  const tickDeps: BatchTickDeps = {
    ...worker,
    store: h.worker.store,
    batchModel,
    ...(failpoint ? { batchFailpoint: failpoint } : {}),
  };
  const tick = (options: Partial<BatchTickOptions> = {}) =>
    runBatchTick(tickDeps, {
      bucket: 'output',
      limits: { maxRequests: 10, maxBytes: 1 << 30 },
      windowMs: 0,
      leaseMs: 60_000,
      concurrency: 4,
      ...options,
    });
  return { h, inbox, worker, tickDeps, tick };
}

/** Plans a drop of `prompts` (one image each) in the batch tier and routes its jobs as ingest does. */
async function dropBatch(s: Setup, prompts: string[], extra: object = {}): Promise<Job[]> {
  const files: Record<string, Buffer | object> = {};
  for (const [i, prompt] of prompts.entries()) {
    files[`img${i}.png`] = await tinyImage();
    files[`img${i}.png.edit.json`] = { prompt, tier: 'batch', ...extra };
  }
  await writeDrop(s.h.dropDir, files);
  const jobs = await s.h.plan();
  await routeBatchTier(s.h.queue, s.inbox).publishJobs(jobs);
  return jobs;
}

/** Ticks (and lets the worker run) until every job has a record, as Cloud Scheduler would. */
async function tickUntilDone(s: Setup, jobs: readonly Job[], rounds = 200) {
  for (let i = 0; i < rounds; i++) {
    await s.tick().catch(() => undefined);
    await s.h.queue.drain();
    const done = await recordsByJob(s.h);
    if (jobs.every((job) => done.has(job.jobId))) return done;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('jobs still without records after all ticks');
}

type Rec = {
  jobId: string;
  status: string;
  tier?: string;
  batch?: { name: string } | string;
  model: string | { id: string };
  usage?: Usage;
  cost?: { total: number; tier?: string; priceTableVersion: string };
  error?: { code: string; details?: Record<string, unknown> };
};

async function recordsByJob(h: Harness): Promise<Map<string, Rec[]>> {
  const byJob = new Map<string, Rec[]>();
  const files = (await readdir(h.outDir, { recursive: true })).filter(
    (f) => f.endsWith('.json') && !f.startsWith('_'),
  );
  for (const file of files) {
    const record = JSON.parse(await readFile(join(h.outDir, file), 'utf8')) as Rec;
    if (record.jobId) byJob.set(record.jobId, [...(byJob.get(record.jobId) ?? []), record]);
  }
  return byJob;
}

async function batchesAt(h: Harness): Promise<BatchJob[]> {
  const ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: h.standIn.url } });
  const all: BatchJob[] = [];
  for await (const job of await ai.batches.list({ config: { pageSize: 100 } })) all.push(job);
  return all;
}

const batchCalls = (h: Harness, marker: string) =>
  h.standIn.stats().calls.filter((c) => c.prompt.includes(marker) && c.tier === 'batch');

describe('the cloud batch path (batch tick)', () => {
  it('routes batch-tier jobs to pending markers, submits them as one batch, and the worker writes outputs, records at batch prices and result events', async () => {
    const s = await setup();
    const jobs = await dropBatch(s, ['a red banana', 'a green banana', 'a pear']);
    expect(s.h.queue.stats.published).toBe(0);
    expect((await s.inbox.list()).map((p) => p.jobId).sort()).toEqual(
      jobs.map((j) => j.jobId).sort(),
    );

    const records = await tickUntilDone(s, jobs);
    expect((await batchesAt(s.h)).length).toBe(1);
    expect(s.h.standIn.stats().calls.filter((c) => c.tier !== 'batch')).toHaveLength(0);
    for (const job of jobs) {
      const [record, ...more] = records.get(job.jobId) ?? [];
      expect(more).toHaveLength(0);
      expect(record).toMatchObject({ status: 'succeeded', tier: 'batch', cost: { tier: 'batch' } });
      expect(typeof record?.batch === 'object' && record.batch.name).toMatch(/^batches\//);
      const model = s.h.worker.catalog.resolve(job.model);
      const standard = costFromUsage(model, record?.usage as Usage, 'x', { tier: 'standard' });
      expect(Math.abs((record?.cost?.total ?? 0) - standard.total / 2)).toBeLessThan(1e-9);
    }
    const events = s.h.queue.results;
    expect(new Set(events.map((e) => e.jobId))).toEqual(new Set(jobs.map((j) => j.jobId)));
    expect(events.every((e) => e.status === 'succeeded' && e.tier === 'batch')).toBe(true);
    // Nothing left in flight: no marker, no manifest (a tick reads only batches still running).
    expect(await s.inbox.list()).toEqual([]);
    expect(await s.h.store.list('output', CLOUD_BATCH_PREFIX)).toEqual([]);
  });

  it('waits for the window: nothing is submitted until the jobs fill a batch or the oldest waited long enough', async () => {
    const s = await setup();
    await dropBatch(s, ['one', 'two', 'three']);
    const early = await s.tick({ windowMs: 3_600_000 });
    expect(early).toMatchObject({ submitted: 0, waiting: 3 });
    expect(await batchesAt(s.h)).toHaveLength(0);
    const full = await s.tick({
      windowMs: 3_600_000,
      limits: { maxRequests: 3, maxBytes: 1 << 30 },
    });
    expect(full).toMatchObject({ submitted: 1, waiting: 0 });
    const split = await batchesAt(s.h);
    expect(split).toHaveLength(1);
  });

  it('splits a set bigger than the limits into several batches, never refuses it', async () => {
    const s = await setup();
    const jobs = await dropBatch(s, ['s1', 's2', 's3', 's4', 's5']);
    const report = await s.tick({ limits: { maxRequests: 2, maxBytes: 1 << 30 } });
    expect(report.submitted).toBe(3);
    await tickUntilDone(s, jobs);
    expect(await batchesAt(s.h)).toHaveLength(3);
  });

  it.each([
    ['a per-request error', '[standin:fail=400] bad', 'succeeded', 'MODEL_REJECTED'],
    [
      'a key missing from the results',
      '[standin:batch=drop-key] gone',
      'succeeded',
      'BATCH_RESULT_MISSING',
    ],
    ['an expired batch', '[standin:batch=expired] late', 'expired', 'BATCH_INCOMPLETE'],
    ['a cancelled batch', '[standin:batch=cancelled] stop', 'cancelled', 'BATCH_INCOMPLETE'],
    ['a failed batch', '[standin:batch=failed] broken', 'failed', 'BATCH_INCOMPLETE'],
  ])(
    'records %s as the job’s error record, with its result event',
    async (_what, prompt, _state, code) => {
      const s = await setup();
      const jobs = await dropBatch(s, [prompt]);
      const records = await tickUntilDone(s, jobs);
      const [record, ...more] = records.get(jobs[0]?.jobId ?? '') ?? [];
      expect(more).toHaveLength(0);
      expect(record?.status).toBe('failed');
      expect(record?.error?.code).toBe(code);
      expect(s.h.queue.results.map((e) => e.errorCode)).toEqual([code]);
      expect(await s.inbox.list()).toEqual([]);
    },
  );

  it('runs a refinement as one batch round per step, paying each step once', async () => {
    const s = await setup();
    await writeDrop(s.h.dropDir, {
      'r.png': await tinyImage(),
      'r.png.edit.json': { steps: ['glow (refine)', 'add a hat (refine)'], tier: 'batch' },
    });
    const jobs = await s.h.plan();
    await routeBatchTier(s.h.queue, s.inbox).publishJobs(jobs);
    const records = await tickUntilDone(s, jobs);
    expect(records.get(jobs[0]?.jobId ?? '')?.map((r) => r.status)).toEqual(['succeeded']);
    expect(batchCalls(s.h, '(refine)')).toHaveLength(2);
    expect(await batchesAt(s.h)).toHaveLength(2);
  });

  it('ignores a redelivered upload and a duplicate tick: nothing is submitted or paid twice', async () => {
    const s = await setup();
    const jobs = await dropBatch(s, ['dup one', 'dup two']);
    const [a, b] = await Promise.all([s.tick(), s.tick()]);
    expect([a.busy, b.busy].sort()).toEqual([false, true]);
    await tickUntilDone(s, jobs);
    // The upload event comes again after the jobs finished: markers come back, and go.
    await routeBatchTier(s.h.queue, s.inbox).publishJobs(jobs);
    expect(await s.tick()).toMatchObject({ submitted: 0 });
    expect(await s.inbox.list()).toEqual([]);
    expect(await batchesAt(s.h)).toHaveLength(1);
    expect(batchCalls(s.h, 'dup')).toHaveLength(2);
  });

  it('takes over the lease of a tick that died holding it, once the lease expired', async () => {
    const s = await setup();
    expect(
      await new BatchLease(s.h.store, 'output').take('a killed tick', new Date(), 60_000),
    ).toBeTruthy();
    await dropBatch(s, ['after the lease']);
    expect(await s.tick()).toMatchObject({ busy: true, submitted: 0 });
    const later = { ...s.tickDeps, now: () => new Date(Date.now() + 61_000) };
    const report = await runBatchTick(later, {
      bucket: 'output',
      limits: { maxRequests: 10, maxBytes: 1 << 30 },
      windowMs: 0,
      leaseMs: 60_000,
      concurrency: 4,
    });
    expect(report).toMatchObject({ busy: false, submitted: 1 });
  });

  it('takes a batch-tier job that reaches the worker without an answer into the batch path', async () => {
    const s = await setup();
    await writeDrop(s.h.dropDir, {
      'w.png': await tinyImage(),
      'w.png.edit.json': { prompt: 'straight to the worker', tier: 'batch' },
    });
    const jobs = await s.h.plan();
    await s.h.queue.publishJobs(jobs);
    await s.h.queue.drain();
    expect(s.h.standIn.stats().totalCalls).toBe(0);
    expect((await s.inbox.list()).map((p) => p.jobId)).toEqual(jobs.map((j) => j.jobId));
    const records = await tickUntilDone(s, jobs);
    expect(records.get(jobs[0]?.jobId ?? '')?.map((r) => r.status)).toEqual(['succeeded']);
  });

  it('dead-letters a handed-off job the worker keeps failing on, like any job, without paying its answer again', async () => {
    const s = await setup(undefined, (store) =>
      failingWrites(store, (_bucket, name) =>
        name.startsWith('_bananaflow/') || !name.endsWith('.png')
          ? undefined
          : new BananaError({ code: 'STORAGE_TRANSIENT', message: 'outage', retryable: true }),
      ),
    );
    const jobs = await dropBatch(s, ['outage (dlq)']);
    const records = await tickUntilDone(s, jobs);
    const [record, ...more] = records.get(jobs[0]?.jobId ?? '') ?? [];
    expect(more).toHaveLength(0);
    expect(record?.error?.code).toBe('DEAD_LETTERED');
    // The batch's answer was billed once, at batch prices, and is on the record.
    expect(record?.cost?.total).toBeGreaterThan(0);
    expect(batchCalls(s.h, '(dlq)')).toHaveLength(1);
    expect(s.h.queue.stats.deadLettered).toBe(1);
  });

  it.each(BATCH_STAGES)(
    'a tick that crashes at "%s" is finished by the next: 0 duplicate submissions, 0 lost jobs',
    async (stage) => {
      let crashed = false;
      const s = await setup((at) => {
        if (at !== stage || crashed) return;
        crashed = true;
        throw new Error(`crash at ${at}`);
      });
      const jobs = await dropBatch(s, ['c1 (crash)', 'c2 (crash)', 'c3 (crash)']);
      const records = await tickUntilDone(s, jobs);
      expect(crashed).toBe(true);
      expect(await batchesAt(s.h)).toHaveLength(1);
      expect(batchCalls(s.h, '(crash)')).toHaveLength(3);
      for (const job of jobs) {
        expect(records.get(job.jobId)?.map((r) => r.status)).toEqual(['succeeded']);
      }
      expect(new Set(s.h.queue.results.map((e) => e.jobId)).size).toBe(3);
    },
  );
});
