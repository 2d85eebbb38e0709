import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * Issue 16 point 7: what a run leaves is easy to use: skipped renditions with their reason, a
 * latest.json pointer per job, a summary.csv with the job's identity and real cost, running
 * totals across runs; and `estimate` shows what is still to do, like `run`.
 */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-outputs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function parseCsv(text: string): Array<Record<string, string>> {
  const [header, ...lines] = text.trim().split('\n');
  const keys = (header ?? '').split(',');
  return lines.map((line) => {
    const cells = line.match(/("([^"]|"")*"|[^,]*)(,|$)/g) ?? [];
    const values = cells.map((c) => c.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"'));
    return Object.fromEntries(keys.map((k, i) => [k, values[i] ?? '']));
  });
}

async function lastSummary(out: string) {
  const runs = (await readdir(join(out, '_runs'))).filter((n) => n.startsWith('run-')).sort();
  const folder = join(out, '_runs', runs.at(-1) ?? '');
  return {
    json: JSON.parse(await readFile(join(folder, 'summary.json'), 'utf8')),
    csv: parseCsv(await readFile(join(folder, 'summary.csv'), 'utf8')),
  };
}

describe('the outputs of a run', () => {
  it('records skipped renditions, points latest.json at the current output, and keeps real costs and totals', async () => {
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    await writeDrop(drop, {
      'cat.png': await tinyImage(),
      'dog.png': await tinyImage(),
      // The stand-in answers about 1K wide: 256 is made, 2048 is not (never upscaled).
      'cat.png.edit.json': { prompt: 'warm light', output: { renditions: [256, 2048] } },
      'dog.png.edit.json': {
        prompt: 'cool light',
        model: 'gemini-3-pro-image',
        tags: { client: 'acme', shoot: 'spring' },
      },
    });
    const first = await runCli(['run', drop, '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    // Per-model lines, in the singular for one job.
    expect(first.stdout).toMatch(/gemini-3-pro-image\s+1 job, \$\d/);
    expect(first.stdout).not.toMatch(/\b1 jobs\b/);

    const one = await lastSummary(out);
    const cat = one.json.rows.find((r: { input: string }) => r.input === 'cat.png');
    const metadata = JSON.parse(await readFile(cat.record, 'utf8'));
    expect(
      metadata.output.renditions.map((r: { renditionWidth: number }) => r.renditionWidth),
    ).toEqual([256]);
    expect(metadata.output.skippedRenditions).toEqual([
      {
        renditionWidth: 2048,
        reason: expect.stringContaining(`${metadata.output.width} px wide`),
      },
    ]);

    expect(Object.keys(one.csv[0] ?? {})).toEqual(
      expect.arrayContaining([
        'input',
        'sidecar',
        'jobName',
        'tags',
        'errorMessage',
        'durationMs',
        'jobCostUsd',
      ]),
    );
    const dogRow = one.csv.find((r) => r.input === 'dog.png');
    expect(dogRow).toMatchObject({
      sidecar: 'dog.png.edit.json',
      jobName: 'dog.edit',
      tags: 'client=acme; shoot=spring',
      status: 'succeeded',
    });
    expect(Number(dogRow?.durationMs)).toBeGreaterThan(0);
    const dogCost = Number(dogRow?.costUsd);
    expect(dogCost).toBeGreaterThan(0);

    const latestBefore = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'));
    expect(latestBefore.jobs['cat.edit']).toMatchObject({
      status: 'succeeded',
      output: cat.output,
    });

    // Change cat's prompt: a new output beside the old one, and latest.json moves to it.
    await writeDrop(drop, {
      'cat.png.edit.json': { prompt: 'golden hour', output: { renditions: [256, 2048] } },
    });
    const second = await runCli(['run', drop, '--out', out]);
    expect(second.code, second.stderr).toBe(0);
    const two = await lastSummary(out);
    const newCat = two.json.rows.find((r: { input: string }) => r.input === 'cat.png');
    expect(newCat.output).not.toBe(cat.output);
    expect((await stat(cat.output)).isFile()).toBe(true);
    const latest = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8'));
    expect(latest.jobs['cat.edit']).toMatchObject({ jobId: newCat.jobId, output: newCat.output });
    expect(latest.jobs['dog.edit']).toMatchObject({
      status: 'already-done',
      output: dogRow?.output,
    });

    // The finished job shows its real cost (paid in the first run), not $0; this run paid nothing for it.
    const dogAgain = two.csv.find((r) => r.input === 'dog.png');
    expect(dogAgain).toMatchObject({ status: 'already-done', costUsd: '0' });
    expect(Number(dogAgain?.jobCostUsd)).toBeCloseTo(dogCost, 6);

    // Running totals across runs.
    expect(two.json.totals).toMatchObject({ runs: 2, succeeded: 3 });
    expect(two.json.totals.costUsd).toBeCloseTo(one.json.costUsd + two.json.costUsd, 6);
    expect(second.stdout).toMatch(/all runs into this folder\s+2 runs, \$\d+\.\d{4}/);
    const runs = parseCsv(await readFile(join(out, '_runs', 'runs.csv'), 'utf8'));
    expect(runs.map((r) => r.totalRuns)).toEqual(['1', '2']);
    expect(Number(runs[1]?.totalCostUsd)).toBeCloseTo(two.json.totals.costUsd, 6);
  });

  it('estimate counts what is still to do in the output folder, like run', async () => {
    const drop = join(root, 'drop-estimate');
    const out = join(root, 'out-estimate');
    await writeDrop(drop, {
      'a.png': await tinyImage(),
      'b.png': await tinyImage(),
      '_edit.json': { prompt: 'warm light' },
    });
    const before = await runCli(['estimate', drop, '--out', out]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/^2 jobs: 0 done, 2 to run, \$0\.\d{4} \(outputs in /m);
    expect((await runCli(['run', drop, '--out', out])).code).toBe(0);
    await writeDrop(drop, { 'c.png': await tinyImage() });
    const after = await runCli(['estimate', drop, '--out', out]);
    expect(after.stdout).toMatch(/^3 jobs: 2 done, 1 to run, \$0\.\d{4} /m);
    const json = JSON.parse((await runCli(['estimate', drop, '--out', out, '--json'])).stdout);
    expect(json.todo).toMatchObject({ done: 2, toRun: 1 });
    expect(json.todo.estimatedCostUsd).toBeGreaterThan(0);
  });
});
