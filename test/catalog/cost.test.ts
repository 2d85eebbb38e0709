import { describe, expect, it } from 'vitest';
import {
  costFromUsage,
  estimateUsage,
  inputImageTokens,
  outputImageTokensFor,
  usageFromMetadata,
} from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';

const catalog = loadModelCatalog();

describe('cost from reported usage', () => {
  // One typical answer: a prompt with one input image, one image out, a little text and thinking.
  const metadata = {
    promptTokenCount: 1100,
    candidatesTokenCount: 1340,
    thoughtsTokenCount: 200,
    totalTokenCount: 2640,
    promptTokensDetails: [
      { modality: 'TEXT', tokenCount: 68 },
      { modality: 'IMAGE', tokenCount: 1032 },
    ],
    candidatesTokensDetails: [{ modality: 'IMAGE', tokenCount: 1290 }],
  };

  it.each(catalog.models.map((m) => [m.id, m] as const))(
    'prices %s by modality from its catalog row',
    (_, model) => {
      const usage = usageFromMetadata(metadata);
      expect(usage).toEqual({
        inputTextTokens: 68,
        inputImageTokens: 1032,
        outputTextTokens: 50,
        outputImageTokens: 1290,
        thoughtsTokens: 200,
        totalTokens: 2640,
      });
      const p = model.pricesPerMillionTokens;
      const cost = costFromUsage(model, usage, catalog.priceTableVersion);
      const input = (68 * p.inputText + 1032 * p.inputImage) / 1e6;
      const output = ((50 + 200) * p.outputText + 1290 * p.outputImage) / 1e6;
      expect(cost.input).toBeCloseTo(input, 9);
      expect(cost.output).toBeCloseTo(output, 9);
      expect(cost.total).toBeCloseTo(input + output, 9);
      expect(cost.priceTableVersion).toBe(catalog.priceTableVersion);
      for (const tier of ['batch', 'flex'] as const) {
        const discounted = costFromUsage(model, usage, catalog.priceTableVersion, { tier });
        const discount = tier === 'batch' ? model.batchDiscount : model.flexDiscount;
        expect(discounted.total).toBeCloseTo((input + output) * (1 - discount), 9);
        expect(discounted.tier).toBe(tier);
      }
    },
  );

  it('matches the published per-image prices', () => {
    const flash = catalog.resolve('gemini-2.5-flash-image');
    const pro = catalog.resolve('gemini-3-pro-image-preview');
    const image = (tokens: number) => ({
      ...usageFromMetadata(undefined),
      outputImageTokens: tokens,
      totalTokens: tokens,
    });
    expect(costFromUsage(flash, image(1290), 'v').total).toBeCloseTo(0.0387, 6);
    expect(costFromUsage(pro, image(1120), 'v').total).toBeCloseTo(0.1344, 6);
    expect(costFromUsage(pro, image(2000), 'v').total).toBeCloseTo(0.24, 6);
  });

  it('bills un-itemised output as text', () => {
    const usage = usageFromMetadata({ promptTokenCount: 10, candidatesTokenCount: 40 });
    expect(usage).toMatchObject({
      inputTextTokens: 10,
      outputTextTokens: 40,
      outputImageTokens: 0,
    });
  });

  it('counts input image tokens as Gemini tiles them (and Pro at a fixed rate)', () => {
    const flash = catalog.resolve('gemini-2.5-flash-image');
    expect(inputImageTokens(flash, 384, 384)).toBe(258);
    expect(inputImageTokens(flash, 1024, 1024)).toBe(4 * 258);
    expect(inputImageTokens(flash, 1536, 768)).toBe(2 * 258);
    expect(inputImageTokens(catalog.resolve('gemini-3-pro-image'), 4000, 4000)).toBe(560);
  });

  it('estimates growing input for each refinement turn (history is re-sent)', () => {
    const flash = catalog.resolve('gemini-2.5-flash-image');
    const one = estimateUsage(flash, {
      images: [{ width: 300, height: 300 }],
      turns: ['a'],
      outputSize: [1024, 1024],
    });
    const three = estimateUsage(flash, {
      images: [{ width: 300, height: 300 }],
      turns: ['a', 'b', 'c'],
      outputSize: [1024, 1024],
    });
    expect(three.outputImageTokens).toBe(3 * one.outputImageTokens);
    expect(three.inputImageTokens).toBe(3 * 258 + (1 + 2) * 4 * 258);
  });
});

describe('model catalog', () => {
  it('holds retired ids as their own shut-down rows, never as aliases of a GA id', () => {
    for (const id of ['gemini-2.5-flash-image-preview', 'gemini-3-pro-image-preview']) {
      const row = catalog.resolve(id);
      expect(row.id).toBe(id);
      expect(row.lifecycle.status).toBe('shut-down');
    }
    for (const model of catalog.models) {
      for (const alias of model.aliases) {
        expect(catalog.resolve(alias).lifecycle.status).not.toBe('shut-down');
      }
    }
    expect(catalog.resolve('gemini-3-pro-image').lifecycle.status).toBe('ga');
  });

  it('refuses a model it has no prices for, suggesting close ids and the overrides variable', () => {
    expect(() => catalog.resolve('gemini-4-image')).toThrowError(/not in the model catalog/);
    try {
      catalog.resolve('gemini-nano-banana-21');
    } catch (error) {
      expect(error).toMatchObject({
        code: 'MODEL_UNKNOWN',
        message: expect.stringContaining('Did you mean "gemini-nano-banana-2.1"'),
        fix: expect.stringContaining('BANANAFLOW_MODEL_OVERRIDES'),
      });
    }
  });
  it('takes a new model and its prices from configuration', () => {
    const config = loadConfig({
      BANANAFLOW_MODEL_OVERRIDES: JSON.stringify([
        {
          id: 'gemini-4-flash-image',
          maxInputImages: 14,
          pricesPerMillionTokens: {
            inputText: 0.5,
            inputImage: 0.5,
            outputText: 3,
            outputImage: 60,
          },
        },
      ]),
    });
    const withNew = loadModelCatalog(config.BANANAFLOW_MODEL_OVERRIDES);
    const model = withNew.resolve('gemini-4-flash-image');
    expect(model.maxInputImages).toBe(14);
    expect(withNew.priceTableVersion).toMatch(/\+config$/);
    const usage = { ...usageFromMetadata(undefined), outputImageTokens: 1290, totalTokens: 1290 };
    expect(costFromUsage(model, usage, withNew.priceTableVersion).total).toBeCloseTo(0.0774, 6);
  });

  it('rejects malformed overrides at startup, naming the variable', () => {
    expect(() => loadConfig({ BANANAFLOW_MODEL_OVERRIDES: '[{"id":"x"}]' })).toThrowError(
      /BANANAFLOW_MODEL_OVERRIDES/,
    );
  });

  it.each([
    [
      'a row without prices',
      '[{"id":"ok","pricesPerMillionTokens":{"inputText":1,"inputImage":1,"outputText":1,"outputImage":1}},{"id":"bad"}]',
      /row \[1\] \(id "bad"\), field "pricesPerMillionTokens"/,
    ],
    [
      'a negative price',
      '[{"id":"neg","pricesPerMillionTokens":{"inputText":-1,"inputImage":1,"outputText":1,"outputImage":1}}]',
      /row \[0\] \(id "neg"\), field "pricesPerMillionTokens.inputText"/,
    ],
    [
      'an unknown field',
      '[{"id":"typo","pricesPerMillionTokens":{"inputText":1,"inputImage":1,"outputText":1,"outputImage":1},"maxImages":3}]',
      /row \[0\] \(id "typo"\).*maxImages/,
    ],
    ['not an array', '{"id":"x"}', /must be a JSON array/],
    ['not JSON', '[{', /not JSON/],
  ])('names the row and field of %s in BANANAFLOW_MODEL_OVERRIDES', (_, value, pattern) => {
    expect(() => loadConfig({ BANANAFLOW_MODEL_OVERRIDES: value })).toThrowError(pattern);
  });
});

describe('the 2026 lineup in the catalog', () => {
  it('marks one GA general-purpose default, today gemini-nano-banana-2.1', () => {
    expect(catalog.defaultModel.id).toBe('gemini-nano-banana-2.1');
    expect(catalog.models.filter((m) => m.default)).toHaveLength(1);
    expect(catalog.defaultModel.lifecycle.status).toBe('ga');
  });

  it('has a row for every model id of the facts table, with lifecycle source and date checked', () => {
    const ids = catalog.models.map((m) => m.id).sort();
    expect(ids).toEqual(
      [
        'gemini-2.5-flash-image',
        'gemini-2.5-flash-image-preview',
        'gemini-3-pro-image',
        'gemini-3-pro-image-preview',
        'gemini-3.1-flash-image',
        'gemini-3.1-flash-image-preview',
        'gemini-3.1-flash-lite-image',
        'gemini-nano-banana-2.1',
      ].sort(),
    );
    for (const m of catalog.models) {
      expect(m.lifecycle.source, m.id).toBeTruthy();
      expect(m.lifecycle.checked, m.id).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(m.confidence, m.id).toBeDefined();
      if (m.lifecycle.status === 'shut-down' || m.lifecycle.status === 'deprecated') {
        expect(m.lifecycle.replacement, m.id).toBeDefined();
        expect(m.lifecycle.shutdown, m.id).toBeDefined();
      }
    }
  });

  it('follows a replacement past retired ids to a live model', () => {
    // 3.1 Flash Image preview → 3.1 Flash Image (deprecated) → Nano Banana 2.1 (GA).
    const preview = catalog.resolve('gemini-3.1-flash-image-preview');
    expect(catalog.liveReplacement(preview).id).toBe('gemini-nano-banana-2.1');
    for (const m of catalog.models) {
      expect(['ga', 'preview']).toContain(catalog.liveReplacement(m).lifecycle.status);
    }
  });

  it.each([
    ['gemini-3.1-flash-image', '512', 747],
    ['gemini-3.1-flash-image', '2K', 1680],
    ['gemini-nano-banana-2.1', '1K', 1120],
    ['gemini-nano-banana-2.1', '4K', 3780],
    ['gemini-3-pro-image', '4K', 2000],
    ['gemini-2.5-flash-image', undefined, 1290],
  ])('%s at %s bills %i output image tokens (its own schedule)', (id, size, tokens) => {
    expect(outputImageTokensFor(catalog.resolve(id), size)).toBe(tokens);
  });

  it('adds the grounding fee per grounded request to the cost, and nothing without grounding', () => {
    const pro = catalog.resolve('gemini-3-pro-image');
    const usage = { ...usageFromMetadata(undefined), outputImageTokens: 1120, totalTokens: 1120 };
    const plain = costFromUsage(pro, usage, 'v');
    const grounded = costFromUsage(pro, { ...usage, groundedRequests: 2 }, 'v');
    expect(plain.grounding).toBeUndefined();
    expect(grounded.grounding).toBeCloseTo(2 * pro.groundingUsdPerRequest, 9);
    expect(grounded.total).toBeCloseTo(plain.total + 2 * pro.groundingUsdPerRequest, 9);
    expect(pro.groundingUsdPerRequest).toBeGreaterThan(0);
  });

  it('takes the flex discount only where the model supports flex', () => {
    const usage = { ...usageFromMetadata(undefined), outputImageTokens: 1120, totalTokens: 1120 };
    for (const m of catalog.models) {
      const flex = costFromUsage(m, usage, 'v', { flex: true }).total;
      const standard = costFromUsage(m, usage, 'v').total;
      if (m.flex) expect(flex).toBeCloseTo(standard * (1 - m.flexDiscount), 9);
      else expect(m.flexDiscount).toBe(0);
    }
  });
});
