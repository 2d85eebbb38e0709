import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** Issue 16 point 2: the estimate and --max-usd cover only work still to do (real process). */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-todo-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('work still to do', () => {
  it('a finished drop passes any cap; a grown drop is estimated and capped on its new jobs only', async () => {
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    await writeDrop(drop, {
      'a.png': await tinyImage(),
      'b.png': await tinyImage(),
      '_edit.json': { prompt: 'warm light' },
    });
    const first = await runCli(['run', drop, '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(
      /Planned 2 jobs from 1 sidecar: 0 done, 2 to run, estimated \$0\.\d{4}/,
    );

    const again = await runCli(['run', drop, '--out', out, '--max-usd', '0.0001']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('2 done, 0 to run, estimated $0.0000');
    expect(again.stderr).not.toContain('Refused');

    // One more image: only its job counts, so a cap between one and three jobs lets it run.
    await writeDrop(drop, { 'c.png': await tinyImage() });
    const grown = await runCli(['run', drop, '--out', out, '--max-usd', '0.06', '--json']);
    expect(grown.code, grown.stderr).toBe(0);
    const summary = JSON.parse(grown.stdout);
    expect(summary).toMatchObject({ jobs: 3, succeeded: 1, alreadyDone: 2, failed: 0 });
    expect(summary.refused).toBeUndefined();
  });
});
