import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';

/** The flex tier on the wire: the real SDK's `serviceTier`, checked by the stand-in per model. */

const NO_FLEX = 'no-flex-image';
let standIn: GeminiStandIn;
beforeAll(async () => {
  const catalog = loadModelCatalog([
    {
      id: NO_FLEX,
      pricesPerMillionTokens: { inputText: 1, inputImage: 1, outputText: 1, outputImage: 30 },
      batch: true,
      batchDiscount: 0.5,
      flex: false,
    },
  ]);
  standIn = await startGeminiStandIn({ catalog });
});
afterAll(async () => {
  await standIn.close();
});

const model = () =>
  createGeminiImageModel({
    backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: standIn.url },
  });

describe('the flex tier', () => {
  it('sends serviceTier flex only when asked', async () => {
    standIn.reset();
    const flex = await model().generate({
      model: 'gemini-nano-banana-2.1',
      images: [],
      turns: ['a flex banana'],
      timeoutMs: 10_000,
      serviceTier: 'flex',
    });
    const standard = await model().generate({
      model: 'gemini-nano-banana-2.1',
      images: [],
      turns: ['a standard banana'],
      timeoutMs: 10_000,
    });
    expect(flex.kind).toBe('image');
    expect(standard.kind).toBe('image');
    const tiers = standIn.stats().calls.map((c) => [c.prompt, c.tier]);
    expect(tiers).toEqual([
      ['a flex banana', 'flex'],
      ['a standard banana', undefined],
    ]);
  });

  it('is refused (400, permanent) for a model that does not offer it', async () => {
    const outcome = await model().generate({
      model: NO_FLEX,
      images: [],
      turns: ['a banana'],
      timeoutMs: 10_000,
      serviceTier: 'flex',
    });
    expect(outcome.kind).toBe('permanent');
    expect(outcome.kind !== 'image' && outcome.message).toContain('flex is not supported');
  });
});
