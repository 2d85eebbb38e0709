import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** `bananaflow run` logs as LOG_LEVEL says: JSON lines on stderr, none without it. */

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-cli-log-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function runWith(env: NodeJS.ProcessEnv) {
  const drop = join(root, 'drop');
  await writeDrop(drop, { 'cat.png': await tinyImage(), 'cat.png.edit.json': { prompt: 'blue' } });
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: { write: (t: string) => out.push(t) },
    err: { write: (t: string) => err.push(t) },
  };
  const code = await main(['run', drop, '--out', join(root, 'out'), '--json'], env, io);
  const logLines = err
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { severity: string; message: string });
  return { code, out: out.join(''), logLines };
}

describe('the CLI log level', () => {
  it.each([
    ['info', ['INFO'], true],
    ['warn', [], false],
  ])('LOG_LEVEL=%s: JSON log lines on stderr at that level', async (level, severities, logsJob) => {
    const { code, out, logLines } = await runWith({ PATH: process.env.PATH, LOG_LEVEL: level });
    expect(code).toBe(0);
    expect(() => JSON.parse(out)).not.toThrow();
    expect(logLines.some((l) => l.message === 'job succeeded')).toBe(logsJob);
    for (const s of severities) expect(logLines.map((l) => l.severity)).toContain(s);
    if (level === 'warn') {
      expect(logLines.filter((l) => l.severity === 'INFO' || l.severity === 'DEBUG')).toEqual([]);
    }
  });

  it('without LOG_LEVEL the run prints no log lines (the summary speaks for it)', async () => {
    const { code, logLines } = await runWith({ PATH: process.env.PATH });
    expect(code).toBe(0);
    expect(logLines).toEqual([]);
  });
});
