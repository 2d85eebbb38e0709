import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasScript, runCli, runCliInTerminal } from '../support/cli-process.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** Issue 16 point 3: every run ends by naming its failures (terminal or not), in local words. */

let root: string;
let drop: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-failures-'));
  drop = join(root, 'drop');
  await writeDrop(drop, {
    'blocked.png': await tinyImage(),
    'flaky.png': await tinyImage(),
    'fine.png': await tinyImage(),
    'stray.png': await tinyImage(),
    'blocked.png.edit.json': { prompt: 'warm [standin:outcome=blocked-prompt]' },
    'flaky.png.edit.json': { prompt: 'warm [standin:always=503]' },
    'fine.png.edit.json': { prompt: 'warm light' },
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The failure lines of a run's output: input → code → cause → record, then its fix. */
function failureOf(text: string, input: string) {
  const lines = stripVTControlCharacters(text).split(/\r?\n/);
  const at = lines.findIndex((l) => l.trimStart().startsWith(`${input} → `));
  const [name, code, cause, record] = (lines[at] ?? '').trim().split(' → ');
  return { name, code, cause, record, fix: lines[at + 1]?.trim() ?? '' };
}

async function expectNamedFailures(text: string, out: string) {
  expect(text).toContain('Failed 2 jobs:');
  const blocked = failureOf(text, 'blocked.png');
  expect(blocked.code).toBe('MODEL_BLOCKED_PROMPT');
  expect(blocked.cause).toMatch(/blocked the prompt/);
  expect(blocked.record).toMatch(
    new RegExp(`^${out}/blocked\\.edit\\.[0-9a-f]{8}\\.error\\.json$`),
  );
  const record = JSON.parse(await readFile(blocked.record ?? '', 'utf8'));
  expect(record.error.code).toBe('MODEL_BLOCKED_PROMPT');
  expect(blocked.fix).toMatch(/^fix: Rephrase the prompt/);

  // Dead-lettered: the underlying error is named, and the fix speaks of the local run.
  const flaky = failureOf(text, 'flaky.png');
  expect(flaky.code).toBe('DEAD_LETTERED');
  expect(flaky.cause).toMatch(/the last failure was MODEL_TRANSIENT: .*503/);
  expect(flaky.fix).toContain('bananaflow run');
  expect(flaky.fix).not.toContain('upload');
  const dead = JSON.parse(await readFile(flaky.record ?? '', 'utf8'));
  expect(dead.error.fix).toContain('bananaflow run');
  expect(dead.error.fix).not.toContain('upload the sidecar');

  expect(text).toMatch(/1 image no sidecar covers \(not run\):\r?\n {2}stray\.png/);
}

describe('named failures at the end of a run', () => {
  it('lists each failed job, the uncovered images, when output is not a terminal', async () => {
    const out = join(root, 'out-pipe');
    const result = await runCli(['run', drop, '--out', out, '--max-attempts', '2']);
    expect(result.code, result.stderr).toBe(1);
    await expectNamedFailures(result.stdout, out);
    // The report's line is in the singular where there is one (one image made).
    expect(result.stdout).toMatch(/3 jobs, 1 image, 2 failed/);
    // Running again names the failures again (the permanent one from its record).
    const again = await runCli(['run', drop, '--out', out, '--max-attempts', '2']);
    expect(again.code).toBe(1);
    expect(failureOf(again.stdout, 'blocked.png').code).toBe('MODEL_BLOCKED_PROMPT (earlier run)');
    expect(failureOf(again.stdout, 'blocked.png').cause).toMatch(/blocked the prompt/);
  });

  it.skipIf(!hasScript())('lists them the same way on a terminal', async () => {
    const out = join(root, 'out-tty');
    const result = await runCliInTerminal(['run', drop, '--out', out, '--max-attempts', '2'], {
      columns: 200,
    });
    expect(result.code, result.stdout).toBe(1);
    await expectNamedFailures(result.stdout, out);
  });
});
