import type { UsageMetadataLike } from '../catalog/cost.ts';
import type { ModelImage, ModelOutcomeKind } from '../ports/image-model.ts';
import { classifyQuota, nextPacificMidnight } from './classify-quota.ts';

/**
 * Turns what the Gemini SDK returns or throws into the port's outcome kinds. Pure functions over
 * plain shapes, so that every branch can be checked without a server.
 */

/** The parts of a GenerateContentResponse the classification reads (wire field names). */
export interface ResponseLike {
  candidates?: ReadonlyArray<{
    content?: {
      parts?: ReadonlyArray<{
        text?: string;
        thought?: boolean;
        inlineData?: { mimeType?: string; data?: string };
      }>;
    };
    finishReason?: string;
    finishMessage?: string;
    /** Present when the answer was grounded in Google Search (billed per request). */
    groundingMetadata?: unknown;
  }>;
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  usageMetadata?: UsageMetadataLike;
  modelVersion?: string;
}

/** finishReasons that mean the model's own output was filtered. */
export const BLOCKED_FINISH_REASONS: ReadonlySet<string> = new Set([
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
  'SAFETY',
  'PROHIBITED_CONTENT',
  'BLOCKLIST',
  'SPII',
  'RECITATION',
]);

interface TurnFields {
  text?: string;
  finishReason?: string;
  finishMessage?: string;
  blockReason?: string;
}

export type TurnClassification =
  | (TurnFields & { kind: 'image'; image: ModelImage })
  | (TurnFields & {
      kind: Extract<
        ModelOutcomeKind,
        'blocked-prompt' | 'blocked-output' | 'text-only' | 'no-image'
      >;
      message: string;
    });

/** Classifies one answered turn. Only the first non-thought inline image counts as output. */
export function classifyResponse(response: ResponseLike): TurnClassification {
  const candidate = response.candidates?.[0];
  const parts = candidate?.content?.parts ?? [];
  const texts: string[] = [];
  let image: ModelImage | undefined;
  for (const part of parts) {
    // Thought parts (interim images, reasoning text) are never the answer.
    if (part.thought) continue;
    if (typeof part.text === 'string' && part.text.trim() !== '') texts.push(part.text);
    const data = part.inlineData?.data;
    if (!image && data) {
      const mimeType = part.inlineData?.mimeType ?? 'image/png';
      const bytes = Buffer.from(data, 'base64');
      if (mimeType.startsWith('image/') && bytes.length > 0) image = { mimeType, bytes };
    }
  }
  const fields: TurnFields = {};
  if (texts.length > 0) fields.text = texts.join('\n');
  if (candidate?.finishReason) fields.finishReason = candidate.finishReason;
  if (candidate?.finishMessage) fields.finishMessage = candidate.finishMessage;
  const blockReason = response.promptFeedback?.blockReason;
  if (blockReason) fields.blockReason = blockReason;

  if (image) return { ...fields, kind: 'image', image };
  if (blockReason) {
    const detail = response.promptFeedback?.blockReasonMessage;
    return {
      ...fields,
      kind: 'blocked-prompt',
      message: `Gemini blocked the prompt (blockReason ${blockReason})${detail ? `: ${detail}` : '.'}`,
    };
  }
  const finishReason = fields.finishReason;
  if (finishReason && BLOCKED_FINISH_REASONS.has(finishReason)) {
    return {
      ...fields,
      kind: 'blocked-output',
      message: `Gemini filtered its output (finishReason ${finishReason})${fields.finishMessage ? `: ${fields.finishMessage}` : '.'}`,
    };
  }
  if (fields.text !== undefined) {
    return {
      ...fields,
      kind: 'text-only',
      message: `Gemini answered with text but no image${finishReason ? ` (finishReason ${finishReason})` : ''}: "${truncate(fields.text, 300)}"`,
    };
  }
  const why = !response.candidates
    ? 'no candidates'
    : response.candidates.length === 0
      ? 'an empty candidates list'
      : `finishReason ${finishReason ?? 'unset'}${fields.finishMessage ? ` (${fields.finishMessage})` : ''}`;
  return { ...fields, kind: 'no-image', message: `Gemini returned no image: ${why}.` };
}

export interface ErrorClassification {
  kind: Extract<
    ModelOutcomeKind,
    'quota' | 'quota-daily' | 'billing' | 'transient' | 'timeout' | 'permanent'
  >;
  message: string;
  status?: number;
  retryAfterMs?: number;
  quotaId?: string;
  /** quota-daily: when it resets (ISO, midnight Pacific). */
  resetsAt?: string;
}

interface GoogleErrorJson {
  error?: { code?: number; message?: string; status?: string; details?: unknown[] };
}

function parseErrorBody(message: string): GoogleErrorJson['error'] | undefined {
  try {
    const parsed = JSON.parse(message) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const inner = (parsed as GoogleErrorJson).error;
      if (typeof inner === 'object' && inner !== null) return inner;
    }
  } catch {
    // Not JSON: the SDK wraps non-JSON error bodies itself, so this is rare; use the raw text.
  }
  return undefined;
}

/** A protobuf Duration as JSON ("19s", "1.5s") or as {seconds, nanos}, in ms. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value);
    return match?.[1] === undefined ? undefined : Math.round(Number(match[1]) * 1000);
  }
  if (typeof value === 'object' && value !== null) {
    const { seconds, nanos } = value as { seconds?: unknown; nanos?: unknown };
    const s = Number(seconds ?? 0);
    const n = Number(nanos ?? 0);
    if (Number.isFinite(s) && Number.isFinite(n)) return Math.round(s * 1000 + n / 1e6);
  }
  return undefined;
}

/** RetryInfo.retryDelay from the error details, else "Please retry in 19.9s." in the message. */
export function retryAfterMsOf(
  details: unknown[] | undefined,
  message: string,
): number | undefined {
  for (const detail of details ?? []) {
    if (typeof detail !== 'object' || detail === null) continue;
    const record = detail as Record<string, unknown>;
    if (typeof record['@type'] === 'string' && record['@type'].endsWith('google.rpc.RetryInfo')) {
      const ms = parseDuration(record.retryDelay);
      if (ms !== undefined) return ms;
    }
  }
  const match = /retry in (\d+(?:\.\d+)?)\s*(ms|s)\b/i.exec(message);
  if (!match?.[1]) return undefined;
  return Math.round(Number(match[1]) * (match[2]?.toLowerCase() === 'ms' ? 1 : 1000));
}

function isApiError(error: unknown): error is Error & { status: number } {
  return (
    error instanceof Error &&
    error.name === 'ApiError' &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}

/**
 * Classifies anything the SDK throws. `secrets` (the API key) are cut out of every message, in
 * case a proxy echoes the request URL or headers back.
 */
export function classifyError(
  error: unknown,
  secrets: readonly string[] = [],
  now: Date = new Date(),
): ErrorClassification {
  const redact = (text: string) =>
    secrets.reduce((t, secret) => (secret ? t.split(secret).join('[redacted]') : t), text);

  if (isApiError(error)) {
    const status = error.status;
    const body = parseErrorBody(error.message);
    const apiMessage = truncate(redact(body?.message ?? error.message), 500);
    const statusName = body?.status ? ` ${body.status}` : '';
    const message = `Gemini API answered ${status}${statusName}: ${apiMessage}`;
    if (status === 429) return classify429(body, error.message, message, now);
    if (status === 408 || status >= 500) return { kind: 'transient', message, status };
    return { kind: 'permanent', message, status };
  }
  if (error instanceof Error) {
    // The SDK enforces httpOptions.timeout by aborting fetch: a DOMException named AbortError.
    if (error.name === 'AbortError' || error.name === 'TimeoutError') {
      return {
        kind: 'timeout',
        message: 'The Gemini request timed out (no answer within the per-request timeout).',
      };
    }
    if (error instanceof SyntaxError) {
      // A 200 whose body is cut off or not JSON: the response was lost on the way.
      return {
        kind: 'transient',
        message: `Gemini's response could not be read (truncated or not JSON): ${truncate(redact(error.message), 200)}`,
      };
    }
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return {
      kind: 'transient',
      message: `Calling Gemini failed (${error.name}: ${truncate(redact(`${error.message}${cause}`), 300)})`,
    };
  }
  return {
    kind: 'transient',
    message: `Calling Gemini failed: ${truncate(redact(String(error)), 300)}`,
  };
}

/** A 429 by its details: per-minute and shared-pool wait, per-day waits for the reset, credits stop. */
function classify429(
  body: GoogleErrorJson['error'],
  raw: string,
  message: string,
  now: Date,
): ErrorClassification {
  const reading = classifyQuota(body?.details, body?.message ?? raw);
  const quota = reading.quotaId ? { quotaId: reading.quotaId } : {};
  const noted = reading.quotaId ? `${message} (quota ${reading.quotaId})` : message;
  if (reading.kind === 'per-day') {
    return {
      kind: 'quota-daily',
      message: noted,
      status: 429,
      ...quota,
      resetsAt: nextPacificMidnight(now).toISOString(),
    };
  }
  if (reading.kind === 'credits') return { kind: 'billing', message: noted, status: 429, ...quota };
  const retryAfterMs = retryAfterMsOf(body?.details, body?.message ?? raw);
  return {
    kind: 'quota',
    message: reading.kind === 'shared-pool' ? `${noted} (Vertex AI shared capacity)` : noted,
    status: 429,
    ...quota,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
