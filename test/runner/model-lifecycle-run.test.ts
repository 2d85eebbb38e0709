import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { runDrop } from '../../infra/runner/run-drop.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { loadModelCatalog, type ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { writeDrop } from '../support/pipeline-harness.ts';

/**
 * Lifecycle and quota drift met by a run, end to end: the embedded runner, the real SDK and the
 * stand-in over HTTP. Per-day quota stops calls to that model; depleted credits and a live 404
 * are permanent records, never retried; a deprecated model's records carry the warning.
 */

let root: string | undefined;
let standIn: GeminiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
  standIn = undefined;
});

async function runJobs(jobs: object[], standInCatalog?: ModelCatalog) {
  standIn = await startGeminiStandIn(standInCatalog ? { catalog: standInCatalog } : {});
  root = await mkdtemp(join(tmpdir(), 'bananaflow-lifecycle-'));
  const drop = join(root, 'drop');
  await writeDrop(drop, { 'a.jobs.json': { jobs } });
  const summary = await runDrop({
    dropDir: drop,
    outDir: join(root, 'out'),
    model: createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: standIn.url },
    }),
    catalog: loadModelCatalog(),
    config: loadConfig({ LOG_LEVEL: 'error' }),
    log: silentLogger,
    concurrency: 1,
    maxAttempts: 3,
    minBackoffMs: 1,
    maxBackoffMs: 5,
  });
  const records = await Promise.all(
    summary.rows.map(async (r) => ({
      row: r,
      record: JSON.parse(await readFile(r.record, 'utf8')),
    })),
  );
  const calls = (model: string) => standIn?.stats().calls.filter((c) => c.model === model) ?? [];
  return { summary, records, calls };
}

describe('a run meets the model lifecycle and quota drift', () => {
  it('per-day quota: no retries, the record says when it resets, later jobs of that model are not sent', async () => {
    const pro = 'gemini-3-pro-image';
    const { summary, records, calls } = await runJobs([
      { name: 'first', model: pro, prompt: 'one [standin:exhaust=per-day]' },
      { name: 'second', model: pro, prompt: 'two' },
      { name: 'third', model: pro, prompt: 'three' },
      { name: 'other', prompt: 'on the default model' },
    ]);
    expect(summary.failedByCode).toEqual({ MODEL_DAILY_QUOTA: 3 });
    expect(summary.succeeded).toBe(1);
    // One call found the quota gone; the others were never sent (concurrency 1, so exactly one).
    expect(calls(pro)).toHaveLength(1);
    for (const { record } of records.filter((r) => r.row.model === pro)) {
      expect(record.error.retryable).toBe(false);
      expect(record.error.message).toMatch(/daily quota ran out/);
      expect(Date.parse(record.error.details.resetsAt)).toBeGreaterThan(Date.now());
      expect(record.error.fix).toMatch(/midnight Pacific/);
    }
  });

  it('depleted credits: a permanent record saying so, never retried', async () => {
    const { summary, records, calls } = await runJobs([{ prompt: 'x [standin:exhaust=credits]' }]);
    expect(summary.failedByCode).toEqual({ MODEL_BILLING: 1 });
    expect(calls('gemini-nano-banana-2.1')).toHaveLength(1);
    expect(records[0]?.record.error.fix).toMatch(/credits are depleted or its spend cap/);
  });

  it('a live 404 for a model the catalog thinks is live: permanent, names the replacement and `bananaflow models --live`', async () => {
    // The backend has retired Pro while our catalog still says GA (lifecycle drift).
    const pro = loadModelCatalog().resolve('gemini-3-pro-image');
    const drifted = loadModelCatalog([
      { ...pro, lifecycle: { ...pro.lifecycle, status: 'shut-down', shutdown: '2026-12-01' } },
    ]);
    const { summary, records, calls } = await runJobs(
      [{ model: 'gemini-3-pro-image', prompt: 'x' }],
      drifted,
    );
    expect(summary.failedByCode).toEqual({ MODEL_NOT_FOUND: 1 });
    expect(calls('gemini-3-pro-image')).toHaveLength(1);
    const error = records[0]?.record.error;
    expect(error.retryable).toBe(false);
    expect(error.fix).toContain('bananaflow models --live');
    expect(error.details.replacement).toBe('gemini-nano-banana-2.1');
    for (const m of loadModelCatalog().models.filter((x) => x.lifecycle.status === 'shut-down')) {
      expect(error.fix).not.toContain(m.id);
    }
  });

  it('a deprecated model runs, and its metadata record carries the warning naming the replacement', async () => {
    const { summary, records } = await runJobs([
      { model: 'gemini-3.1-flash-image', imageSize: '512', aspectRatio: '1:8', prompt: 'x' },
    ]);
    expect(summary.succeeded).toBe(1);
    const record = records[0]?.record;
    expect(record.warnings).toEqual([
      expect.stringMatching(/deprecated.*2026-10-29.*gemini-nano-banana-2\.1/),
    ]);
    expect(record.imageSize).toBe('512');
    expect(record.usage.outputImageTokens).toBe(747);
  });

  it('a shut-down model is refused at planning: no call, no charge', async () => {
    const { summary } = await runJobs([{ model: 'gemini-3-pro-image-preview', prompt: 'x' }]);
    expect(summary.jobs).toBe(0);
    expect(summary.sidecarProblems).toEqual([
      expect.objectContaining({
        code: 'MODEL_RETIRED',
        message: expect.stringContaining('2026-06-25'),
      }),
    ]);
    expect(standIn?.stats().totalCalls).toBe(0);
  });

  it('grounding is billed per request in the cost record and in the estimate', async () => {
    const { summary, records } = await runJobs([
      {
        model: 'gemini-3-pro-image',
        grounding: 'google-search',
        prompt: 'today’s weather in Paris',
      },
    ]);
    expect(summary.succeeded).toBe(1);
    const record = records[0]?.record;
    const fee = loadModelCatalog().resolve('gemini-3-pro-image').groundingUsdPerRequest;
    expect(record.usage.groundedRequests).toBe(1);
    expect(record.cost.grounding).toBeCloseTo(fee, 9);
    expect(record.grounding).toBe('google-search');
    expect(record.estimatedCostUsd).toBeGreaterThan(fee);
  });
});
