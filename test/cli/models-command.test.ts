import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import { imagePriceUsd } from '../../infra/cli/models-command.ts';
import { startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { writeDrop } from '../support/pipeline-harness.ts';

/** `bananaflow models [--live] [--json]`, the --model flag and bad model input, through main(). */

const OFFLINE_ENV = { PATH: process.env.PATH, LOG_LEVEL: 'error' };
const catalog = loadModelCatalog();

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: { write: (t: string) => out.push(t) }, err: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe('bananaflow models', () => {
  it('prints the catalog: every row, its status, replacement, and price per image at each size', async () => {
    const run = capture();
    expect(await main(['models'], OFFLINE_ENV, run.io)).toBe(0);
    const text = run.out();
    for (const m of catalog.models) expect(text).toContain(m.id);
    expect(text).toContain('gemini-nano-banana-2.1 (default)');
    expect(text).toMatch(
      /gemini-3-pro-image-preview\s+shut-down\s+2026-06-25 → gemini-3-pro-image/,
    );
    const pro = catalog.resolve('gemini-3-pro-image');
    expect(text).toContain(
      `4K $${imagePriceUsd(pro, '4K').toFixed(4)} / $${imagePriceUsd(pro, '4K', true).toFixed(4)}`,
    );
  });

  it('--json agrees with the catalog (prices computed from its token schedules)', async () => {
    const run = capture();
    expect(await main(['models', '--json'], OFFLINE_ENV, run.io)).toBe(0);
    const body = JSON.parse(run.out());
    expect(body.models.map((m: { id: string }) => m.id)).toEqual(catalog.models.map((m) => m.id));
    const flash = body.models.find((m: { id: string }) => m.id === 'gemini-3.1-flash-image');
    // 747 tokens at $60 per 1M, the published $0.045 at 512.
    expect(flash.pricePerImageUsd['512'].standard).toBeCloseTo(0.0448, 4);
    expect(flash.replacement).toBe('gemini-nano-banana-2.1');
  });

  it('--live without credentials asks the offline stand-in, following every page', async () => {
    const run = capture();
    expect(await main(['models', '--live', '--json'], OFFLINE_ENV, run.io)).toBe(0);
    const body = JSON.parse(run.out());
    expect(body.backend).toBe('the offline stand-in');
    expect(body.pages).toBeGreaterThan(1);
    for (const row of body.catalog) expect(row.asExpected).toBe(true);
    expect(body.catalog.find((r: { id: string }) => r.id === 'gemini-nano-banana-2.1').live).toBe(
      true,
    );
    expect(
      body.catalog.find((r: { id: string }) => r.id === 'gemini-3-pro-image-preview').live,
    ).toBe(false);
    expect(body.missingFromCatalog).toEqual([]);
  });

  it('--live shows a live image model the catalog lacks, and how to price it; text models are not listed', async () => {
    const standIn = await startGeminiStandIn({
      extraModels: ['gemini-2.5-flash', 'gemini-4-flash-image'],
    });
    try {
      const env = { ...OFFLINE_ENV, GEMINI_API_KEY: 'k', GOOGLE_GEMINI_BASE_URL: standIn.url };
      const run = capture();
      expect(await main(['models', '--live'], env, run.io)).toBe(1);
      const text = run.out();
      expect(text).toContain('gemini-4-flash-image: live but not in the catalog');
      expect(text).toContain('BANANAFLOW_MODEL_OVERRIDES=');
      expect(text).not.toContain('gemini-2.5-flash:');
      expect(text).toMatch(/gemini-3-pro-image-preview\s+shut-down\s+not listed/);
    } finally {
      await standIn.close();
    }
  });
});

describe('choosing the model of a run', () => {
  it('refuses an unknown --model with a did-you-mean and the overrides variable', async () => {
    root = await mkdtemp(join(tmpdir(), 'bananaflow-models-'));
    await writeDrop(root, { 'a.jobs.json': { jobs: [{ prompt: 'x' }] } });
    const run = capture();
    expect(
      await main(['estimate', root, '--model', 'gemini-3-pro-imag'], OFFLINE_ENV, run.io),
    ).toBe(2);
    expect(run.err()).toContain('MODEL_UNKNOWN');
    expect(run.err()).toContain('Did you mean "gemini-3-pro-image"');
    expect(run.err()).toContain('BANANAFLOW_MODEL_OVERRIDES');
  });

  it('refuses a shut-down BANANAFLOW_MODEL before planning, naming the replacement', async () => {
    root = await mkdtemp(join(tmpdir(), 'bananaflow-models-'));
    await writeDrop(root, { 'a.jobs.json': { jobs: [{ prompt: 'x' }] } });
    const run = capture();
    const env = { ...OFFLINE_ENV, BANANAFLOW_MODEL: 'gemini-3-pro-image-preview' };
    expect(await main(['validate', root], env, run.io)).toBe(2);
    expect(run.err()).toMatch(/MODEL_RETIRED.*2026-06-25/);
    expect(run.err()).toContain('"gemini-3-pro-image"');
  });

  it('validate shows a shut-down model in a sidecar as a problem, and a deprecated one as a warning', async () => {
    root = await mkdtemp(join(tmpdir(), 'bananaflow-models-'));
    await writeDrop(root, {
      'a.jobs.json': {
        jobs: [
          { prompt: 'x', model: 'gemini-3.1-flash-image-preview' },
          { prompt: 'y', model: 'gemini-2.5-flash-image' },
        ],
      },
    });
    const run = capture();
    expect(await main(['validate', root], OFFLINE_ENV, run.io)).toBe(1);
    expect(run.out()).toMatch(
      /MODEL_RETIRED: .*gemini-3\.1-flash-image-preview.*shut down on 2026-06-25/,
    );
    expect(run.out()).toMatch(
      /! .*gemini-2\.5-flash-image is deprecated.*existing projects only.*gemini-nano-banana-2\.1/,
    );
  });

  it('a malformed BANANAFLOW_MODEL_OVERRIDES row is a startup error naming the row and field', async () => {
    const run = capture();
    const env = {
      ...OFFLINE_ENV,
      BANANAFLOW_MODEL_OVERRIDES:
        '[{"id":"new-image","pricesPerMillionTokens":{"inputText":"cheap"}}]',
    };
    expect(await main(['models'], env, run.io)).toBe(2);
    expect(run.err()).toMatch(
      /CONFIG_INVALID.*row \[0\] \(id "new-image"\), field "pricesPerMillionTokens/,
    );
  });
});

describe('the example drop', () => {
  it('uses at least three current (GA) models, each priced in the estimate', async () => {
    const run = capture();
    expect(await main(['estimate', 'examples/drop', '--json'], OFFLINE_ENV, run.io)).toBe(0);
    const { jobs } = JSON.parse(run.out()) as {
      jobs: Array<{ model: string; estimatedCostUsd: number }>;
    };
    const models = new Set(jobs.map((j) => j.model));
    expect(models.size).toBeGreaterThanOrEqual(3);
    for (const id of models) expect(catalog.resolve(id).lifecycle.status).toBe('ga');
    expect(models).toContain(catalog.defaultModel.id);
    for (const job of jobs) expect(job.estimatedCostUsd).toBeGreaterThan(0);
  });
});
