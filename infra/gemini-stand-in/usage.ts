import { addUsage, type Usage, usageFromMetadata, ZERO_USAGE } from '../../shared/catalog/cost.ts';
import type { WireModalityTokens, WireUsageMetadata } from './protocol.ts';

/**
 * Usage the stand-in reports, following the catalog's rules so that cost tests can check exact
 * numbers: text ~ ceil(chars / 4), input images by the catalog rule, output image tokens by size.
 */

/** Thinking tokens a thinking model reports per call. */
export const STAND_IN_THOUGHT_TOKENS = 200;

/** Text tokens for all text of a request: ceil(chars / 4) over the concatenated text parts. */
export function textTokens(texts: readonly string[]): number {
  const chars = texts.reduce((sum, text) => sum + text.length, 0);
  return Math.ceil(chars / 4);
}

export function usageMetadata(counts: {
  promptText: number;
  promptImage: number;
  outputText?: number;
  outputImage?: number;
  thoughts?: number;
}): WireUsageMetadata {
  const outputText = counts.outputText ?? 0;
  const outputImage = counts.outputImage ?? 0;
  const candidates = outputText + outputImage;
  const thoughts = counts.thoughts ?? 0;
  const prompt = counts.promptText + counts.promptImage;
  const promptTokensDetails: WireModalityTokens[] = [
    { modality: 'TEXT', tokenCount: counts.promptText },
  ];
  if (counts.promptImage > 0) {
    promptTokensDetails.push({ modality: 'IMAGE', tokenCount: counts.promptImage });
  }
  const candidatesTokensDetails: WireModalityTokens[] = [];
  if (outputText > 0) candidatesTokensDetails.push({ modality: 'TEXT', tokenCount: outputText });
  if (outputImage > 0) candidatesTokensDetails.push({ modality: 'IMAGE', tokenCount: outputImage });
  return {
    promptTokenCount: prompt,
    ...(candidates > 0 ? { candidatesTokenCount: candidates, candidatesTokensDetails } : {}),
    ...(thoughts > 0 ? { thoughtsTokenCount: thoughts } : {}),
    totalTokenCount: prompt + candidates + thoughts,
    promptTokensDetails,
  };
}

/** Raw usageMetadata counters summed over calls. */
export interface BilledTokens {
  promptTokenCount: number;
  candidatesTokenCount: number;
  thoughtsTokenCount: number;
  totalTokenCount: number;
}

/** Sums what the stand-in billed, raw and normalised like the pipeline does. */
export class UsageTotals {
  private raw: BilledTokens = emptyBilled();
  private normalised: Usage = { ...ZERO_USAGE };

  add(metadata: WireUsageMetadata): void {
    this.raw = {
      promptTokenCount: this.raw.promptTokenCount + metadata.promptTokenCount,
      candidatesTokenCount: this.raw.candidatesTokenCount + (metadata.candidatesTokenCount ?? 0),
      thoughtsTokenCount: this.raw.thoughtsTokenCount + (metadata.thoughtsTokenCount ?? 0),
      totalTokenCount: this.raw.totalTokenCount + metadata.totalTokenCount,
    };
    this.normalised = addUsage(this.normalised, usageFromMetadata(metadata));
  }

  snapshot(): { usageMetadata: BilledTokens; usage: Usage } {
    return { usageMetadata: { ...this.raw }, usage: { ...this.normalised } };
  }

  reset(): void {
    this.raw = emptyBilled();
    this.normalised = { ...ZERO_USAGE };
  }
}

function emptyBilled(): BilledTokens {
  return {
    promptTokenCount: 0,
    candidatesTokenCount: 0,
    thoughtsTokenCount: 0,
    totalTokenCount: 0,
  };
}
