import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REFUSAL_TEXT } from '../../infra/gemini-stand-in/answers.ts';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import type { Usage } from '../../shared/catalog/cost.ts';
import type { ImageRequest, ModelOutcomeKind, TurnResult } from '../../shared/ports/image-model.ts';
import { sizeOf, tinyPng } from '../stand-in/helpers.ts';

const FLASH = 'gemini-2.5-flash-image';
const PRO = 'gemini-3-pro-image';
const API_KEY = 'test-key-0123456789';

let standIn: GeminiStandIn;
let input: Buffer;
beforeAll(async () => {
  standIn = await startGeminiStandIn();
  input = await tinyPng(32, 24); // one small tile: 258 tokens on 2.5 Flash
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  standIn.reset();
  standIn.setFaults(undefined);
});

function model() {
  return createGeminiImageModel({
    backend: { kind: 'gemini-api', apiKey: API_KEY, baseUrl: standIn.url },
    label: 'offline-stand-in',
  });
}

function request(overrides: Partial<ImageRequest> = {}): ImageRequest {
  return {
    model: FLASH,
    images: [{ mimeType: 'image/png', bytes: input }],
    turns: ['make it blue'],
    timeoutMs: 10_000,
    ...overrides,
  };
}

const textTokens = (...texts: string[]) => Math.ceil(texts.join('').length / 4);

function usage(partial: Partial<Usage>): Usage {
  const u = {
    inputTextTokens: 0,
    inputImageTokens: 0,
    outputTextTokens: 0,
    outputImageTokens: 0,
    thoughtsTokens: 0,
    ...partial,
  };
  return {
    ...u,
    totalTokens:
      u.inputTextTokens +
      u.inputImageTokens +
      u.outputTextTokens +
      u.outputImageTokens +
      u.thoughtsTokens,
  };
}

describe('image outcomes through the real SDK', () => {
  it('returns the edited image with usage, model version and one turn', async () => {
    const turns: Array<[TurnResult, number]> = [];
    const outcome = await model().generate(
      request({ aspectRatio: '16:9', onTurn: (turn, index) => void turns.push([turn, index]) }),
    );
    expect(outcome.kind).toBe('image');
    if (outcome.kind !== 'image') return;
    expect(outcome.image.mimeType).toBe('image/png');
    expect(await sizeOf(outcome.image.bytes)).toEqual([1344, 768]);
    const expected = usage({
      inputTextTokens: textTokens('make it blue'),
      inputImageTokens: 258,
      outputImageTokens: 1290,
    });
    expect(outcome.usage).toEqual(expected);
    expect(outcome.turns).toEqual([{ usage: expected, finishReason: 'STOP' }]);
    expect(outcome.modelVersion).toBe(FLASH);
    expect(turns).toEqual([[{ usage: expected, finishReason: 'STOP' }, 0]]);
    expect(standIn.stats().usage).toEqual(outcome.usage);
  });

  it('skips the thought image of the Pro model and takes the final one', async () => {
    const outcome = await model().generate(
      request({ model: PRO, imageSize: '2K', aspectRatio: '1:1' }),
    );
    expect(outcome.kind).toBe('image');
    if (outcome.kind !== 'image') return;
    // The interim thought image is 64 x 64; the final 2K one is 2048 x 2048.
    expect(await sizeOf(outcome.image.bytes)).toEqual([2048, 2048]);
    expect(outcome.usage).toEqual(
      usage({
        inputTextTokens: textTokens('make it blue'),
        inputImageTokens: 560,
        outputImageTokens: 1120,
        thoughtsTokens: 200,
      }),
    );
  });

  it('refines over several turns: history re-sent, input grows per turn, usage summed', async () => {
    const prompts = ['make it blue', 'now add a moon', 'and some stars'];
    const seen: number[] = [];
    const outcome = await model().generate(
      request({
        turns: prompts,
        aspectRatio: '1:1',
        onTurn: (_turn, index) => void seen.push(index),
      }),
    );
    expect(outcome.kind).toBe('image');
    expect(seen).toEqual([0, 1, 2]);
    // Each output (1024 x 1024 = 2 x 2 tiles) comes back as input of the next turn.
    const outputAsInput = 4 * 258;
    expect(outcome.turns.map((t) => t.usage.inputImageTokens)).toEqual([
      258,
      258 + outputAsInput,
      258 + 2 * outputAsInput,
    ]);
    expect(outcome.turns.map((t) => t.usage.inputTextTokens)).toEqual([
      textTokens(prompts[0] ?? ''),
      textTokens(...prompts.slice(0, 2)),
      textTokens(...prompts),
    ]);
    const summed = outcome.turns.reduce((s, t) => s + t.usage.totalTokens, 0);
    expect(outcome.usage.totalTokens).toBe(summed);
    expect(outcome.usage.outputImageTokens).toBe(3 * 1290);
    expect(standIn.stats().usage).toEqual(outcome.usage);
    expect(standIn.stats().totalCalls).toBe(3);
  });

  it('keeps thought signatures across turns on Pro (the stand-in rejects a missing one)', async () => {
    const outcome = await model().generate(
      request({ model: PRO, turns: ['make it blue', 'darker'] }),
    );
    expect(outcome.kind).toBe('image');
    // Thought images are not input: the input image and the first output, 560 each.
    expect(outcome.turns.map((t) => t.usage.inputImageTokens)).toEqual([560, 1120]);
  });

  it('stops when onTurn throws, passing the error on', async () => {
    const stop = new Error('cost cap reached');
    await expect(
      model().generate(
        request({
          turns: ['one', 'two', 'three'],
          onTurn: () => {
            throw stop;
          },
        }),
      ),
    ).rejects.toBe(stop);
    expect(standIn.stats().totalCalls).toBe(1);
  });
});

interface FailureCase {
  name: string;
  prompt: string;
  model?: string;
  timeoutMs?: number;
  expected: {
    kind: ModelOutcomeKind;
    status?: number;
    retryAfterMs?: number;
    finishReason?: string;
    text?: string;
  };
  message: RegExp;
  billed: boolean;
}

const FAILURES: FailureCase[] = [
  {
    name: 'blocked prompt',
    prompt: 'x [standin:outcome=blocked-prompt]',
    expected: { kind: 'blocked-prompt' },
    message: /blocked the prompt.*SAFETY/,
    billed: true,
  },
  {
    name: 'blocked output',
    prompt: 'x [standin:outcome=blocked-output]',
    expected: { kind: 'blocked-output', finishReason: 'IMAGE_SAFETY' },
    // The SDK (Gemini API mode) drops candidate.finishMessage, so only the reason gets through.
    message: /filtered its output \(finishReason IMAGE_SAFETY\)/,
    billed: true,
  },
  {
    name: 'text only',
    prompt: 'x [standin:outcome=text-only]',
    expected: { kind: 'text-only', text: REFUSAL_TEXT, finishReason: 'STOP' },
    message: /text but no image/,
    billed: true,
  },
  {
    name: 'empty candidates',
    prompt: 'x [standin:outcome=empty-candidates]',
    expected: { kind: 'no-image' },
    message: /empty candidates/,
    billed: true,
  },
  {
    name: '429 with retry delay',
    prompt: 'x [standin:fail=429][standin:retry-delay=2s]',
    expected: { kind: 'quota', status: 429, retryAfterMs: 2000 },
    message: /429 RESOURCE_EXHAUSTED.*quota/,
    billed: false,
  },
  {
    name: '429 with a fractional delay',
    prompt: 'x [standin:fail=429][standin:retry-delay=1.5s]',
    expected: { kind: 'quota', status: 429, retryAfterMs: 1500 },
    message: /GenerateRequestsPerMinute/,
    billed: false,
  },
  {
    name: '500',
    prompt: 'x [standin:always=500]',
    expected: { kind: 'transient', status: 500 },
    message: /500 INTERNAL/,
    billed: false,
  },
  {
    name: '503',
    prompt: 'x [standin:always=503]',
    expected: { kind: 'transient', status: 503 },
    message: /503 UNAVAILABLE/,
    billed: false,
  },
  {
    name: '400',
    prompt: 'x [standin:always=400]',
    expected: { kind: 'permanent', status: 400 },
    message: /400 INVALID_ARGUMENT/,
    billed: false,
  },
  {
    name: '404 unknown model',
    prompt: 'x',
    model: 'gemini-1.0-retired-image',
    expected: { kind: 'permanent', status: 404 },
    message: /404 NOT_FOUND.*gemini-1.0-retired-image/,
    billed: false,
  },
  {
    name: 'hang',
    prompt: 'x [standin:outcome=hang]',
    timeoutMs: 300,
    expected: { kind: 'timeout' },
    message: /timed out/,
    billed: false,
  },
  {
    name: 'truncated',
    prompt: 'x [standin:outcome=truncated]',
    expected: { kind: 'transient' },
    message: /could not be read/,
    billed: false,
  },
  {
    name: 'malformed',
    prompt: 'x [standin:outcome=malformed]',
    expected: { kind: 'transient' },
    message: /could not be read/,
    billed: false,
  },
];

describe('every failure is classified, never thrown', () => {
  it.each(FAILURES)(
    '$name',
    async ({ prompt, model: modelId, timeoutMs, expected, message, billed }) => {
      const outcome = await model().generate(
        request({
          turns: [prompt],
          ...(modelId ? { model: modelId } : {}),
          ...(timeoutMs ? { timeoutMs } : {}),
        }),
      );
      expect(outcome).toMatchObject(expected);
      if (outcome.kind === 'image') return;
      expect(outcome.message).toMatch(message);
      expect(outcome.message).not.toContain(API_KEY);
      if (expected.kind !== 'quota') expect(outcome.retryAfterMs).toBeUndefined();
      if (billed) {
        // Billed even without an image: the pipeline must record the cost.
        const reported = outcome.usage;
        expect(reported.inputTextTokens).toBe(textTokens(prompt));
        expect(reported.inputImageTokens).toBe(258);
        expect(outcome.turns).toHaveLength(1);
        expect(standIn.stats().usage).toEqual(reported);
      } else {
        expect(outcome.usage.totalTokens).toBe(0);
        expect(outcome.turns).toEqual([]);
      }
    },
  );

  it('reports the usage of the turns answered before a refinement turn is blocked', async () => {
    const outcome = await model().generate(
      request({
        turns: ['make it blue', 'now worse [standin:outcome=blocked-output]'],
        aspectRatio: '1:1',
      }),
    );
    expect(outcome.kind).toBe('blocked-output');
    expect(outcome.turns).toHaveLength(2);
    expect(outcome.usage.outputImageTokens).toBe(1290);
    expect(outcome.usage).toEqual(standIn.stats().usage);
    if (outcome.kind !== 'image') expect(outcome.message).toMatch(/^Turn 2 of 2: /);
  });

  it('keeps the billed turns when a later turn fails with 503', async () => {
    const outcome = await model().generate(
      request({ turns: ['make it blue', 'again [standin:always=503]'] }),
    );
    expect(outcome).toMatchObject({ kind: 'transient', status: 503 });
    expect(outcome.turns).toHaveLength(1);
    expect(outcome.usage).toEqual(
      usage({
        inputTextTokens: textTokens('make it blue'),
        inputImageTokens: 258,
        outputImageTokens: 1290,
      }),
    );
  });

  it('classifies a refused connection as transient', async () => {
    const gone = await startGeminiStandIn();
    const url = gone.url;
    await gone.close();
    const outcome = await createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: API_KEY, baseUrl: url },
    }).generate(request());
    expect(outcome).toMatchObject({ kind: 'transient' });
  });

  it('never echoes the API key, even when an error message contains it', async () => {
    standIn.setFaults([{ status: 400, message: `API key ${API_KEY} is not valid` }]);
    const outcome = await model().generate(request());
    expect(outcome).toMatchObject({ kind: 'permanent', status: 400 });
    if (outcome.kind !== 'image') {
      expect(outcome.message).toContain('[redacted]');
      expect(outcome.message).not.toContain(API_KEY);
    }
  });

  it('records the backend label', () => {
    expect(model().backend).toBe('offline-stand-in');
    expect(
      createGeminiImageModel({ backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: standIn.url } })
        .backend,
    ).toBe('gemini-api');
  });
});
