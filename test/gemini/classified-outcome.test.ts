import { describe, expect, it } from 'vitest';
import { ZERO_USAGE } from '../../shared/catalog/cost.ts';
import {
  answeredOutcome,
  errorFields,
  turnFields,
} from '../../shared/gemini/classified-outcome.ts';

const base = { usage: { ...ZERO_USAGE }, turns: [], modelMs: 12 };
const image = { mimeType: 'image/png', bytes: Buffer.from([1, 2, 3]) };

describe('classifications as outcome fields', () => {
  it('sets only the fields that have a value', () => {
    expect(errorFields({ kind: 'transient', message: 'down' })).toEqual({
      kind: 'transient',
      message: 'down',
    });
    expect(errorFields({ kind: 'quota', message: 'slow', status: 429, retryAfterMs: 0 })).toEqual({
      kind: 'quota',
      message: 'slow',
      status: 429,
      retryAfterMs: 0,
    });
    expect(turnFields({ kind: 'image', image })).toEqual({});
    expect(turnFields({ kind: 'image', image, finishReason: 'STOP', text: '' })).toEqual({
      finishReason: 'STOP',
      text: '',
    });
  });

  it('an image answer keeps its image, version and text', () => {
    const outcome = answeredOutcome(
      { kind: 'image', image, text: 'here', finishReason: 'STOP' },
      { ...base, modelVersion: 'v1' },
      'Turn 2 of 2: ',
    );
    expect(outcome).toEqual({
      ...base,
      kind: 'image',
      image,
      modelVersion: 'v1',
      text: 'here',
      finishReason: 'STOP',
    });
  });

  it('a failed answer has the note before its message and its block detail', () => {
    const outcome = answeredOutcome(
      { kind: 'blocked-prompt', message: 'blocked', blockReason: 'SAFETY' },
      { ...base, modelVersion: undefined },
      'Turn 1 of 2: ',
    );
    expect(outcome).toEqual({
      ...base,
      kind: 'blocked-prompt',
      message: 'Turn 1 of 2: blocked',
      blockReason: 'SAFETY',
    });
    expect(outcome).not.toHaveProperty('modelVersion');
  });
});
