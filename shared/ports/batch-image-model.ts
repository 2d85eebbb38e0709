import type { ConversationCheckpoint, ImageRequest, ModelOutcome } from './image-model.ts';

/**
 * Port: a batch image model (the Gemini Batch API). Requests are submitted as one batch job under
 * a display name the caller chooses and persists first, found again by that name after a crash,
 * polled, and answered per request key. The Gemini adapter implements it over @google/genai.
 */

/**
 * One request of a batch, under the caller's key (the job id): the first turn of an image request,
 * or, for a refinement, its next turn after `resume` (one batch round per step).
 */
export interface BatchItem {
  key: string;
  request: Pick<
    ImageRequest,
    'model' | 'images' | 'turns' | 'aspectRatio' | 'imageSize' | 'resume'
  >;
}

export const BATCH_STATES = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'expired',
] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** States after which nothing changes: results (succeeded) or none (the others). */
export const FINAL_BATCH_STATES: readonly BatchState[] = [
  'succeeded',
  'failed',
  'cancelled',
  'expired',
];

export interface BatchStatus {
  /** The API's name ("batches/…"). */
  name: string;
  displayName: string;
  state: BatchState;
  /** Requests answered so far, when the API reports it. */
  answered?: number;
}

export interface BatchLimits {
  /** Requests sent inline while the whole batch stays under this many bytes; else a file. */
  inlineMaxBytes: number;
}

export interface BatchImageModel {
  /** Recorded in metadata like `ImageModel.backend`. */
  readonly backend: string;
  /** Bytes an item takes on the wire (base64 images, JSON), for splitting batches by size. */
  sizeOf(item: BatchItem): number;
  /** Creates a batch job; inline under `inlineMaxBytes`, else a JSONL file uploaded first. */
  submit(batch: {
    displayName: string;
    model: string;
    items: readonly BatchItem[];
  }): Promise<BatchStatus & { via: 'inline' | 'file' }>;
  /** The batch job with this display name, if one was created (looked up after a crash). */
  find(displayName: string): Promise<BatchStatus | undefined>;
  status(name: string): Promise<BatchStatus>;
  /** The answers of a succeeded batch by key; a key the API did not answer is absent. */
  results(name: string): Promise<Map<string, ModelOutcome>>;
  /**
   * A refinement step answered (with an image) in a batch: the checkpoint the next step goes on
   * from (`item` is the request that was sent, `answer` its outcome from `results`).
   */
  continueConversation(item: BatchItem, answer: ModelOutcome): ConversationCheckpoint;
}
