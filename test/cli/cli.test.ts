import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** Environment without Gemini credentials: the CLI must use the offline stand-in. */
const OFFLINE_ENV = { PATH: process.env.PATH, LOG_LEVEL: 'error' };

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: { write: (t: string) => out.push(t) }, err: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(dir, name)));
    else files.push(name);
  }
  return files.sort();
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-cli-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('bananaflow run (embedded runner, offline stand-in)', () => {
  it('processes a drop with good and bad input: outputs, error records, a summary, exit 1; a rerun pays nothing and still reports the failures', async () => {
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    await writeDrop(drop, {
      'cat.png': await tinyImage('png'),
      'cat.png.edit.json': { prompt: 'make it blue', output: { format: 'webp', renditions: [32] } },
      'shots/_edit.json': { prompt: 'studio light', variants: 2 },
      'shots/a.jpg': await tinyImage('jpeg'),
      'shots/fake.jpg': 'not an image at all',
      'poster.jobs.json': {
        jobs: [{ name: 'poster', prompt: 'a banana poster', aspectRatio: '2:3' }],
      },
      'broken.png.edit.json': '{ "prompt": ',
      'broken.png': await tinyImage('png'),
      'typo.png.edit.json': { prompt: 'x', colour: 'red' },
      'typo.png': await tinyImage('png'),
      'escape.jobs.json': { jobs: [{ prompt: 'x', inputs: ['../../etc/passwd.png'] }] },
      'missing.jobs.json': { jobs: [{ prompt: 'x', inputs: ['nowhere.png'] }] },
      'README.txt': 'notes',
    });
    const run = capture();
    const code = await main(['run', drop, '--out', out, '--json'], OFFLINE_ENV, run.io);
    expect(code).toBe(1);
    expect(run.err()).toContain('OFFLINE STAND-IN');
    const summary = JSON.parse(run.out());
    // cat (1) + shots a, fake × 2 variants (4) + poster (1)
    expect(summary).toMatchObject({
      jobs: 6,
      succeeded: 4,
      failed: 2,
      failedByCode: { INPUT_NOT_IMAGE: 2 },
    });
    expect(
      summary.sidecarProblems
        .map((p: { file: string; code: string }) => `${p.file}:${p.code}`)
        .sort(),
    ).toEqual([
      'broken.png.edit.json:SIDECAR_INVALID_JSON',
      'escape.jobs.json:INPUT_PATH_OUTSIDE_DROP',
      'missing.jobs.json:INPUT_MISSING',
      'typo.png.edit.json:SIDECAR_INVALID',
    ]);
    expect(summary.costUsd).toBeGreaterThan(0);

    const files = await listFiles(out);
    const visible = files.filter(
      (f) =>
        !f.startsWith('_bananaflow/') && !f.startsWith('_runs/') && !f.includes('.bananaflow-meta'),
    );
    expect(visible).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^cat\.edit\.[a-f0-9]{8}\.webp$/),
        expect.stringMatching(/^cat\.edit\.[a-f0-9]{8}\.webp\.json$/),
        expect.stringMatching(/^cat\.edit\.[a-f0-9]{8}\.w32\.webp$/),
        expect.stringMatching(/^shots\/a\.edit\.v1\.[a-f0-9]{8}\.png$/),
        expect.stringMatching(/^shots\/a\.edit\.v2\.[a-f0-9]{8}\.png$/),
        expect.stringMatching(/^shots\/fake\.edit\.v1\.[a-f0-9]{8}\.error\.json$/),
        expect.stringMatching(/^poster\/poster\.[a-f0-9]{8}\.png$/),
        'broken.png.edit.error.json',
        'typo.png.edit.error.json',
      ]),
    );
    const typo = JSON.parse(await readFile(join(out, 'typo.png.edit.error.json'), 'utf8'));
    expect(typo.error).toMatchObject({
      code: 'SIDECAR_INVALID',
      message: expect.stringContaining('"colour"'),
    });
    // The run's summary (JSON, CSV), the runs' totals (runs.csv, totals.json), latest.json.
    expect(files.filter((f) => f.startsWith('_runs/run-')).map((f) => f.split('.').pop())).toEqual([
      'csv',
      'json',
    ]);
    expect(files).toEqual(
      expect.arrayContaining(['_runs/runs.csv', '_runs/totals.json', 'latest.json']),
    );
    // Nothing was written into the drop.
    expect(
      (await listFiles(drop)).some(
        (f) => f.includes('.edit.') && f.endsWith('.png') && f !== 'broken.png',
      ),
    ).toBe(false);

    // A rerun pays nothing, and still reports the two failures (exit 1) until the drop changes.
    const rerun = capture();
    expect(await main(['run', drop, '--out', out, '--json'], OFFLINE_ENV, rerun.io)).toBe(1);
    const second = JSON.parse(rerun.out());
    expect(second).toMatchObject({
      jobs: 6,
      succeeded: 0,
      alreadyDone: 4,
      failed: 2,
      failedByCode: { INPUT_NOT_IMAGE: 2 },
      costUsd: 0,
    });
    expect(second.rows.filter((r: { fromEarlierRun?: boolean }) => r.fromEarlierRun)).toHaveLength(
      2,
    );
  });

  it('refuses to start when the estimate exceeds --max-usd, spending nothing', async () => {
    const drop = join(root, 'drop');
    await writeDrop(drop, { 'a.jobs.json': { jobs: [{ prompt: 'x', variants: 4 }] } });
    const run = capture();
    const code = await main(
      ['run', drop, '--out', join(root, 'out'), '--max-usd', '0.01'],
      OFFLINE_ENV,
      run.io,
    );
    expect(code).toBe(2);
    expect(run.err()).toMatch(/Refused to run: estimated \$0\.\d+ exceeds --max-usd \$0\.01/);
  });

  it('refuses an output folder inside the drop', async () => {
    const run = capture();
    const drop = join(root, 'drop');
    await writeDrop(drop, { 'a.jobs.json': { jobs: [{ prompt: 'x' }] } });
    expect(await main(['run', drop, '--out', join(drop, 'out')], OFFLINE_ENV, run.io)).toBe(2);
    expect(run.err()).toContain('overlap');
  });
});

describe('bananaflow validate and estimate', () => {
  it('explains every problem of a sidecar', async () => {
    await writeDrop(root, {
      'x.png.edit.json': { prompt: '', variants: 0, colour: 'red' },
      'x.png': await tinyImage(),
    });
    const run = capture();
    expect(await main(['validate', join(root, 'x.png.edit.json')], OFFLINE_ENV, run.io)).toBe(1);
    for (const field of ['"prompt"', '"variants"', '"colour"']) expect(run.out()).toContain(field);
  });

  it('fails validation on input files the worker would refuse, naming each', async () => {
    await writeDrop(root, {
      'empty.jpg': Buffer.alloc(0),
      'empty.jpg.edit.json': { prompt: 'x' },
      'text.jpg': 'this is not a JPEG',
      'text.jpg.edit.json': { prompt: 'x' },
      'good.png': await tinyImage(),
      'good.png.edit.json': { prompt: 'x', references: ['empty.jpg'] },
      'fine.png': await tinyImage(),
      'fine.png.edit.json': { prompt: 'x' },
    });
    const run = capture();
    expect(await main(['validate', root, '--json'], OFFLINE_ENV, run.io)).toBe(1);
    const report = JSON.parse(run.out());
    const bySidecar = Object.fromEntries(
      report.sidecars.map((s: { file: string; jobs: number; problems: { code: string }[] }) => [
        s.file,
        [s.jobs, s.problems.map((p) => p.code)],
      ]),
    );
    expect(bySidecar).toEqual({
      'empty.jpg.edit.json': [1, ['INPUT_EMPTY']],
      'text.jpg.edit.json': [1, ['INPUT_NOT_IMAGE']],
      'good.png.edit.json': [1, ['INPUT_EMPTY']],
      'fine.png.edit.json': [1, []],
    });
    // validate and run agree: the same jobs, the same estimate, the same failures.
    const run2 = capture();
    const out = join(root, '..', `${root.split('/').pop()}-out`);
    expect(await main(['run', root, '--out', out, '--json'], OFFLINE_ENV, run2.io)).toBe(1);
    const summary = JSON.parse(run2.out());
    await rm(out, { recursive: true, force: true });
    expect(summary.jobs).toBe(report.jobs);
    expect(summary.estimatedCostUsd).toBeCloseTo(report.estimatedCostUsd, 6);
    expect(summary.failedByCode).toEqual({ INPUT_EMPTY: 2, INPUT_NOT_IMAGE: 1 });
  });

  it('estimates a drop without calling any model', async () => {
    await writeDrop(root, {
      'a.jobs.json': {
        jobs: [
          { prompt: 'x', variants: 2 },
          { prompt: 'y', steps: undefined },
        ],
      },
    });
    const run = capture();
    expect(await main(['estimate', root, '--json'], OFFLINE_ENV, run.io)).toBe(0);
    const result = JSON.parse(run.out());
    expect(result.jobs).toHaveLength(3);
    // The catalog's default model (2.1): one 1K image plus its estimated thinking per job.
    const model = loadModelCatalog().defaultModel;
    const prices = model.pricesPerMillionTokens;
    const perJob =
      (model.outputImageTokens['1K'] ?? 0) * (prices.outputImage / 1e6) +
      model.estimateThoughtTokens * (prices.outputText / 1e6);
    expect(result.jobs[0].model).toBe('gemini-nano-banana-2.1');
    expect(result.estimatedCostUsd).toBeCloseTo(3 * perJob, 3);

    // --model sets the model of jobs that name none, for this run only.
    const pinned = capture();
    const args = ['estimate', root, '--json', '--model', 'gemini-2.5-flash-image'];
    expect(await main(args, OFFLINE_ENV, pinned.io)).toBe(0);
    const flash = JSON.parse(pinned.out());
    expect(flash.jobs[0].model).toBe('gemini-2.5-flash-image');
    expect(flash.estimatedCostUsd).toBeCloseTo(3 * 0.0387, 3);
    expect(flash.sidecars[0].warnings).toEqual([expect.stringContaining('deprecated')]);
  });

  it('answers a usage error with exit code 2', async () => {
    const run = capture();
    expect(await main(['frobnicate', root], OFFLINE_ENV, run.io)).toBe(2);
    expect(run.err()).toContain('unknown command');
  });
});
