import { z } from 'zod';
import { effectiveImageSize, type ModelInfo } from './model-catalog.ts';
import type { Tier } from './tiers.ts';

/** Token usage of one or more model calls, by what is billed differently. */
export interface Usage {
  inputTextTokens: number;
  inputImageTokens: number;
  outputTextTokens: number;
  outputImageTokens: number;
  thoughtsTokens: number;
  totalTokens: number;
  /** Requests answered with Google Search grounding: billed per request, on top of tokens. */
  groundedRequests?: number;
}

export interface Cost {
  currency: 'USD';
  input: number;
  output: number;
  /** Grounding fees (per grounded request), when any; included in `total`. */
  grounding?: number;
  total: number;
  priceTableVersion: string;
  /** The discounted tier the prices are for (absent = standard list prices). */
  tier?: Tier;
  /** True when computed from the catalog before any call, false when from reported usage. */
  estimated: boolean;
}

/** Usage as stored in job state and records (read back through this schema, never a cast). */
export const usageSchema: z.ZodType<Usage> = z.object({
  inputTextTokens: z.number(),
  inputImageTokens: z.number(),
  outputTextTokens: z.number(),
  outputImageTokens: z.number(),
  thoughtsTokens: z.number(),
  totalTokens: z.number(),
  groundedRequests: z.number().optional(),
});

export const ZERO_USAGE: Usage = Object.freeze({
  inputTextTokens: 0,
  inputImageTokens: 0,
  outputTextTokens: 0,
  outputImageTokens: 0,
  thoughtsTokens: 0,
  totalTokens: 0,
});

/** Grounded requests only when there are any, so records without grounding stay as they were. */
function grounded(count: number): Pick<Usage, 'groundedRequests'> {
  return count > 0 ? { groundedRequests: count } : {};
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    ...grounded((a.groundedRequests ?? 0) + (b.groundedRequests ?? 0)),
    inputTextTokens: a.inputTextTokens + b.inputTextTokens,
    inputImageTokens: a.inputImageTokens + b.inputImageTokens,
    outputTextTokens: a.outputTextTokens + b.outputTextTokens,
    outputImageTokens: a.outputImageTokens + b.outputImageTokens,
    thoughtsTokens: a.thoughtsTokens + b.thoughtsTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}

/** The subset of Gemini's `usageMetadata` that billing depends on. */
/** a − b by modality, never below zero (what `a` was billed beyond `b`). */
export function subtractUsage(a: Usage, b: Usage): Usage {
  const minus = (x: number, y: number) => Math.max(0, x - y);
  return {
    ...grounded(minus(a.groundedRequests ?? 0, b.groundedRequests ?? 0)),
    inputTextTokens: minus(a.inputTextTokens, b.inputTextTokens),
    inputImageTokens: minus(a.inputImageTokens, b.inputImageTokens),
    outputTextTokens: minus(a.outputTextTokens, b.outputTextTokens),
    outputImageTokens: minus(a.outputImageTokens, b.outputImageTokens),
    thoughtsTokens: minus(a.thoughtsTokens, b.thoughtsTokens),
    totalTokens: minus(a.totalTokens, b.totalTokens),
  };
}

export interface UsageMetadataLike {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
  promptTokensDetails?: ReadonlyArray<{ modality?: string; tokenCount?: number }>;
  candidatesTokensDetails?: ReadonlyArray<{ modality?: string; tokenCount?: number }>;
}

function tokensOf(
  details: UsageMetadataLike['promptTokensDetails'],
  modality: 'TEXT' | 'IMAGE',
): number | undefined {
  if (!details) return undefined;
  let sum = 0;
  let found = false;
  for (const detail of details) {
    if (detail.modality === modality) {
      sum += detail.tokenCount ?? 0;
      found = true;
    }
  }
  return found ? sum : undefined;
}

/**
 * Normalises Gemini's usageMetadata. Image tokens are itemised by modality; whatever is not
 * itemised as IMAGE is billed as text (the API may itemise image output but not text output).
 */
export function usageFromMetadata(metadata: UsageMetadataLike | undefined): Usage {
  if (!metadata) return { ...ZERO_USAGE };
  const prompt = metadata.promptTokenCount ?? 0;
  const candidates = metadata.candidatesTokenCount ?? 0;
  const thoughts = metadata.thoughtsTokenCount ?? 0;
  const inputImage = Math.min(tokensOf(metadata.promptTokensDetails, 'IMAGE') ?? 0, prompt);
  const outputImage = Math.min(
    tokensOf(metadata.candidatesTokensDetails, 'IMAGE') ?? 0,
    candidates,
  );
  return {
    inputTextTokens: prompt - inputImage,
    inputImageTokens: inputImage,
    outputTextTokens: candidates - outputImage,
    outputImageTokens: outputImage,
    thoughtsTokens: thoughts,
    totalTokens: metadata.totalTokenCount ?? prompt + candidates + thoughts,
  };
}

/** Rounds to a nano-dollar so that sums of many jobs stay exact to the cent. */
function usd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

/**
 * Cost of reported usage at the model's list prices (thoughts billed at the text-output rate),
 * plus the grounding fee per grounded request. Batch and flex take the model's discount.
 */
export function costFromUsage(
  model: ModelInfo,
  usage: Usage,
  priceTableVersion: string,
  options: { batch?: boolean; flex?: boolean; tier?: Tier | undefined; estimated?: boolean } = {},
): Cost {
  const p = model.pricesPerMillionTokens;
  const tier = options.tier ?? (options.batch ? 'batch' : options.flex ? 'flex' : 'standard');
  const discount =
    tier === 'batch' ? model.batchDiscount : tier === 'flex' ? model.flexDiscount : 0;
  const factor = (1 - discount) / 1_000_000;
  const input =
    (usage.inputTextTokens * p.inputText + usage.inputImageTokens * p.inputImage) * factor;
  const output =
    ((usage.outputTextTokens + usage.thoughtsTokens) * p.outputText +
      usage.outputImageTokens * p.outputImage) *
    factor;
  const grounding = (usage.groundedRequests ?? 0) * model.groundingUsdPerRequest;
  return {
    currency: 'USD',
    input: usd(input),
    output: usd(output),
    ...(grounding > 0 ? { grounding: usd(grounding) } : {}),
    total: usd(input + output + grounding),
    priceTableVersion,
    ...(tier === 'standard' ? {} : { tier }),
    estimated: options.estimated ?? false,
  };
}

/** Input tokens the model counts for one image of this size (Gemini 2.x tiling, or a fixed rate). */
export function inputImageTokens(model: ModelInfo, width: number, height: number): number {
  const rule = model.inputImageTokens;
  if (rule.rule === 'fixed') return rule.tokensPerImage;
  if (width <= rule.smallMaxPx && height <= rule.smallMaxPx) return rule.tokensPerTile;
  return Math.ceil(width / rule.tilePx) * Math.ceil(height / rule.tilePx) * rule.tokensPerTile;
}

/** The model's token schedule: output image tokens for one image at this size. */
export function outputImageTokensFor(model: ModelInfo, imageSize?: string): number {
  const size = effectiveImageSize(model, imageSize);
  const tokens =
    model.outputImageTokens[size] ?? model.outputImageTokens[model.defaultImageSize] ?? undefined;
  if (tokens !== undefined) return tokens;
  // A configured model with a schedule for other sizes only: the largest known is the safe guess.
  return Math.max(...Object.values(model.outputImageTokens));
}

/** Rough text tokens for a prompt (about 4 characters a token), for estimates only. */
export function estimateTextTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export interface EstimateInput {
  /** Pixel sizes of the images sent with the first turn (after downscaling). */
  images: ReadonlyArray<{ width: number; height: number }>;
  turns: readonly string[];
  imageSize?: string;
  outputSize: [number, number];
  /** Google Search grounding on every turn (billed per request). */
  grounding?: boolean;
}

/**
 * Usage the catalog predicts for one job. Each refinement turn re-sends the conversation so far,
 * so input grows per turn: earlier prompts, the input images and every earlier output image.
 */
export function estimateUsage(model: ModelInfo, job: EstimateInput): Usage {
  let usage = { ...ZERO_USAGE };
  const imageTokens = job.images.reduce(
    (s, i) => s + inputImageTokens(model, i.width, i.height),
    0,
  );
  const outputImageIn = inputImageTokens(model, job.outputSize[0], job.outputSize[1]);
  const outputImage = outputImageTokensFor(model, job.imageSize);
  let historyText = 0;
  job.turns.forEach((prompt, index) => {
    const text = historyText + estimateTextTokens(prompt);
    const images = imageTokens + index * outputImageIn;
    const thoughts = model.estimateThoughtTokens;
    usage = addUsage(usage, {
      inputTextTokens: text,
      inputImageTokens: images,
      outputTextTokens: 0,
      outputImageTokens: outputImage,
      thoughtsTokens: thoughts,
      totalTokens: text + images + outputImage + thoughts,
      ...grounded(job.grounding ? 1 : 0),
    });
    historyText = text;
  });
  return usage;
}
