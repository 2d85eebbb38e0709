import type { Usage } from '../catalog/cost.ts';
import type { BatchAnswer, ModelOutcome, TurnResult } from '../ports/image-model.ts';
import type { ErrorClassification, TurnClassification } from './classify-outcome.ts';

/**
 * Classifications as the port's outcome fields, shared by the Gemini adapters (a direct call and a
 * batch answer are reported alike). Each optional field is set only when there is a value.
 */

/** Extra detail on non-image outcomes, beyond the port's fields (read by `outcomeError`). */
export interface GeminiOutcomeExtras {
  blockReason?: string;
  finishMessage?: string;
}
export type GeminiModelOutcome = ModelOutcome & GeminiOutcomeExtras;

/** A thrown error's classification: its kind, message, status and retry delay. */
export function errorFields(failure: ErrorClassification) {
  return {
    kind: failure.kind,
    message: failure.message,
    ...(failure.status === undefined ? {} : { status: failure.status }),
    ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
  };
}

/** What an answered turn says besides its kind: its finish reason and text. */
export function turnFields(c: TurnClassification): Omit<TurnResult, 'usage'> {
  return {
    ...(c.finishReason ? { finishReason: c.finishReason } : {}),
    ...(c.text === undefined ? {} : { text: c.text }),
  };
}

/** The outcome of an answered call, from its last turn; `note` goes before a failure's message. */
export function answeredOutcome(
  c: TurnClassification,
  base: {
    usage: Usage;
    turns: TurnResult[];
    modelVersion?: string | undefined;
    modelMs: number;
    batch?: BatchAnswer;
  },
  note = '',
): GeminiModelOutcome {
  const { modelVersion, ...rest } = base;
  const common = { ...rest, ...(modelVersion ? { modelVersion } : {}), ...turnFields(c) };
  if (c.kind === 'image') return { ...common, kind: 'image', image: c.image };
  return {
    ...common,
    kind: c.kind,
    message: `${note}${c.message}`,
    ...(c.blockReason ? { blockReason: c.blockReason } : {}),
    ...(c.finishMessage ? { finishMessage: c.finishMessage } : {}),
  };
}
