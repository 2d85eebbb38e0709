import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { listLiveModels } from '../../shared/adapters/gemini-model-list.ts';
import { loadModelCatalog, outputSizeFor } from '../../shared/catalog/model-catalog.ts';
import { postGenerate, sdkFor, sizeOf, tinyPng } from './helpers.ts';

/** The stand-in speaks the 2026 lineup: every catalog model, the model list, per-model limits. */

const catalog = loadModelCatalog();
const live = catalog.models.filter((m) => m.lifecycle.status !== 'shut-down');
const retired = catalog.models.filter((m) => m.lifecycle.status === 'shut-down');

let standIn: GeminiStandIn;
beforeAll(async () => {
  standIn = await startGeminiStandIn({ extraModels: ['gemini-2.5-flash', 'gemini-4-flash-image'] });
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => standIn.reset());

const body = (prompt: string, generationConfig: Record<string, unknown> = {}, extra = {}) => ({
  contents: [{ role: 'user', parts: [{ text: prompt }] }],
  generationConfig: { responseModalities: ['IMAGE', 'TEXT'], ...generationConfig },
  ...extra,
});

describe('the model list', () => {
  it('lists every live catalog model over several pages, and no shut-down id (SDK pager)', async () => {
    const { models, pages } = await listLiveModels({
      kind: 'gemini-api',
      apiKey: 'k',
      baseUrl: standIn.url,
    });
    expect(pages).toBeGreaterThan(1);
    const ids = models.map((m) => m.id);
    for (const m of live) expect(ids).toContain(m.id);
    for (const m of retired) expect(ids).not.toContain(m.id);
    expect(ids).toEqual(expect.arrayContaining(['gemini-2.5-flash', 'gemini-4-flash-image']));
    expect(new Set(ids).size).toBe(ids.length);
    expect(models[0]?.supportedActions).toContain('generateContent');
  });

  it('pages by pageSize and nextPageToken', async () => {
    const first = await fetch(`${standIn.url}/v1beta/models?pageSize=3`);
    const page = (await first.json()) as { models: unknown[]; nextPageToken?: string };
    expect(page.models).toHaveLength(3);
    expect(page.nextPageToken).toBeTruthy();
    const next = await fetch(
      `${standIn.url}/v1beta/models?pageSize=3&pageToken=${page.nextPageToken}`,
    );
    const second = (await next.json()) as { models: Array<{ name: string }> };
    expect(second.models[0]?.name).not.toBe((page.models[0] as { name: string }).name);
  });

  it.each(live.map((m) => m.id))('GET /v1beta/models/%s answers the model', async (id) => {
    const model = await sdkFor(standIn.url).models.get({ model: id });
    expect(model.name).toBe(`models/${id}`);
  });

  it.each(retired.map((m) => m.id))('%s is gone: 404 on get and on generateContent', async (id) => {
    await expect(sdkFor(standIn.url).models.get({ model: id })).rejects.toMatchObject({
      status: 404,
    });
    expect((await postGenerate(standIn.url, id, body('x'))).status).toBe(404);
  });
});

describe('per-model limits (400 like the real API)', () => {
  it.each([
    ['gemini-nano-banana-2.1', { imageConfig: { imageSize: '512' } }, /image size "512"/],
    ['gemini-3.1-flash-lite-image', { imageConfig: { imageSize: '2K' } }, /image size "2K"/],
    ['gemini-3-pro-image', { imageConfig: { aspectRatio: '8:1' } }, /aspect ratio "8:1"/],
    ['gemini-3.1-flash-image', { thinkingConfig: { thinkingLevel: 'MEDIUM' } }, /thinking_level/],
    ['gemini-2.5-flash-image', { thinkingConfig: { thinkingLevel: 'HIGH' } }, /thinking/],
  ])('%s refuses %j', async (model, config, message) => {
    const response = await postGenerate(standIn.url, model, body('x', config));
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { message: string } };
    expect(json.error.message).toMatch(message);
  });

  it('refuses grounding on a model without it and more input images than the model takes', async () => {
    const grounded = body('x', {}, { tools: [{ googleSearch: {} }] });
    const lite = await postGenerate(standIn.url, 'gemini-3.1-flash-lite-image', grounded);
    expect(lite.status).toBe(400);
    const png = (await tinyPng(8, 8)).toString('base64');
    const four = {
      contents: [
        {
          role: 'user',
          parts: [
            ...Array.from({ length: 4 }, () => ({
              inlineData: { mimeType: 'image/png', data: png },
            })),
            { text: 'x' },
          ],
        },
      ],
    };
    const flash = await postGenerate(standIn.url, 'gemini-2.5-flash-image', four);
    expect(flash.status).toBe(400);
    expect(JSON.stringify(await flash.json())).toMatch(/at most 3 input images/);
  });
});

describe('the new request options through the adapter (real SDK)', () => {
  const model = () =>
    createGeminiImageModel({ backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: standIn.url } });

  it.each([
    ['gemini-3.1-flash-image', '512', '1:8'],
    ['gemini-nano-banana-2.1', '4K', '4:1'],
    ['gemini-3-pro-image', '2K', '16:9'],
    ['gemini-3.1-flash-lite-image', '1K', '8:1'],
  ])(
    '%s at %s, %s: the size the catalog says, billed by its token schedule',
    async (id, size, ratio) => {
      const outcome = await model().generate({
        model: id,
        images: [],
        turns: ['a lighthouse'],
        imageSize: size,
        aspectRatio: ratio,
        timeoutMs: 10_000,
      });
      if (outcome.kind !== 'image') throw new Error(outcome.message);
      const row = catalog.resolve(id);
      expect(await sizeOf(outcome.image.bytes)).toEqual(outputSizeFor(row, ratio, size));
      expect(outcome.usage.outputImageTokens).toBe(row.outputImageTokens[size]);
    },
  );

  it('sends thinkingLevel and grounding; a thinking model sends a thought image and a signature', async () => {
    const outcome = await model().generate({
      model: 'gemini-nano-banana-2.1',
      images: [],
      turns: ['a lighthouse', 'make it night'],
      thinkingLevel: 'high',
      grounding: 'google-search',
      timeoutMs: 10_000,
    });
    expect(outcome.kind).toBe('image');
    // Each grounded turn is billed per request; two turns kept their signatures (else 400).
    expect(outcome.usage.groundedRequests).toBe(2);
    expect(outcome.usage.thoughtsTokens).toBeGreaterThan(0);
    const raw = await postGenerate(
      standIn.url,
      'gemini-nano-banana-2.1',
      body('x', { thinkingConfig: { thinkingLevel: 'MEDIUM' } }),
    );
    const json = (await raw.json()) as {
      candidates: Array<{
        content: { parts: Array<{ thought?: boolean; thoughtSignature?: string }> };
      }>;
    };
    const parts = json.candidates[0]?.content.parts ?? [];
    expect(parts.some((p) => p.thought)).toBe(true);
    expect(parts.some((p) => !p.thought && p.thoughtSignature)).toBe(true);
  });
});

describe('quota directives', () => {
  const model = () =>
    createGeminiImageModel({ backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: standIn.url } });
  const call = (id: string, prompt: string) =>
    model().generate({ model: id, images: [], turns: [prompt], timeoutMs: 10_000 });

  it('exhaust=per-day: that model answers a per-day 429 from then on, with its reset time; others still work', async () => {
    const first = await call('gemini-3-pro-image', 'a [standin:exhaust=per-day]');
    expect(first).toMatchObject({ kind: 'quota-daily', status: 429 });
    if (first.kind === 'image') throw new Error('unexpected image');
    expect(first.quotaId).toMatch(/PerDay/);
    expect(Date.parse(first.resetsAt ?? '')).toBeGreaterThan(Date.now());
    expect((await call('gemini-3-pro-image', 'another prompt')).kind).toBe('quota-daily');
    expect((await call('gemini-nano-banana-2.1', 'another prompt')).kind).toBe('image');
  });

  it('exhaust=credits: every model answers a credits-depleted 429 (billing), with no retry delay', async () => {
    const first = await call('gemini-nano-banana-2.1', 'a [standin:exhaust=credits]');
    expect(first).toMatchObject({ kind: 'billing', status: 429 });
    if (first.kind === 'image') throw new Error('unexpected image');
    expect(first.retryAfterMs).toBeUndefined();
    expect((await call('gemini-3-pro-image', 'other')).kind).toBe('billing');
  });

  it('a plain per-minute 429 stays a retryable quota outcome with its delay', async () => {
    const outcome = await call(
      'gemini-nano-banana-2.1',
      'x [standin:fail=429][standin:retry-delay=3s]',
    );
    expect(outcome).toMatchObject({ kind: 'quota', retryAfterMs: 3000 });
  });
});
