import { describe, expect, it } from 'vitest';
import { ZERO_USAGE } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { outcomeError } from '../../shared/gemini/outcome-error.ts';
import type { ModelOutcome, ModelOutcomeKind } from '../../shared/ports/image-model.ts';

function failure(
  kind: Exclude<ModelOutcomeKind, 'image'>,
  extra: Partial<Extract<ModelOutcome, { message: string }>> & { blockReason?: string } = {},
) {
  return {
    kind,
    message: `the ${kind} message`,
    usage: { ...ZERO_USAGE },
    turns: [],
    modelMs: 5,
    ...extra,
  };
}

describe('outcomeError', () => {
  it.each<[string, ReturnType<typeof failure>, ErrorCode, boolean, RegExp]>([
    [
      'blocked prompt',
      failure('blocked-prompt', { blockReason: 'SAFETY' }),
      'MODEL_BLOCKED_PROMPT',
      false,
      /rephrase the prompt/i,
    ],
    [
      'blocked output',
      failure('blocked-output', { finishReason: 'IMAGE_SAFETY' }),
      'MODEL_BLOCKED_OUTPUT',
      false,
      /rephrase/i,
    ],
    [
      'text only',
      failure('text-only', { text: 'I will not.' }),
      'MODEL_TEXT_ONLY',
      false,
      /explicit edit instruction/,
    ],
    [
      'no image',
      failure('no-image', { finishReason: 'NO_IMAGE' }),
      'MODEL_NO_IMAGE',
      false,
      /ask for an image/,
    ],
    [
      'no image (tokens)',
      failure('no-image', { finishReason: 'MAX_TOKENS' }),
      'MODEL_NO_IMAGE',
      false,
      /shorten/,
    ],
    ['quota', failure('quota', { status: 429, retryAfterMs: 2000 }), 'MODEL_QUOTA', true, /quota/],
    ['transient', failure('transient', { status: 503 }), 'MODEL_TRANSIENT', true, /retried/],
    ['timeout', failure('timeout'), 'MODEL_TIMEOUT', true, /BANANAFLOW_MODEL_TIMEOUT_MS/],
    ['401', failure('permanent', { status: 401 }), 'MODEL_AUTH', false, /GEMINI_API_KEY/],
    ['403', failure('permanent', { status: 403 }), 'MODEL_AUTH', false, /GEMINI_API_KEY/],
    [
      '404',
      failure('permanent', { status: 404 }),
      'MODEL_NOT_FOUND',
      false,
      /retired.*gemini-nano-banana-2\.1.*bananaflow models --live/,
    ],
    [
      'per-day quota',
      failure('quota-daily', { status: 429, resetsAt: '2026-12-03T08:00:00.000Z' }),
      'MODEL_DAILY_QUOTA',
      false,
      /resets at 2026-12-03T08:00:00.000Z/,
    ],
    [
      'depleted credits',
      failure('billing', { status: 429 }),
      'MODEL_BILLING',
      false,
      /credits are depleted or its spend cap/,
    ],
    ['400', failure('permanent', { status: 400 }), 'MODEL_REJECTED', false, /imageSize/],
  ])('%s', (_name, outcome, code, retryable, fix) => {
    const error = outcomeError(outcome);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.fix).toMatch(fix);
    expect(error.message).toContain(outcome.message);
    expect(error.details).toMatchObject({ outcome: outcome.kind });
  });

  it('carries the retry delay of a quota error and the reasons in details', () => {
    expect(outcomeError(failure('quota', { status: 429, retryAfterMs: 2000 }))).toMatchObject({
      retryAfterMs: 2000,
      details: { status: 429 },
    });
    expect(outcomeError(failure('blocked-prompt', { blockReason: 'OTHER' })).details).toMatchObject(
      {
        blockReason: 'OTHER',
      },
    );
    expect(
      outcomeError(failure('blocked-output', { finishReason: 'IMAGE_SAFETY' })).details,
    ).toMatchObject({
      finishReason: 'IMAGE_SAFETY',
    });
    // Not retryable: a delay would be misleading.
    expect(
      outcomeError(failure('permanent', { status: 400, retryAfterMs: 5 })).retryAfterMs,
    ).toBeUndefined();
  });

  it("quotes the model's text in a text-only error", () => {
    expect(
      outcomeError(failure('text-only', { text: 'Please upload a clearer photo.' })).message,
    ).toContain('Please upload a clearer photo.');
  });

  it('is an internal error when called with an image', () => {
    const image: ModelOutcome = {
      kind: 'image',
      image: { mimeType: 'image/png', bytes: Buffer.from('x') },
      usage: { ...ZERO_USAGE },
      turns: [],
      modelMs: 1,
    };
    expect(outcomeError(image).code).toBe('INTERNAL');
  });

  it.each([
    ['gemini-3-pro-image-preview', 'gemini-3-pro-image'],
    ['gemini-3.1-flash-image', 'gemini-nano-banana-2.1'],
    ['gemini-nano-banana-2.1', 'gemini-nano-banana-2.1'],
  ])('a live 404 for %s names the live replacement %s, never a retired id', (model, to) => {
    const error = outcomeError(failure('permanent', { status: 404, model }));
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND', retryable: false });
    expect(error.fix).toContain(`"${to}"`);
    expect(error.fix).toContain('bananaflow models --live');
    const retired = loadModelCatalog()
      .models.filter((m) => m.lifecycle.status === 'shut-down')
      .map((m) => m.id);
    // The fix may name the requested id; what it suggests is never a retired one.
    for (const id of retired.filter((r) => r !== model)) expect(error.fix).not.toContain(id);
    expect(error.details.replacement).toBe(to);
  });
});
