import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type GeminiStandIn,
  requestKey,
  startGeminiStandIn,
} from '../../infra/gemini-stand-in/server.ts';
import { inputImageTokens } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { postGenerate, sdkFor, sizeOf, tinyPng } from './helpers.ts';

const FLASH = 'gemini-2.5-flash-image';
const PRO = 'gemini-3-pro-image';
const catalog = loadModelCatalog();

let standIn: GeminiStandIn;
beforeAll(async () => {
  standIn = await startGeminiStandIn();
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  standIn.reset();
  standIn.setFaults(undefined);
});

function imagePartsOf(
  response: Awaited<ReturnType<ReturnType<typeof sdkFor>['models']['generateContent']>>,
) {
  return response.candidates?.[0]?.content?.parts ?? [];
}

async function edit(
  model: string,
  prompt: string,
  options: { images?: Buffer[]; aspectRatio?: string; imageSize?: string } = {},
) {
  const ai = sdkFor(standIn.url);
  return ai.models.generateContent({
    model,
    contents: [
      {
        role: 'user',
        parts: [
          ...(options.images ?? []).map((b) => ({
            inlineData: { mimeType: 'image/png', data: b.toString('base64') },
          })),
          { text: prompt },
        ],
      },
    ],
    config: {
      responseModalities: ['IMAGE', 'TEXT'],
      imageConfig: {
        ...(options.aspectRatio ? { aspectRatio: options.aspectRatio } : {}),
        ...(options.imageSize ? { imageSize: options.imageSize } : {}),
      },
    },
  });
}

function finalImage(response: Awaited<ReturnType<typeof edit>>): Buffer {
  const part = imagePartsOf(response).find((p) => p.inlineData && !p.thought);
  if (!part?.inlineData?.data) throw new Error('no final image');
  return Buffer.from(part.inlineData.data, 'base64');
}

describe('output size', () => {
  const flash = catalog.resolve(FLASH);
  it.each(Object.entries(flash.outputSizes['1K'] ?? {}))(
    '2.5 Flash %s gives %j',
    async (ratio, size) => {
      const response = await edit(FLASH, 'resize me', { aspectRatio: ratio });
      expect(await sizeOf(finalImage(response))).toEqual(size);
    },
  );

  it.each([
    ['1:1', [2048, 2048]],
    ['16:9', [2752, 1536]],
    ['3:4', [1792, 2400]],
  ])('Pro 2K %s gives %j', async (ratio, size) => {
    const response = await edit(PRO, 'resize me', { aspectRatio: ratio, imageSize: '2K' });
    expect(await sizeOf(finalImage(response))).toEqual(size);
  });

  it('follows the first input image when no ratio is given, else 1:1', async () => {
    const wide = await tinyPng(320, 180);
    expect(await sizeOf(finalImage(await edit(FLASH, 'follow', { images: [wide] })))).toEqual([
      1344, 768,
    ]);
    expect(await sizeOf(finalImage(await edit(FLASH, 'draw a cat')))).toEqual([1024, 1024]);
  });

  it('rejects a lowercase imageSize on Pro like the real API (400)', async () => {
    await expect(edit(PRO, 'x', { imageSize: '2k' })).rejects.toMatchObject({ status: 400 });
  });
});

describe('the image', () => {
  it('is deterministic for the same request and differs per prompt', async () => {
    const input = await tinyPng(64, 48);
    const a1 = finalImage(await edit(FLASH, 'make it red', { images: [input] }));
    const a2 = finalImage(await edit(FLASH, 'make it red', { images: [input] }));
    const b = finalImage(await edit(FLASH, 'make it green', { images: [input] }));
    expect(a1.equals(a2)).toBe(true);
    expect(a1.equals(b)).toBe(false);
  });

  it('shows the input (edited, not replaced): its colour dominates the top-left region', async () => {
    const red = await tinyPng(64, 64, '#ff0000');
    const out = finalImage(await edit(FLASH, 'tint', { images: [red], aspectRatio: '1:1' }));
    const { data } = await sharp(out)
      .extract({ left: 0, top: 0, width: 64, height: 64 })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const [r = 0, g = 0, b = 0] = data;
    expect(r).toBeGreaterThan(g);
    expect(r).toBeGreaterThan(b);
    expect(await sharp(out).metadata()).toMatchObject({ format: 'png' });
  });

  it('survives XML specials in the prompt', async () => {
    const response = await edit(FLASH, `<svg> & "quotes" 'apostrophes' ]]> \u0001`);
    expect(await sizeOf(finalImage(response))).toEqual([1024, 1024]);
  });

  it('sends a thought image before the signed final image on the thinking model', async () => {
    const parts = imagePartsOf(await edit(PRO, 'think first'));
    expect(parts.map((p) => Boolean(p.thought))).toEqual([true, false]);
    expect(parts[1]?.thoughtSignature).toEqual(expect.any(String));
    expect(parts[0]?.thoughtSignature).toBeUndefined();
  });
});

describe('usage', () => {
  it('follows the catalog rules on 2.5 Flash (tiles, 1290 output tokens)', async () => {
    const small = await tinyPng(300, 200); // <= 384 px: one 258-token tile
    const big = await tinyPng(1000, 800); // 2 x 2 tiles
    const prompt = 'make the sky a deep sunset orange'; // 33 chars -> 9 tokens
    const response = await edit(FLASH, prompt, { images: [small, big] });
    const imageTokens = 258 + 4 * 258;
    expect(inputImageTokens(catalog.resolve(FLASH), 1000, 800)).toBe(4 * 258);
    expect(response.usageMetadata).toEqual({
      promptTokenCount: 9 + imageTokens,
      candidatesTokenCount: 1290,
      totalTokenCount: 9 + imageTokens + 1290,
      promptTokensDetails: [
        { modality: 'TEXT', tokenCount: 9 },
        { modality: 'IMAGE', tokenCount: imageTokens },
      ],
      candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1290 }],
    });
    expect(response.modelVersion).toBe(FLASH);
  });

  it.each([
    ['1K', 1120],
    ['2K', 1120],
    ['4K', 2000],
  ])('Pro %s: 560 per input image, %i output tokens, 200 thinking tokens', async (size, out) => {
    const response = await edit(PRO, 'abcd', { images: [await tinyPng(40, 40)], imageSize: size });
    expect(response.usageMetadata).toMatchObject({
      promptTokenCount: 1 + 560,
      candidatesTokenCount: out,
      thoughtsTokenCount: 200,
      totalTokenCount: 1 + 560 + out + 200,
    });
  });

  it('sums what it billed over answered calls only', async () => {
    await edit(FLASH, 'abcd');
    await edit(FLASH, 'abcd [standin:outcome=blocked-prompt]'); // billed: prompt only
    await expect(edit(FLASH, 'abcd [standin:always=503]')).rejects.toMatchObject({ status: 503 });
    const stats = standIn.stats();
    const blockedPromptTokens = Math.ceil('abcd [standin:outcome=blocked-prompt]'.length / 4);
    expect(stats.usageMetadata).toEqual({
      promptTokenCount: 1 + blockedPromptTokens,
      candidatesTokenCount: 1290,
      thoughtsTokenCount: 0,
      totalTokenCount: 1 + blockedPromptTokens + 1290,
    });
    expect(stats.usage.outputImageTokens).toBe(1290);
    expect(stats.byOutcome).toEqual({ image: 1, 'blocked-prompt': 1, 'http-503': 1 });
  });
});

describe('faults and counting', () => {
  it('fails then succeeds per request key, and records calls per prompt', async () => {
    const prompt = 'job-17 make it blue [standin:fail=429,503]';
    await expect(edit(FLASH, prompt)).rejects.toMatchObject({ status: 429 });
    await expect(edit(FLASH, prompt)).rejects.toMatchObject({ status: 503 });
    await edit(FLASH, prompt);
    await edit(FLASH, 'job-18 other');
    const stats = standIn.stats();
    expect(stats.totalCalls).toBe(4);
    const key = requestKey(FLASH, [prompt]);
    expect(stats.calls.filter((c) => c.requestKey === key).map((c) => c.outcome)).toEqual([
      'http-429',
      'http-503',
      'image',
    ]);
    expect(stats.calls.filter((c) => c.prompt.startsWith('job-18'))).toHaveLength(1);
  });

  it('injects a programmatic fault on every 7th call', async () => {
    standIn.setFaults((n) => (n % 7 === 0 ? { status: 503 } : undefined));
    const statuses: number[] = [];
    for (let i = 1; i <= 14; i++) {
      // Text-only requests keep this cheap: the fault decision does not depend on the body.
      const response = await postGenerate(standIn.url, FLASH, {
        contents: [{ role: 'user', parts: [{ text: `call ${i}` }] }],
        generationConfig: { responseModalities: ['TEXT'] },
      });
      statuses.push(response.status);
    }
    expect(statuses.map((s, i) => [i + 1, s]).filter(([, s]) => s !== 200)).toEqual([
      [7, 503],
      [14, 503],
    ]);
    expect(standIn.stats().byOutcome).toEqual({ 'text-only': 12, 'http-503': 2 });
  });

  it('takes a list schedule given at start', async () => {
    const scheduled = await startGeminiStandIn({
      faults: [{ outcome: 'empty-candidates' }, { status: 400 }],
    });
    try {
      const body = { contents: [{ parts: [{ text: 'x' }] }] };
      const first = await postGenerate(scheduled.url, FLASH, body);
      expect(await first.json()).toMatchObject({ candidates: [] });
      expect((await postGenerate(scheduled.url, FLASH, body)).status).toBe(400);
      expect((await postGenerate(scheduled.url, FLASH, body)).status).toBe(200);
    } finally {
      await scheduled.close();
    }
  });
});

describe('protocol', () => {
  const body = { contents: [{ role: 'user', parts: [{ text: 'hello' }] }] };

  it("answers an unknown model with 404 NOT_FOUND in Google's error shape", async () => {
    const response = await postGenerate(standIn.url, 'gemini-1.0-pro-vision', body);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({
      error: {
        code: 404,
        message: expect.stringContaining('gemini-1.0-pro-vision'),
        status: 'NOT_FOUND',
      },
    });
  });

  it('sends RetryInfo and QuotaFailure on a 429', async () => {
    const response = await postGenerate(standIn.url, FLASH, {
      contents: [{ parts: [{ text: '[standin:fail=429][standin:retry-delay=2s]' }] }],
    });
    expect(response.status).toBe(429);
    const json = (await response.json()) as {
      error: { status: string; details: Array<Record<string, unknown>> };
    };
    expect(json.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(json.error.details).toEqual(
      expect.arrayContaining([
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' },
        expect.objectContaining({
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: expect.any(Array),
        }),
      ]),
    );
  });

  it.each([
    [500, 'INTERNAL'],
    [503, 'UNAVAILABLE'],
    [400, 'INVALID_ARGUMENT'],
  ])('answers always=%i with status %s', async (code, status) => {
    const response = await postGenerate(standIn.url, FLASH, {
      contents: [{ parts: [{ text: `[standin:always=${code}]` }] }],
    });
    expect(response.status).toBe(code);
    expect(await response.json()).toEqual({ error: { code, message: expect.any(String), status } });
  });

  it('sends a blocked output as a candidate without parts, with finishMessage', async () => {
    const response = await postGenerate(standIn.url, FLASH, {
      contents: [{ parts: [{ text: '[standin:outcome=blocked-output]' }] }],
    });
    expect(await response.json()).toMatchObject({
      candidates: [
        {
          content: { role: 'model' },
          finishReason: 'IMAGE_SAFETY',
          finishMessage: expect.stringContaining('Try rephrasing'),
        },
      ],
      usageMetadata: { promptTokenCount: expect.any(Number) },
    });
  });

  it('rejects a request without an API key (403) and a misspelt directive (400)', async () => {
    expect((await postGenerate(standIn.url, FLASH, body, {})).status).toBe(403);
    const typo = await postGenerate(standIn.url, FLASH, {
      contents: [{ parts: [{ text: '[standin:fial=1]' }] }],
    });
    expect(typo.status).toBe(400);
    expect(JSON.stringify(await typo.json())).toContain('unknown \\"fial\\"');
  });

  it('serves stats and reset over HTTP', async () => {
    await postGenerate(standIn.url, FLASH, body);
    const stats = (await (await fetch(`${standIn.url}/__standin/stats`)).json()) as {
      totalCalls: number;
    };
    expect(stats.totalCalls).toBe(1);
    expect((await fetch(`${standIn.url}/__standin/reset`, { method: 'POST' })).status).toBe(200);
    expect(standIn.stats().totalCalls).toBe(0);
  });

  it('close() ends hanging calls', async () => {
    const hanging = await startGeminiStandIn();
    const pending = postGenerate(hanging.url, FLASH, {
      contents: [{ parts: [{ text: '[standin:outcome=hang]' }] }],
    }).then(
      () => 'answered',
      () => 'socket closed',
    );
    // Wait until the stand-in has the call, then close it under the client.
    await expect.poll(() => hanging.stats().calls.length, { interval: 5 }).toBeGreaterThan(0);
    await hanging.close();
    expect(await pending).toBe('socket closed');
    expect(hanging.stats().byOutcome).toEqual({ hang: 1 });
  });
});
