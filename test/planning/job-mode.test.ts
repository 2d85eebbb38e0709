import { describe, expect, it } from 'vitest';
import { deriveMode, modeProblem } from '../../shared/planning/job-mode.ts';
import type { JobSpec } from '../../shared/planning/plan-context.ts';
import type { Mode } from '../../shared/sidecar/sidecar-schema.ts';

function spec(shape: {
  inputs?: number;
  references?: number;
  turns?: number;
  frames?: boolean;
}): JobSpec {
  const names = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => `${prefix}${i}.png`);
  return {
    jobIndex: 0,
    at: '',
    inputs: names(shape.inputs ?? 0, 'in'),
    references: names(shape.references ?? 0, 'ref'),
    turns: Array.from({ length: shape.turns ?? 1 }, (_, i) => `step ${i}`),
    variants: 1,
    output: {},
    tags: {},
    folder: '',
    stem: 'job',
    label: '',
    ...(shape.frames ? { frames: ['a', 'b'] } : {}),
  };
}

describe('a job mode derived from its shape', () => {
  it.each<[string, Parameters<typeof spec>[0], Mode]>([
    ['frames', { inputs: 1, frames: true }, 'keyframes'],
    ['no images', {}, 'text-to-image'],
    ['several steps', { inputs: 1, turns: 2 }, 'refinement'],
    ['an input and a reference', { inputs: 1, references: 1 }, 'style-transfer'],
    ['two inputs', { inputs: 2 }, 'composition'],
    ['references only', { references: 1 }, 'character-series'],
    ['one input', { inputs: 1 }, 'edit'],
  ])('%s: %s', (_, shape, mode) => {
    expect(deriveMode(spec(shape))).toBe(mode);
  });

  it('fits every mode it derives', () => {
    for (const shape of [
      {},
      { inputs: 1 },
      { inputs: 2 },
      { references: 1 },
      { inputs: 1, turns: 3 },
    ]) {
      const s = spec(shape);
      expect(modeProblem(s, deriveMode(s))).toBeUndefined();
    }
  });
});

describe('a job against the mode its sidecar names', () => {
  it.each<[Mode, Parameters<typeof spec>[0], string]>([
    ['text-to-image', { inputs: 1 }, 'takes no input images'],
    ['edit', {}, 'needs an input image'],
    ['composition', { inputs: 1 }, 'needs at least two images'],
    ['style-transfer', { inputs: 2 }, 'at least one style reference'],
    ['refinement', { inputs: 1 }, 'needs at least two "steps"'],
    ['character-series', { inputs: 1 }, 'needs the character in "references"'],
    ['keyframes', { inputs: 1 }, 'needs "frames"'],
    ['edit', { inputs: 1, frames: true }, 'does not take "frames"'],
  ])('%s with %o: %s', (mode, shape, why) => {
    expect(modeProblem(spec(shape), mode)).toContain(why);
  });
});
