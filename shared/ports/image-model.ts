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
  /** "512" | "1K" | "2K" | "4K" where the model supports it (a string, never a number). */
  imageSize?: string;
  /** Thinking level ("minimal", "medium", "high"...) where the model supports it. */
  thinkingLevel?: string;
  /** "google-search": ground the answer in Google Search results (billed per request). */
  grounding?: string;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  /** `flex`: the discounted, best-effort Flex tier (absent = standard). */
  serviceTier?: 'flex';
  /**
   * Called after each turn that produced an image, before the next one; a refinement can stop
   * early (e.g. the cost cap) by throwing. When more turns follow, `checkpoint` is what a later
   * call needs to go on from here (see `resume`); persist it to never pay for these turns again.
   */
  onTurn?: (
    turn: TurnResult,
    index: number,
    checkpoint: ConversationCheckpoint | undefined,
  ) => void | Promise<void>;
  /**
   * Go on from a checkpoint an earlier call handed to `onTurn`: the turns it holds are not sent
   * again, and the outcome's usage and turns include the checkpoint's.
   */
  resume?: ConversationCheckpoint;
}

/** A refinement stopped between turns, as JSON: enough to go on without paying again. */
export interface ConversationCheckpoint {
  /** The turns answered with an image so far (at least 1, fewer than the request's turns). */
  turns: TurnResult[];
  /** Their usage, summed. */
  usage: Usage;
  modelVersion?: string;
  /** The adapter's own conversation state (Gemini: the chat history, thought signatures kept). */
  conversation: unknown;
}

export interface TurnResult {
  usage: Usage;
  finishReason?: string;
  text?: string;
}

/**
 * What a call can end in. `quota` = per-minute or shared-pool exhaustion (retry after the delay);
 * `quota-daily` = the per-day quota of that model ran out (retrying before it resets cannot help);
 * `billing` = prepaid credits depleted or the spend cap reached (a person must act).
 */
export const MODEL_OUTCOMES = [
  'image',
  'blocked-prompt',
  'blocked-output',
  'text-only',
  'no-image',
  'quota',
  'quota-daily',
  'billing',
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
  /** Set when the answer came from a batch job (the batch tier), not a direct call. */
  batch?: BatchAnswer;
}

/** Which batch job answered a request, and under what key. */
export interface BatchAnswer {
  name: string;
  displayName: string;
  key: string;
}

export type ModelOutcome =
  | (OutcomeBase & { kind: 'image'; image: ModelImage })
  | (OutcomeBase & {
      kind: Exclude<ModelOutcomeKind, 'image'>;
      message: string;
      /** HTTP status when the API answered with an error. */
      status?: number;
      retryAfterMs?: number;
      /** The model the failed request named (a 404's fix names its replacement). */
      model?: string;
      /** quota-daily: when the daily quota resets (ISO time, midnight Pacific). */
      resetsAt?: string;
      /** The QuotaFailure quotaId the API named, if any. */
      quotaId?: string;
    });

export interface ImageModel {
  /** 'gemini-api' | 'vertex-ai' | 'offline-stand-in' | ... , recorded in metadata. */
  readonly backend: string;
  generate(request: ImageRequest): Promise<ModelOutcome>;
}
