import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barLine } from '../../infra/cli/progress-bar.ts';
import { hasScript, runCli, runCliInTerminal } from '../support/cli-process.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** Issue 16 point 4: the bar on a real terminal, plain lines otherwise. */

let root: string;
let drop: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-bar-'));
  drop = join(root, 'drop');
  const files: Record<string, Buffer | object> = {};
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    files[`${name}.png`] = await tinyImage();
    files[`${name}.png.edit.json`] = { prompt: `edit ${name}` };
  }
  await writeDrop(drop, files);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the progress bar', () => {
  it.skipIf(!hasScript())(
    'redraws in place within a 60-column terminal, with done/total, rate, ETA and cost',
    async () => {
      const result = await runCliInTerminal(
        [
          'run',
          drop,
          '--out',
          join(root, 'out-tty'),
          '--concurrency',
          '1',
          '--stand-in-latency-ms',
          '250',
        ],
        { columns: 60 },
      );
      expect(result.code, result.stdout).toBe(0);
      // Every redraw starts with \r; none may reach the last column (that wraps a new line).
      const draws = result.stdout
        .split(/\r\n|\n/)
        .filter((line) => line.includes('ETA'))
        .flatMap((line) => line.split('\r'))
        .map((d) => stripVTControlCharacters(d))
        .filter((d) => d.includes('ETA'));
      expect(draws.length).toBeGreaterThan(1);
      for (const draw of draws) expect(draw.length, draw).toBeLessThan(60);
      // All redraws share one terminal line.
      expect(result.stdout.split(/\r?\n/).filter((l) => l.includes('ETA'))).toHaveLength(1);
      const last = draws.at(-1) ?? '';
      expect(last).toMatch(/5\/5/);
      expect(last).toMatch(/\$\d+\.\d{4}/);
      expect(last).toMatch(/ETA 0s/);
    },
  );

  it('prints one plain line per job when stderr is not a terminal', async () => {
    const result = await runCli(['run', drop, '--out', join(root, 'out-pipe')]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('\r');
    const lines = result.stderr.split('\n').filter((l) => /^\[\d\/5\]/.test(l));
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(5);
  });

  it('drops the least useful fields first as the width shrinks, never exceeding it', () => {
    const p = { total: 120, done: 45, succeeded: 44, failed: 1, costUsd: 1.7415 };
    const timing = { elapsedMs: 90_000, ran: 45 };
    for (const columns of [20, 40, 60, 80, 120]) {
      expect(barLine(p, timing, columns).length).toBeLessThan(columns);
    }
    expect(barLine(p, timing, 120)).toMatch(/45\/120 .*\$1\.7415 .*ETA 2m30s .*30\.0\/min .*1m30s/);
    expect(barLine(p, timing, 60)).toContain('45/120');
  });
});
