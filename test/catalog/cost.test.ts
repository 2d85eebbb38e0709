import { describe, expect, it } from 'vitest';
import {
  costFromUsage,
  estimateUsage,
  inputImageTokens,
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
      const batch = costFromUsage(model, usage, catalog.priceTableVersion, { batch: true });
      expect(batch.total).toBeCloseTo((input + output) * (1 - model.batchDiscount), 9);
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
  it('keeps accepting the preview id as an alias', () => {
    expect(catalog.resolve('gemini-2.5-flash-image-preview').id).toBe('gemini-2.5-flash-image');
  });

  it('refuses a model it has no prices for, saying how to add them', () => {
    expect(() => catalog.resolve('gemini-3.1-flash-image-preview')).toThrowError(
      /not in the model catalog/,
    );
    try {
      catalog.resolve('gemini-3.1-flash-image-preview');
    } catch (error) {
      expect(error).toMatchObject({
        code: 'MODEL_UNKNOWN',
        fix: expect.stringContaining('BANANAFLOW_MODEL_OVERRIDES'),
      });
    }
  });

  it('takes a new model and its prices from configuration', () => {
    const config = loadConfig({
      BANANAFLOW_MODEL_OVERRIDES: JSON.stringify([
        {
          id: 'gemini-3.1-flash-image-preview',
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
    const model = withNew.resolve('gemini-3.1-flash-image-preview');
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
});
