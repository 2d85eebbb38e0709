import { z } from 'zod';
import { BananaError } from '../errors.ts';
import catalogData from './models.json' with { type: 'json' };

const pricesSchema = z.strictObject({
  inputText: z.number().nonnegative(),
  inputImage: z.number().nonnegative(),
  outputText: z.number().nonnegative(),
  outputImage: z.number().nonnegative(),
});

const modelSchema = z.strictObject({
  id: z.string().min(1),
  aliases: z.array(z.string()).default([]),
  displayName: z.string().optional(),
  maxInputImages: z.number().int().positive(),
  inputMimeTypes: z.array(z.string()).min(1),
  /** Inputs are downscaled so their long edge is at most this: the model gains nothing from more. */
  inputLongEdgePx: z.number().int().positive(),
  aspectRatios: z.array(z.string()).min(1),
  imageSizes: z.array(z.string()).default([]),
  defaultImageSize: z.string().optional(),
  /** Output pixel size per aspect ratio at the base (1K) size. */
  outputSizes: z.record(z.string(), z.tuple([z.number().int(), z.number().int()])),
  imageSizeScale: z.record(z.string(), z.number().positive()).optional(),
  inputImageTokens: z.discriminatedUnion('rule', [
    z.strictObject({
      rule: z.literal('tiles'),
      smallMaxPx: z.number().int().positive(),
      tilePx: z.number().int().positive(),
      tokensPerTile: z.number().int().positive(),
    }),
    z.strictObject({ rule: z.literal('fixed'), tokensPerImage: z.number().int().positive() }),
  ]),
  /** Output image tokens per image, by imageSize ('default' when the model has no sizes). */
  outputImageTokens: z.record(z.string(), z.number().int().positive()),
  thinking: z.boolean(),
  estimateThoughtTokens: z.number().int().nonnegative().default(0),
  pricesPerMillionTokens: pricesSchema,
  batchDiscount: z.number().min(0).max(1).default(0),
});

export const catalogSchema = z.strictObject({
  $comment: z.string().optional(),
  priceTable: z.strictObject({
    version: z.string().min(1),
    currency: z.literal('USD'),
    source: z.string().optional(),
  }),
  models: z.array(modelSchema).min(1),
});

export type ModelInfo = z.infer<typeof modelSchema>;
export type ModelPrices = z.infer<typeof pricesSchema>;
export type CatalogData = z.infer<typeof catalogSchema>;

/** Extra models (or price overrides) given in configuration, e.g. a model newer than the catalog. */
export const modelOverrideSchema = modelSchema.partial().extend({
  id: z.string().min(1),
  pricesPerMillionTokens: pricesSchema,
});
export type ModelOverride = z.infer<typeof modelOverrideSchema>;

export class ModelCatalog {
  readonly priceTableVersion: string;
  readonly currency = 'USD';
  readonly models: readonly ModelInfo[];
  private readonly byName = new Map<string, ModelInfo>();

  constructor(data: CatalogData, overrides: readonly ModelOverride[] = []) {
    const models = [...data.models];
    for (const override of overrides) {
      const index = models.findIndex(
        (m) => m.id === override.id || m.aliases.includes(override.id),
      );
      const known = index >= 0 ? models[index] : undefined;
      const merged = modelSchema.parse({
        ...(known ?? DEFAULTS_FOR_UNKNOWN_MODEL),
        ...override,
        id: known?.id ?? override.id,
      });
      if (index >= 0) models[index] = merged;
      else models.push(merged);
    }
    this.models = models;
    this.priceTableVersion =
      overrides.length > 0 ? `${data.priceTable.version}+config` : data.priceTable.version;
    for (const model of models) {
      this.byName.set(model.id, model);
      for (const alias of model.aliases) this.byName.set(alias, model);
    }
  }

  /** The model for an id or alias; MODEL_UNKNOWN names the known ones and the way out. */
  resolve(name: string): ModelInfo {
    const model = this.byName.get(name);
    if (model) return model;
    throw new BananaError({
      code: 'MODEL_UNKNOWN',
      message: `Model "${name}" is not in the model catalog (price table ${this.priceTableVersion}).`,
      fix: `Use one of ${[...this.byName.keys()].join(', ')}, or give its prices in BANANAFLOW_MODEL_OVERRIDES.`,
      details: { model: name },
    });
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
}

/** Capabilities assumed for a model known only from configured prices (Gemini image defaults). */
const DEFAULTS_FOR_UNKNOWN_MODEL: Omit<ModelInfo, 'id' | 'pricesPerMillionTokens'> = {
  aliases: [],
  maxInputImages: 3,
  inputMimeTypes: ['image/png', 'image/jpeg', 'image/webp'],
  inputLongEdgePx: 1536,
  aspectRatios: ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'],
  imageSizes: [],
  outputSizes: { '1:1': [1024, 1024] },
  inputImageTokens: { rule: 'tiles', smallMaxPx: 384, tilePx: 768, tokensPerTile: 258 },
  outputImageTokens: { default: 1290 },
  thinking: false,
  estimateThoughtTokens: 0,
  batchDiscount: 0,
};

/** The catalog shipped in models.json, plus overrides from configuration. */
export function loadModelCatalog(overrides: readonly ModelOverride[] = []): ModelCatalog {
  return new ModelCatalog(catalogSchema.parse(catalogData), overrides);
}

/** Output pixel size the model gives for an aspect ratio and image size. */
export function outputSizeFor(
  model: ModelInfo,
  aspectRatio: string,
  imageSize?: string,
): [number, number] {
  const base = model.outputSizes[aspectRatio] ?? model.outputSizes['1:1'] ?? [1024, 1024];
  const size = imageSize ?? model.defaultImageSize;
  const scale = (size && model.imageSizeScale?.[size]) || 1;
  return [Math.round(base[0] * scale), Math.round(base[1] * scale)];
}

/** Nearest aspect ratio the model supports for an image of this size (what "follow the input" gives). */
export function nearestAspectRatio(model: ModelInfo, width: number, height: number): string {
  const target = width / height;
  let best = model.aspectRatios[0] ?? '1:1';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const ratio of model.aspectRatios) {
    const [w, h] = ratio.split(':').map(Number);
    if (!w || !h) continue;
    const distance = Math.abs(Math.log(w / h / target));
    if (distance < bestDistance) {
      best = ratio;
      bestDistance = distance;
    }
  }
  return best;
}
