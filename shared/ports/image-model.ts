import type { Usage } from '../catalog/cost.ts';

/**
 * Port: an image model. The Gemini adapter (Gemini API or Vertex AI, or any server speaking the
 * Gemini REST protocol such as the offline stand-in) implements it.
 */

export interface ModelImage {
  mimeType: string;
  bytes: Buffer;
}

export interface ImageRequest {
  /** Canonical model id from the catalog. */
  model: string;
  /** Images sent with the first turn: the inputs, then the references. */
  images: readonly ModelImage[];
  /** One prompt per turn; more than one = iterative refinement in one conversation. */
  turns: readonly string[];
  aspectRatio?: string;
  imageSize?: string;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  /**
   * Called after each turn that produced an image, before the next one; a refinement can stop
   * early (e.g. the cost cap) by throwing.
   */
  onTurn?: (turn: TurnResult, index: number) => void;
}

export interface TurnResult {
  usage: Usage;
  finishReason?: string;
  text?: string;
}

export const MODEL_OUTCOMES = [
  'image',
  'blocked-prompt',
  'blocked-output',
  'text-only',
  'no-image',
  'quota',
  'transient',
  'timeout',
  'permanent',
] as const;
export type ModelOutcomeKind = (typeof MODEL_OUTCOMES)[number];

interface OutcomeBase {
  /** Usage summed over all turns that were answered (a blocked reply can still be billed). */
  usage: Usage;
  /** Per turn, in order. */
  turns: TurnResult[];
  modelVersion?: string;
  finishReason?: string;
  /** Text the model returned (a refusal, a caption). */
  text?: string;
  modelMs: number;
}

export type ModelOutcome =
  | (OutcomeBase & { kind: 'image'; image: ModelImage })
  | (OutcomeBase & {
      kind: Exclude<ModelOutcomeKind, 'image'>;
      message: string;
      /** HTTP status when the API answered with an error. */
      status?: number;
      retryAfterMs?: number;
    });

export interface ImageModel {
  /** 'gemini-api' | 'vertex-ai' | 'offline-stand-in' | ... , recorded in metadata. */
  readonly backend: string;
  generate(request: ImageRequest): Promise<ModelOutcome>;
}
