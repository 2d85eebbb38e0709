import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import {
  capture,
  OFFLINE_ENV,
  runReportFixture,
  SCRIPT_PROMPT,
} from '../support/report-fixture.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-report-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('bananaflow report', () => {
  it('`run` writes the report at the end and prints its path; `report` writes it again elsewhere', async () => {
    const { out, stderr, summary } = await runReportFixture(root);
    const path = join(out, 'report.html');
    // --json keeps stdout for the summary: the report's path goes to stderr.
    expect(stderr).toContain(`Report: ${path}`);
    const page = await readFile(path, 'utf8');
    expect(page).not.toContain(SCRIPT_PROMPT);
    expect(page).toContain('Make it blue &lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    // No external asset: nothing is fetched from a network location.
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);

    const cli = capture();
    const other = join(root, 'reports', 'again.html');
    expect(await main(['report', out, '--out', other, '--json'], OFFLINE_ENV, cli.io)).toBe(0);
    const written = JSON.parse(cli.out());
    expect(written.report).toBe(other);
    expect(written.totals).toMatchObject({
      jobs: summary.jobs,
      images: summary.succeeded,
      failedByCode: summary.failedByCode,
    });
    expect((await stat(join(root, 'reports', 'again_files'))).isDirectory()).toBe(true);
  });

  it.each([
    [
      'a folder with no records',
      async () => {
        const dir = join(root, 'empty');
        await mkdir(join(dir, 'sub'), { recursive: true });
        await writeFile(join(dir, 'sub', 'photo.png'), 'x');
        return dir;
      },
      /holds no bananaflow records/,
    ],
    ['a folder that does not exist', async () => join(root, 'nowhere'), /is not a folder/],
  ])('%s: a clear message, exit 2', async (_, target, message) => {
    const cli = capture();
    expect(await main(['report', await target()], OFFLINE_ENV, cli.io)).toBe(2);
    expect(cli.err()).toMatch(message);
    expect(cli.err()).toContain('fix:');
  });
});
