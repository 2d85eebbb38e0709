import { afterEach, describe, expect, it } from 'vitest';
import { planDrop } from '../../shared/pipeline/plan-drop.ts';
import { parseSidecar } from '../../shared/sidecar/parse-sidecar.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/** Issue 16 point 6: one run of `validate` shows every problem, where it is and what was meant. */

const parse = (name: string, kind: 'image' | 'manifest', text: string) =>
  parseSidecar(name, kind, Buffer.from(text), 1 << 20);

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('one-pass sidecar validation', () => {
  it('gives the line and column of a JSON syntax error', () => {
    const result = parse('a.jpg.edit.json', 'image', '{\n  "prompt": "x",\n  "variants": 2,\n}\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatchObject({
      code: 'SIDECAR_INVALID_JSON',
      details: { line: 4, column: 1 },
    });
    expect(result.errors[0]?.message).toContain('a.jpg.edit.json:4:1');
  });

  it('suggests the field and the enum value that were meant, with their line', () => {
    const text = '{\n  "promt": "warm",\n  "output": { "format": "jpg" }\n}';
    const result = parse('a.jpg.edit.json', 'image', text);
    if (result.ok) throw new Error('accepted');
    const byField = Object.fromEntries(result.errors.map((e) => [e.details.field, e]));
    expect(byField.promt?.message).toMatch(/a\.jpg\.edit\.json:2:3: .*Did you mean "prompt"\?/);
    expect(byField['output.format']?.message).toContain('Did you mean "jpeg"?');
    expect(byField['output.format']?.details.line).toBe(3);
  });

  it('reports structural and semantic problems together, numbered one way', async () => {
    harness = await startHarness();
    await writeDrop(harness.dropDir, {
      'shoot/bob.jpg': await tinyImage('jpeg'),
      'refs/style.png': await tinyImage(),
      'shoot/bob.jpg.edit.json': {
        promt: 'warm light',
        model: 'gemini-9-image',
        references: ['../refs/style.png', '../refs/missing.png'],
      },
      'set.jobs.json': {
        jobs: [
          { prompt: 'fine', inputs: ['shoot/bob.jpg'] },
          { prompt: 'x', variants: 0, inputs: ['shoot/bbo.jpg'] },
        ],
      },
    });
    const plan = await planDrop(harness.planner, { runId: 'r' });
    const problems = (name: string) =>
      plan.sidecars
        .find((s) => s.sidecar === name)
        ?.problems.map((p) => `${p.code} ${p.details.field}`);
    // The typo (and so no prompt), plus the unknown model and the missing reference found in the same pass; the
    // reference that leaves the sidecar's folder but stays inside the drop is fine.
    expect(problems('shoot/bob.jpg.edit.json')).toEqual([
      'SIDECAR_INVALID promt',
      'MODEL_UNKNOWN model',
      'INPUT_MISSING references[1]',
      'SIDECAR_INVALID prompt',
    ]);
    expect(problems('set.jobs.json')).toEqual([
      'SIDECAR_INVALID jobs[1].variants',
      'INPUT_MISSING jobs[1].inputs[0]',
    ]);
    const missing = plan.sidecars
      .flatMap((s) => s.problems)
      .find((p) => p.code === 'INPUT_MISSING' && p.details.field === 'jobs[1].inputs[0]');
    expect(missing?.message).toContain('Did you mean "shoot/bob.jpg"?');
    // Never planned: a broken sidecar runs nothing, even its valid jobs.
    expect(plan.jobs).toEqual([]);
  });

  it('accepts ".." that stays inside the drop and refuses one that leaves it', async () => {
    harness = await startHarness();
    await writeDrop(harness.dropDir, {
      'refs/style.png': await tinyImage(),
      'shoot/a.png': await tinyImage(),
      'shoot/a.png.edit.json': { prompt: 'x', references: ['../refs/style.png'] },
      'shoot/b.png': await tinyImage(),
      'shoot/b.png.edit.json': { prompt: 'x', references: ['../../secret.png'] },
    });
    const plan = await planDrop(harness.planner, { runId: 'r' });
    expect(plan.jobs.map((j) => j.inputs.map((i) => i.name))).toEqual([
      ['shoot/a.png', 'refs/style.png'],
    ]);
    expect(plan.sidecars.flatMap((s) => s.problems.map((p) => p.code))).toEqual([
      'INPUT_PATH_OUTSIDE_DROP',
    ]);
  });

  it('says which sidecar name was meant for IMAGE.edit.json without the extension', async () => {
    harness = await startHarness();
    await writeDrop(harness.dropDir, {
      'anna.jpg': await tinyImage('jpeg'),
      'anna.edit.json': { prompt: 'x' },
    });
    const plan = await planDrop(harness.planner, { runId: 'r' });
    const [problem] = plan.sidecars.flatMap((s) => s.problems);
    expect(problem?.message).toContain('Did you mean "anna.jpg.edit.json"?');
    expect(plan.uncovered).toEqual(['anna.jpg']);
  });
});
