import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BatchJob, GoogleGenAI } from '@google/genai';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GeminiStandIn,
  type GeminiStandInOptions,
  startGeminiStandIn,
} from '../../infra/gemini-stand-in/server.ts';
import { type RunDropOptions, runDrop } from '../../infra/runner/run-drop.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import { BATCH_STAGES, type BatchStage } from '../../shared/pipeline/run-batch.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { geminiBatchModel, standInBackend, standInModel } from '../../shared/wiring/image-model.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * The batch tier in the embedded runner, against the stand-in's Batch API through the real SDK:
 * the same outputs and records as the standard path at batch prices; failures become records;
 * a rerun resubmits only what a batch did not answer; a crash at any stage never submits twice
 * and never loses a job.
 */

let root: string | undefined;
let standIn: GeminiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
  standIn = undefined;
});

async function setup(options: GeminiStandInOptions = {}) {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-batch-'));
  standIn = await startGeminiStandIn({ batchTurnaroundMs: 40, ...options });
  return { root, s: standIn, drop: join(root, 'drop'), out: join(root, 'out') };
}

function options(
  s: GeminiStandIn,
  drop: string,
  out: string,
  env: Record<string, string> = {},
  more: Partial<RunDropOptions> = {},
): RunDropOptions {
  const config = loadConfig({ LOG_LEVEL: 'error', ...env });
  return {
    dropDir: drop,
    outDir: out,
    model: standInModel(s.url),
    batchModel: geminiBatchModel(
      standInBackend(s.url),
      config.BANANAFLOW_BATCH_INLINE_MAX_BYTES,
      'offline-stand-in',
    ),
    batchPollMs: 20,
    catalog: loadModelCatalog(),
    config,
    log: silentLogger,
    ...more,
  };
}

async function batchesAt(s: GeminiStandIn): Promise<BatchJob[]> {
  const ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: s.url } });
  const all: BatchJob[] = [];
  for await (const job of await ai.batches.list({ config: { pageSize: 100 } })) all.push(job);
  return all;
}

type Rec = {
  jobId: string;
  status?: string;
  tier?: string;
  batch?: { name: string } | string;
  cost?: { total: number; tier?: string };
  error?: { code: string; details?: Record<string, unknown> };
};

/** Every metadata and error record of the output, by job id. */
async function records(out: string): Promise<Map<string, Rec[]>> {
  const byJob = new Map<string, Rec[]>();
  const files = (await readdir(out, { recursive: true })).filter(
    (f) => f.endsWith('.json') && !f.startsWith('_'),
  );
  for (const file of files) {
    const record = JSON.parse(await readFile(join(out, file), 'utf8')) as Rec;
    if (!record.jobId) continue;
    byJob.set(record.jobId, [...(byJob.get(record.jobId) ?? []), record]);
  }
  return byJob;
}

const manifest = (jobs: object[], defaults: object = { tier: 'batch' }) => ({
  'm.jobs.json': { defaults, jobs },
});

describe('the batch tier (embedded runner)', () => {
  it('writes the standard outputs and records, with the tier, the batch and batch prices', async () => {
    const { s, drop, root } = await setup();
    const jobs = [
      { prompt: 'a red banana', inputs: ['cat.png'] },
      { prompt: 'a green banana', variants: 2 },
      { prompt: 'a pear', aspectRatio: '16:9' },
    ];
    await writeDrop(drop, { 'cat.png': await tinyImage('png'), ...manifest(jobs) });
    const batch = await runDrop(options(s, drop, join(root, 'out-batch')));
    expect(batch.succeeded).toBe(4);

    const batchRecords = await records(join(root, 'out-batch'));
    expect(batchRecords.size).toBe(4);
    for (const [, [record]] of batchRecords) {
      expect(record?.tier).toBe('batch');
      expect(record?.cost?.tier).toBe('batch');
      expect(typeof record?.batch === 'object' && record.batch.name).toMatch(/^batches\//);
    }
    expect(batch.costUsd).toBeGreaterThan(0);
    expect((await batchesAt(s)).length).toBe(1);
  });

  it('prices a batch run at exactly 50% of the same jobs in standard', async () => {
    const { s, drop, root } = await setup();
    const jobs = [{ prompt: 'one', inputs: ['cat.png'] }, { prompt: 'two' }, { prompt: 'three' }];
    await writeDrop(drop, { 'cat.png': await tinyImage('png'), ...manifest(jobs, {}) });
    const batch = await runDrop(options(s, drop, join(root, 'b'), { BANANAFLOW_TIER: 'batch' }));
    const standard = await runDrop(options(s, drop, join(root, 's')));
    expect(batch.succeeded).toBe(3);
    expect(standard.succeeded).toBe(3);
    expect(Math.abs(batch.costUsd - standard.costUsd / 2)).toBeLessThan(1e-6);
  });

  it('turns per-request failures into records; a rerun resubmits only the retryable one', async () => {
    const { s, drop, out } = await setup();
    const jobs = [
      { prompt: 'fine' },
      { prompt: '[standin:outcome=blocked-prompt] blocked' },
      { prompt: '[standin:fail=503] overloaded once' },
    ];
    await writeDrop(drop, manifest(jobs));
    const first = await runDrop(options(s, drop, out));
    expect(first.succeeded).toBe(1);
    expect(first.failedByCode).toEqual({ MODEL_BLOCKED_PROMPT: 1, MODEL_TRANSIENT: 1 });
    const second = await runDrop(options(s, drop, out));
    expect(second.retriedFromEarlierRuns).toBe(1);
    expect(second.succeeded).toBe(1);
    expect(second.alreadyDone).toBe(1);
    const batches = await batchesAt(s);
    expect(batches).toHaveLength(2);
    // The second batch held only the job the first one could not answer.
    const calls = s.stats().calls.filter((c) => c.tier === 'batch');
    expect(calls.filter((c) => c.prompt.includes('fine'))).toHaveLength(1);
    expect(calls.filter((c) => c.prompt.includes('blocked'))).toHaveLength(1);
  });

  it.each(['expired', 'failed', 'cancelled'] as const)(
    'gives every job of a batch that ended %s a record saying so; a rerun resubmits them',
    async (fault) => {
      const { s, drop, out } = await setup({
        batchFaults: ({ number }) => (number === 1 ? fault : undefined),
      });
      await writeDrop(drop, manifest([{ prompt: 'a' }, { prompt: 'b', variants: 2 }]));
      const first = await runDrop(options(s, drop, out));
      expect(first.failedByCode).toEqual({ BATCH_INCOMPLETE: 3 });
      const failed = [...(await records(out)).values()].flat();
      expect(failed.every((r) => r.error?.details?.state === fault)).toBe(true);
      expect(s.stats().totalCalls).toBe(0);
      const second = await runDrop(options(s, drop, out));
      expect(second.succeeded).toBe(3);
      expect(second.retriedFromEarlierRuns).toBe(3);
    },
  );

  it('records a key missing from the results as that job’s error, never a silent gap', async () => {
    const { s, drop, out } = await setup();
    await writeDrop(
      drop,
      manifest([{ prompt: '[standin:batch=drop-key] lost' }, { prompt: 'kept' }]),
    );
    const first = await runDrop(options(s, drop, out));
    expect(first.succeeded).toBe(1);
    expect(first.failedByCode).toEqual({ BATCH_RESULT_MISSING: 1 });
  });

  it('splits jobs over batches by the request limit, and sends big batches as a JSONL file', async () => {
    const { s, drop, out } = await setup();
    await writeDrop(drop, manifest([{ prompt: 'x', variants: 5 }]));
    const summary = await runDrop(
      options(s, drop, out, {
        BANANAFLOW_BATCH_MAX_REQUESTS: '2',
        BANANAFLOW_BATCH_INLINE_MAX_BYTES: '500',
      }),
    );
    expect(summary.succeeded).toBe(5);
    expect(await batchesAt(s)).toHaveLength(3);
    const manifests = await readdir(join(out, '_bananaflow', 'batches'));
    const vias = await Promise.all(
      manifests.map(
        async (m) => JSON.parse(await readFile(join(out, '_bananaflow', 'batches', m), 'utf8')).via,
      ),
    );
    // Two full batches (842 bytes each) go as files; the last, single request fits inline.
    expect(vias.sort()).toEqual(['file', 'file', 'inline']);
  });

  it.each(['gemini-2.5-flash-image', 'gemini-3-pro-image'])(
    'runs a refinement on %s one batch round per step, at half the standard cost',
    async (model) => {
      const { s, drop, root } = await setup();
      const steps = ['a banana', 'make it blue', 'add a hat'];
      await writeDrop(drop, {
        'cat.png': await tinyImage('png'),
        ...manifest([{ steps, inputs: ['cat.png'], model }], {}),
      });
      const batch = await runDrop(options(s, drop, join(root, 'b'), { BANANAFLOW_TIER: 'batch' }));
      const standard = await runDrop(options(s, drop, join(root, 's')));
      expect(batch.succeeded).toBe(1);
      expect(standard.succeeded).toBe(1);
      // One batch per step, each answering the conversation so far (signatures kept on Pro).
      expect(await batchesAt(s)).toHaveLength(3);
      expect(Math.abs(batch.costUsd - standard.costUsd / 2)).toBeLessThan(1e-6);
      const [record] = [...(await records(join(root, 'b'))).values()].flat();
      expect(record?.tier).toBe('batch');
    },
  );

  it.each(BATCH_STAGES)(
    'a crash at %s: the rerun submits nothing twice and loses no job',
    async (stage) => {
      const { s, drop, out } = await setup();
      await writeDrop(drop, manifest([{ prompt: 'p', variants: 3 }, { prompt: 'q' }]));
      let crashed = false;
      const crashAt = (at: BatchStage) => {
        if (at === stage && !crashed) {
          crashed = true;
          throw new Error(`crash at ${at}`);
        }
      };
      await expect(runDrop(options(s, drop, out, {}, { batchFailpoint: crashAt }))).rejects.toThrow(
        /crash at/,
      );
      const rerun = await runDrop(options(s, drop, out));
      expect(rerun.failed).toBe(0);
      const byJob = await records(out);
      expect(byJob.size).toBe(4);
      for (const list of byJob.values()) expect(list).toHaveLength(1);
      expect(await batchesAt(s)).toHaveLength(1);
      // Every request was answered (and billed) once: one call per job.
      expect(s.stats().calls).toHaveLength(4);
    },
  );

  it.each(BATCH_STAGES)(
    'a refinement survives a crash at %s: each step asked and paid once',
    async (stage) => {
      const { s, drop, out } = await setup();
      await writeDrop(drop, manifest([{ steps: ['one', 'two'] }, { prompt: 'single' }]));
      let crashed = false;
      const crashAt = (at: BatchStage) => {
        if (at === stage && !crashed) {
          crashed = true;
          throw new Error(`crash at ${at}`);
        }
      };
      await expect(runDrop(options(s, drop, out, {}, { batchFailpoint: crashAt }))).rejects.toThrow(
        /crash at/,
      );
      const rerun = await runDrop(options(s, drop, out));
      expect(rerun.failed).toBe(0);
      expect([...(await records(out)).values()].map((list) => list.length)).toEqual([1, 1]);
      // Round 1: both jobs; round 2: the refinement's second step. Three requests in all.
      expect(await batchesAt(s)).toHaveLength(2);
      expect(s.stats().calls).toHaveLength(3);
    },
  );
});
