import type { Mode } from '../sidecar/sidecar-schema.ts';
import type { JobSpec } from './plan-context.ts';

/** A job's mode: derived from what it sends when the sidecar names none, else checked against it. */

interface Shape {
  inputs: number;
  references: number;
  images: number;
  turns: number;
  frames: boolean;
}

function shapeOf(spec: JobSpec): Shape {
  const inputs = spec.inputs.length;
  const references = spec.references.length;
  return {
    inputs,
    references,
    images: inputs + references,
    turns: spec.turns.length,
    frames: spec.frames !== undefined,
  };
}

/** What each mode needs: `unmet` is true when the job lacks it, `why` says what is missing. */
const MODE_NEEDS: Record<Mode, { unmet: (s: Shape) => boolean; why: string }> = {
  'text-to-image': {
    unmet: (s) => s.images > 0,
    why: 'takes no input images; remove inputs and references',
  },
  edit: { unmet: (s) => s.images < 1, why: 'needs an input image' },
  composition: {
    unmet: (s) => s.images < 2,
    why: 'needs at least two images (inputs plus references)',
  },
  'style-transfer': {
    unmet: (s) => s.inputs < 1 || s.references < 1,
    why: 'needs an input image and at least one style reference',
  },
  refinement: { unmet: (s) => s.turns < 2, why: 'needs at least two "steps"' },
  'character-series': {
    unmet: (s) => s.references < 1,
    why: 'needs the character in "references"',
  },
  keyframes: { unmet: (s) => !s.frames, why: 'needs "frames" (one prompt per frame)' },
};

/** The mode a job's shape implies, most specific first. */
export function deriveMode(spec: JobSpec): Mode {
  const s = shapeOf(spec);
  if (s.frames) return 'keyframes';
  if (s.images === 0) return 'text-to-image';
  if (s.turns > 1) return 'refinement';
  if (s.inputs >= 1 && s.references >= 1) return 'style-transfer';
  if (s.images > 1) return 'composition';
  return s.references > 0 ? 'character-series' : 'edit';
}

/** Why the job does not fit the mode its sidecar names, or undefined when it does. */
export function modeProblem(spec: JobSpec, mode: Mode): string | undefined {
  if (spec.frames && mode !== 'keyframes') return `does not take "frames" (use mode "keyframes")`;
  const need = MODE_NEEDS[mode];
  return need.unmet(shapeOf(spec)) ? need.why : undefined;
}
