import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** Issue 16 point 6: one `validate` shows every problem, through the real `bananaflow` process. */

let root: string;
let drop: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-validate-'));
  drop = join(root, 'drop');
  await writeDrop(drop, {
    'shoot/anna.jpg': await tinyImage('jpeg'),
    'shoot/anna.edit.json': { prompt: 'pop' },
    'shoot/bob.jpg': await tinyImage('jpeg'),
    'refs/style.png': await tinyImage(),
    'shoot/bob.jpg.edit.json': `{
  "promt": "warm light",
  "model": "gemini-9-image",
  "output": { "format": "jpg" },
  "references": ["../refs/style.png", "../refs/missing.png"]
}`,
    'shoot/carl.jpg': await tinyImage('jpeg'),
    'shoot/carl.jpg.edit.json': '{\n  "prompt": "x",\n  "variants": 2,\n}\n',
    'one.jobs.json': { jobs: [{ prompt: 'fine' }] },
  });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('bananaflow validate (real process)', () => {
  it('reports every problem in one pass: where, what was meant, structural and semantic together', async () => {
    const result = await runCli(['validate', drop]);
    expect(result.code).toBe(1);
    const out = result.stdout;
    expect(out).toContain('shoot/carl.jpg.edit.json:4:1: not valid JSON');
    expect(out).toContain(
      'shoot/bob.jpg.edit.json:2:3: unknown field "promt". Did you mean "prompt"?',
    );
    expect(out).toMatch(
      /bob\.jpg\.edit\.json:4:\d+: field "output\.format".*Did you mean "jpeg"\?/,
    );
    expect(out).toMatch(/MODEL_UNKNOWN: shoot\/bob\.jpg\.edit\.json:3:\d+/);
    expect(out).toMatch(
      /INPUT_MISSING: shoot\/bob\.jpg\.edit\.json:5:\d+: field "references\[1\]"/,
    );
    expect(out).not.toMatch(/references\[0\]/);
    expect(out).toContain('Did you mean "shoot/anna.jpg.edit.json"?');
  });

  it('writes counts in the singular when there is one', async () => {
    const result = await runCli(['validate', drop]);
    expect(result.stdout).toContain('✓ one.jobs.json: 1 job\n');
    expect(result.stdout).toContain('✗ shoot/carl.jpg.edit.json: 1 problem\n');
    expect(result.stdout).toMatch(/\n1 job, 6 problems; estimated/);
    expect(result.stdout).not.toMatch(/\b1 (jobs|problems|images)\b/);
  });

  it('validates one sidecar on its own with the same findings', async () => {
    const result = await runCli([
      'validate',
      join(drop, 'shoot/bob.jpg.edit.json'),
      '--drop',
      drop,
      '--json',
    ]);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(
      report.sidecars[0].problems.map((p: { details: { field: string } }) => p.details.field),
    ).toEqual(['promt', 'model', 'output.format', 'references[1]']);
  });
});
