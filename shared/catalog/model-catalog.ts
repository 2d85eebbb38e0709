import { z } from 'zod';
import { BananaError } from '../errors.ts';
import { closest } from '../text/did-you-mean.ts';
import catalogData from './models.json' with { type: 'json' };

/** Where a model stands; `shut-down` ids answer 404 and are refused at planning. */
export const MODEL_STATUSES = ['preview', 'ga', 'deprecated', 'shut-down'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];
export const THINKING_LEVELS = ['minimal', 'low', 'medium', 'high'] as const;
export type ThinkingLevel = (typeof THINKING_LEVELS)[number];
export const GROUNDING_TOOLS = ['google-search'] as const;
/** Where a number comes from: Google's docs, third-party gateways (unconfirmed), or our assumption. */
export const CONFIDENCES = ['google', 'third-party', 'assumed'] as const;

const date = z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'use YYYY-MM-DD (or YYYY-MM)');
const pixels = z.tuple([z.number().int().positive(), z.number().int().positive()]);

const pricesSchema = z.strictObject({
  inputText: z.number().nonnegative(),
  inputImage: z.number().nonnegative(),
  outputText: z.number().nonnegative(),
  outputImage: z.number().nonnegative(),
});

const lifecycleSchema = z.strictObject({
  status: z.enum(MODEL_STATUSES),
  released: date.optional(),
  deprecated: date.optional(),
  shutdown: date.optional(),
  /** The shutdown date is the earliest announced, not a confirmed turn-off. */
  shutdownIsEarliest: z.boolean().optional(),
  /** The model to use instead (may itself be retired: follow `liveReplacement`). */
  replacement: z.string().optional(),
  restrictions: z.array(z.string()).default([]),
  source: z.string().default('BANANAFLOW_MODEL_OVERRIDES'),
  checked: date.optional(),
});

const thinkingSchema = z.union([
  z.literal(false),
  z.strictObject({
    levels: z.array(z.enum(THINKING_LEVELS)).min(1),
    default: z.enum(THINKING_LEVELS),
    /** Thinking cannot be turned off (Pro): thoughts are billed on every call. */
    alwaysOn: z.boolean().default(false),
  }),
]);

const modelSchema = z.strictObject({
  id: z.string().min(1),
  aliases: z.array(z.string()).default([]),
  displayName: z.string().optional(),
  /** The general-purpose model used when nothing names one (exactly one GA row). */
  default: z.boolean().optional(),
  lifecycle: lifecycleSchema.default({ status: 'ga', restrictions: [], source: 'configuration' }),
  maxInputImages: z.number().int().positive(),
  inputMimeTypes: z.array(z.string()).min(1),
  /** What the model takes besides images (text, video, pdf); informative. */
  inputModalities: z.array(z.string()).default(['text', 'image']),
  /** Inputs are downscaled so their long edge is at most this: the model gains nothing from more. */
  inputLongEdgePx: z.number().int().positive(),
  aspectRatios: z.array(z.string()).min(1),
  /** Values `imageSize` may take; empty = the model has one fixed size (the field is not sent). */
  imageSizes: z.array(z.string()).default([]),
  /** The size the model gives when none is asked for (its only size when imageSizes is empty). */
  defaultImageSize: z.string().default('1K'),
  /** Output edge relative to 1K, for sizes whose pixel table is not known. */
  imageSizeScale: z.record(z.string(), z.number().positive()).default({ '1K': 1 }),
  /** Output pixel size per image size, then per aspect ratio, where known. */
  outputSizes: z.record(z.string(), z.record(z.string(), pixels)).default({}),
  inputImageTokens: z.discriminatedUnion('rule', [
    z.strictObject({
      rule: z.literal('tiles'),
      smallMaxPx: z.number().int().positive(),
      tilePx: z.number().int().positive(),
      tokensPerTile: z.number().int().positive(),
    }),
    z.strictObject({ rule: z.literal('fixed'), tokensPerImage: z.number().int().positive() }),
  ]),
  /** The token schedule: output image tokens per image, by image size. */
  outputImageTokens: z.record(z.string(), z.number().int().positive()),
  thinking: thinkingSchema,
  estimateThoughtTokens: z.number().int().nonnegative().default(0),
  grounding: z.array(z.enum(GROUNDING_TOOLS)).default([]),
  /** Billed per grounded request on top of tokens. */
  groundingUsdPerRequest: z.number().nonnegative().default(0),
  batch: z.boolean().default(false),
  flex: z.boolean().default(false),
  pricesPerMillionTokens: pricesSchema,
  batchDiscount: z.number().min(0).max(1).default(0),
  flexDiscount: z.number().min(0).max(1).default(0),
  confidence: z
    .strictObject({
      lifecycle: z.enum(CONFIDENCES),
      capabilities: z.enum(CONFIDENCES),
      prices: z.enum(CONFIDENCES),
      notes: z.array(z.string()).default([]),
    })
    .optional(),
});

export const catalogSchema = z
  .strictObject({
    $comment: z.string().optional(),
    priceTable: z.strictObject({
      version: z.string().min(1),
      currency: z.literal('USD'),
      source: z.string().optional(),
      checked: date.optional(),
    }),
    /** Live model ids that are image models (for `bananaflow models --live`). */
    liveImageModelPattern: z.string().default('image'),
    models: z.array(modelSchema).min(1),
  })
  .superRefine((catalog, ctx) => {
    const defaults = catalog.models.filter((m) => m.default);
    if (defaults.length !== 1 || defaults[0]?.lifecycle.status !== 'ga') {
      ctx.addIssue({
        code: 'custom',
        path: ['models'],
        message: 'exactly one model must have "default": true, and it must be GA',
      });
    }
    const ids = new Set(catalog.models.map((m) => m.id));
    catalog.models.forEach((m, i) => {
      const to = m.lifecycle.replacement;
      if (to !== undefined && !ids.has(to)) {
        ctx.addIssue({
          code: 'custom',
          path: ['models', i, 'lifecycle', 'replacement'],
          message: `"${to}" is not a catalog id`,
        });
      }
    });
  });

export type ModelInfo = z.infer<typeof modelSchema>;
export type ModelPrices = z.infer<typeof pricesSchema>;
export type ModelLifecycle = z.infer<typeof lifecycleSchema>;
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
  /** Which live model ids `bananaflow models --live` counts as image models. */
  readonly liveImageModelPattern: RegExp;
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
    this.liveImageModelPattern = new RegExp(data.liveImageModelPattern, 'i');
    this.priceTableVersion =
      overrides.length > 0 ? `${data.priceTable.version}+config` : data.priceTable.version;
    for (const model of models) {
      this.byName.set(model.id, model);
      for (const alias of model.aliases) this.byName.set(alias, model);
    }
  }

  /** The model for an id or alias; MODEL_UNKNOWN suggests the closest ids and the way out. */
  resolve(name: string): ModelInfo {
    const model = this.byName.get(name);
    if (model) return model;
    const live = this.models.filter((m) => m.lifecycle.status !== 'shut-down').map((m) => m.id);
    const near = closest(name, this.byName.keys());
    throw new BananaError({
      code: 'MODEL_UNKNOWN',
      message: `Model "${name}" is not in the model catalog (price table ${this.priceTableVersion}).${near ? ` Did you mean "${near}"?` : ''}`,
      fix: `Use one of ${live.join(', ')} (\`bananaflow models\` lists them), or give the model's prices in BANANAFLOW_MODEL_OVERRIDES (a JSON array of catalog rows with at least id and pricesPerMillionTokens).`,
      details: { model: name, ...(near ? { didYouMean: near } : {}) },
    });
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The general-purpose GA model the catalog marks `default` (overridable by configuration). */
  get defaultModel(): ModelInfo {
    const marked = this.models.find((m) => m.default && m.lifecycle.status === 'ga');
    // The schema guarantees one; an override may have changed its status, so fall back to any GA.
    const model = marked ?? this.models.find((m) => m.lifecycle.status === 'ga');
    if (!model) throw new Error('The model catalog has no GA model.');
    return model;
  }

  /**
   * The model to use instead of `model`: its replacement, followed past retired ones to the first
   * that is neither shut down nor deprecated (so a fix never names a dead id); else the default.
   */
  liveReplacement(model: ModelInfo): ModelInfo {
    const seen = new Set<string>([model.id]);
    let next = model.lifecycle.replacement;
    let fallback: ModelInfo | undefined;
    while (next && !seen.has(next)) {
      seen.add(next);
      const candidate = this.byName.get(next);
      if (!candidate) break;
      const status = candidate.lifecycle.status;
      if (status === 'ga' || status === 'preview') return candidate;
      if (status === 'deprecated') fallback ??= candidate;
      next = candidate.lifecycle.replacement;
    }
    const chosen = fallback ?? this.defaultModel;
    return chosen.id === model.id ? this.defaultModel : chosen;
  }
}

/** Capabilities assumed for a model known only from configured prices (Gemini image defaults). */
const DEFAULTS_FOR_UNKNOWN_MODEL: Omit<ModelInfo, 'id' | 'pricesPerMillionTokens'> = {
  aliases: [],
  lifecycle: { status: 'ga', restrictions: [], source: 'BANANAFLOW_MODEL_OVERRIDES' },
  maxInputImages: 3,
  inputMimeTypes: ['image/png', 'image/jpeg', 'image/webp'],
  inputModalities: ['text', 'image'],
  inputLongEdgePx: 1536,
  aspectRatios: ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'],
  imageSizes: [],
  defaultImageSize: '1K',
  imageSizeScale: { '1K': 1 },
  outputSizes: { '1K': { '1:1': [1024, 1024] } },
  inputImageTokens: { rule: 'tiles', smallMaxPx: 384, tilePx: 768, tokensPerTile: 258 },
  outputImageTokens: { '1K': 1290 },
  thinking: false,
  estimateThoughtTokens: 0,
  grounding: [],
  groundingUsdPerRequest: 0,
  batch: false,
  flex: false,
  batchDiscount: 0,
  flexDiscount: 0,
};

/** The catalog shipped in models.json, plus overrides from configuration. */
export function loadModelCatalog(overrides: readonly ModelOverride[] = []): ModelCatalog {
  return new ModelCatalog(catalogSchema.parse(catalogData), overrides);
}

/** The image size a request gets: the one asked for, else the model's default. */
export function effectiveImageSize(model: ModelInfo, imageSize?: string): string {
  return imageSize && model.imageSizes.includes(imageSize) ? imageSize : model.defaultImageSize;
}

/**
 * Output pixel size the model gives for an aspect ratio and image size: the catalog's table where
 * known, else the 1K table (or the ratio at 1K's area) scaled, on multiples of 16.
 */
export function outputSizeFor(
  model: ModelInfo,
  aspectRatio: string,
  imageSize?: string,
): [number, number] {
  const size = effectiveImageSize(model, imageSize);
  const known = model.outputSizes[size]?.[aspectRatio];
  if (known) return [known[0], known[1]];
  const base = model.outputSizes[model.defaultImageSize] ?? {};
  const scale =
    (model.imageSizeScale[size] ?? 1) / (model.imageSizeScale[model.defaultImageSize] ?? 1);
  const atBase = base[aspectRatio] ?? sizeForRatio(aspectRatio, base['1:1'] ?? [1024, 1024]);
  return [round16(atBase[0] * scale), round16(atBase[1] * scale)];
}

/** A ratio's width and height with the same pixel count as `square`. */
function sizeForRatio(ratio: string, square: readonly [number, number]): [number, number] {
  const [w, h] = ratio.split(':').map(Number);
  if (!w || !h) return [square[0], square[1]];
  const area = square[0] * square[1];
  const width = Math.sqrt((area * w) / h);
  return [round16(width), round16(area / width)];
}

const round16 = (value: number) => Math.max(16, Math.round(value / 16) * 16);

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
