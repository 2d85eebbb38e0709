import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

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

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-cli-tiers-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('bananaflow --tier', () => {
  it('estimates at the tier and shows the standard and batch prices too', async () => {
    await writeDrop(root, { 'a.jobs.json': { jobs: [{ prompt: 'x', variants: 2 }] } });
    const standard = capture();
    expect(await main(['estimate', root, '--json'], OFFLINE_ENV, standard.io)).toBe(0);
    const flex = capture();
    expect(await main(['estimate', root, '--json', '--tier', 'flex'], OFFLINE_ENV, flex.io)).toBe(
      0,
    );
    const s = JSON.parse(standard.out());
    const f = JSON.parse(flex.out());
    expect(f.estimatedCostUsd).toBeCloseTo(s.estimatedCostUsd / 2, 9);
    expect(f.standardCostUsd).toBeCloseTo(s.estimatedCostUsd, 9);
    expect(s.batchCostUsd).toBeCloseTo(s.estimatedCostUsd / 2, 9);
    const text = capture();
    expect(await main(['estimate', root, '--tier', 'batch'], OFFLINE_ENV, text.io)).toBe(0);
    expect(text.out()).toMatch(
      /estimated \$\d+\.\d{4} at their tiers: \$\d+\.\d{4} at standard prices/,
    );
    expect(text.out()).toMatch(/batch\s+0\s+1/);
  });

  it('refuses an unknown tier, naming the allowed ones (exit 2)', async () => {
    const run = capture();
    expect(await main(['estimate', root, '--tier', 'cheap'], OFFLINE_ENV, run.io)).toBe(2);
    expect(run.err()).toContain('--tier "cheap" is not a tier');
    expect(run.err()).toContain('standard, batch, flex');
  });

  it('runs flex jobs with records that carry the tier and the cost at flex prices', async () => {
    const drop = join(root, 'drop');
    await writeDrop(drop, {
      'cat.png': await tinyImage('png'),
      'cat.png.edit.json': { prompt: 'make it blue', tier: 'flex' },
      'dog.png': await tinyImage('png'),
      'dog.png.edit.json': { prompt: 'make it blue' },
    });
    const run = capture();
    expect(await main(['run', drop, '--json'], OFFLINE_ENV, run.io)).toBe(0);
    const summary = JSON.parse(run.out());
    const records = await Promise.all(
      summary.rows.map(
        async (row: { record: string }) => JSON.parse(await readFile(row.record, 'utf8')) as Record,
      ),
    );
    type Record = { tier?: string; cost: { total: number; tier?: string }; prompt: string };
    const flex = records.find((r) => r.tier === 'flex');
    const standard = records.find((r) => r.tier === undefined);
    expect(flex?.cost.tier).toBe('flex');
    // Same request, same usage: the flex record costs half.
    expect(flex?.cost.total).toBeCloseTo((standard?.cost.total ?? 0) / 2, 9);
  });
});
