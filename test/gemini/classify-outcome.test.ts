import { ApiError } from '@google/genai';
import { describe, expect, it } from 'vitest';
import {
  classifyError,
  classifyResponse,
  parseDuration,
  retryAfterMsOf,
} from '../../shared/gemini/classify-outcome.ts';

const png = Buffer.from('not really a png but bytes').toString('base64');

describe('classifyResponse', () => {
  it.each([
    [
      'an image after a thought image',
      [
        { thought: true, inlineData: { mimeType: 'image/png', data: 'AAAA' } },
        { inlineData: { mimeType: 'image/png', data: png } },
      ],
      'STOP',
      'image',
    ],
    [
      'only a thought image',
      [{ thought: true, inlineData: { mimeType: 'image/png', data: png } }],
      'STOP',
      'no-image',
    ],
    ['text only (a refusal)', [{ text: 'I cannot do that.' }], 'STOP', 'text-only'],
    ['thought text only', [{ thought: true, text: 'thinking...' }], 'STOP', 'no-image'],
    ['NO_IMAGE', [], 'NO_IMAGE', 'no-image'],
    ['MAX_TOKENS', [], 'MAX_TOKENS', 'no-image'],
    ['IMAGE_SAFETY', [], 'IMAGE_SAFETY', 'blocked-output'],
    ['IMAGE_PROHIBITED_CONTENT', [], 'IMAGE_PROHIBITED_CONTENT', 'blocked-output'],
    ['SAFETY with text', [{ text: 'filtered' }], 'SAFETY', 'blocked-output'],
    ['RECITATION', [], 'RECITATION', 'blocked-output'],
    [
      'an empty inline image',
      [{ inlineData: { mimeType: 'image/png', data: '' } }],
      'STOP',
      'no-image',
    ],
  ])('%s', (_name, parts, finishReason, kind) => {
    const result = classifyResponse({ candidates: [{ content: { parts }, finishReason }] });
    expect(result.kind).toBe(kind);
    if (kind !== 'image') expect(result.finishReason).toBe(finishReason);
  });

  it('takes the first non-thought image and its bytes', () => {
    const result = classifyResponse({
      candidates: [
        {
          content: {
            parts: [
              { inlineData: { mimeType: 'image/jpeg', data: png } },
              { inlineData: { mimeType: 'image/png', data: 'QUJD' } },
            ],
          },
        },
      ],
    });
    expect(result).toMatchObject({ kind: 'image', image: { mimeType: 'image/jpeg' } });
    if (result.kind === 'image')
      expect(result.image.bytes.toString()).toBe('not really a png but bytes');
  });

  it('sees a blocked prompt, and no candidates at all as no image', () => {
    expect(
      classifyResponse({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } }),
    ).toMatchObject({
      kind: 'blocked-prompt',
      blockReason: 'PROHIBITED_CONTENT',
      message: expect.stringContaining('PROHIBITED_CONTENT'),
    });
    expect(classifyResponse({})).toMatchObject({
      kind: 'no-image',
      message: expect.stringContaining('no candidates'),
    });
  });
});

describe('retry delays', () => {
  it.each([
    ['19s', 19_000],
    ['1.5s', 1500],
    ['0.25s', 250],
    [{ seconds: '3', nanos: 500_000_000 }, 3500],
    ['soon', undefined],
    [undefined, undefined],
  ])('parseDuration(%j) = %j', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });

  it('falls back to "Please retry in ..." in the message', () => {
    expect(retryAfterMsOf([], 'Quota exceeded. Please retry in 19.972s.')).toBe(19_972);
    expect(retryAfterMsOf(undefined, 'no hint')).toBeUndefined();
  });
});

describe('classifyError', () => {
  const apiError = (status: number, body: unknown) =>
    new ApiError({ status, message: JSON.stringify(body) });

  it.each([
    [408, 'transient'],
    [429, 'quota'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
    [504, 'transient'],
    [400, 'permanent'],
    [401, 'permanent'],
    [403, 'permanent'],
    [404, 'permanent'],
  ])('status %i is %s', (status, kind) => {
    expect(
      classifyError(apiError(status, { error: { code: status, message: 'm', status: 'S' } })),
    ).toMatchObject({
      kind,
      status,
    });
  });

  it('reads RetryInfo from a 429 body', () => {
    const error = apiError(429, {
      error: {
        code: 429,
        message: 'quota',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '19s' }],
      },
    });
    expect(classifyError(error)).toMatchObject({ kind: 'quota', retryAfterMs: 19_000 });
  });

  it('treats aborts as timeouts and unreadable bodies and network failures as transient', () => {
    expect(classifyError(new DOMException('This operation was aborted', 'AbortError')).kind).toBe(
      'timeout',
    );
    expect(classifyError(new SyntaxError('Unexpected end of JSON input')).kind).toBe('transient');
    expect(
      classifyError(new TypeError('fetch failed', { cause: new Error('ECONNRESET') })),
    ).toMatchObject({
      kind: 'transient',
      message: expect.stringContaining('ECONNRESET'),
    });
  });

  it('redacts secrets', () => {
    const error = apiError(400, {
      error: { code: 400, message: 'key sk-123 invalid', status: 'INVALID_ARGUMENT' },
    });
    expect(classifyError(error, ['sk-123']).message).toBe(
      'Gemini API answered 400 INVALID_ARGUMENT: key [redacted] invalid',
    );
  });
});
