import {
  type Content,
  type GenerateContentConfig,
  GoogleGenAI,
  type Part,
  ServiceTier,
  ThinkingLevel,
} from '@google/genai';
import { addUsage, type Usage, usageFromMetadata, ZERO_USAGE } from '../catalog/cost.ts';
import type { GeminiBackend } from '../config.ts';
import {
  answeredOutcome,
  errorFields,
  type GeminiModelOutcome,
  turnFields,
} from '../gemini/classified-outcome.ts';
import {
  classifyError,
  classifyResponse,
  type ErrorClassification,
  type ResponseLike,
  type TurnClassification,
} from '../gemini/classify-outcome.ts';
import type {
  ConversationCheckpoint,
  ImageModel,
  ImageRequest,
  ModelOutcomeKind,
  TurnResult,
} from '../ports/image-model.ts';

/**
 * The ImageModel port over @google/genai: Gemini API (API key) or Vertex AI (ADC), or any server
 * speaking the Gemini REST protocol (the offline stand-in) through `baseUrl`.
 *
 * One attempt per call: no SDK retries (the pipeline owns the retry policy), so every outcome,
 * errors included, comes back classified rather than thrown. The only thing that throws is
 * `request.onTurn`, whose error is passed on so a caller can stop a refinement early.
 */

export type { GeminiModelOutcome, GeminiOutcomeExtras } from '../gemini/classified-outcome.ts';

export interface GeminiImageModelOptions {
  backend: GeminiBackend;
  /** Recorded as `ImageModel.backend` (e.g. 'offline-stand-in'); default the backend kind. */
  label?: string;
}

export function createGeminiImageModel(options: GeminiImageModelOptions): ImageModel {
  const { backend } = options;
  // Setting baseUrl explicitly wins over GOOGLE_GEMINI_BASE_URL, which the SDK reads itself.
  const httpOptions = backend.baseUrl ? { baseUrl: backend.baseUrl } : undefined;
  const ai =
    backend.kind === 'gemini-api'
      ? new GoogleGenAI({ apiKey: backend.apiKey, ...(httpOptions ? { httpOptions } : {}) })
      : new GoogleGenAI({
          vertexai: true,
          project: backend.project,
          location: backend.location,
          ...(httpOptions ? { httpOptions } : {}),
        });
  const secrets = backend.kind === 'gemini-api' ? [backend.apiKey] : [];

  return {
    backend: options.label ?? backend.kind,
    generate: (request) => generate(ai, request, secrets),
  };
}

function configFor(request: ImageRequest): GenerateContentConfig {
  const imageConfig = {
    ...(request.aspectRatio ? { aspectRatio: request.aspectRatio } : {}),
    ...(request.imageSize ? { imageSize: request.imageSize } : {}),
  };
  return {
    responseModalities: ['IMAGE', 'TEXT'],
    ...(Object.keys(imageConfig).length > 0 ? { imageConfig } : {}),
    ...(request.thinkingLevel
      ? { thinkingConfig: { thinkingLevel: thinkingLevelOf(request.thinkingLevel) } }
      : {}),
    ...(request.grounding === 'google-search' ? { tools: [{ googleSearch: {} }] } : {}),
    // The SDK sends this as the request's top-level `serviceTier` field.
    ...(request.serviceTier === 'flex' ? { serviceTier: ServiceTier.FLEX } : {}),
    // Per attempt; there is exactly one attempt because retryOptions is never set.
    httpOptions: { timeout: request.timeoutMs },
    // Continuation would let the SDK make extra requests on its own: one call, one request.
    automaticContinuation: false,
  };
}

/** What the turns answered so far add up to (a resumed call starts from its checkpoint's). */
interface Progress {
  usage: Usage;
  turns: TurnResult[];
  modelVersion: string | undefined;
}

async function generate(
  ai: GoogleGenAI,
  request: ImageRequest,
  secrets: readonly string[],
): Promise<GeminiModelOutcome> {
  const started = performance.now();
  const talk = conversation(ai, request);
  const progress: Progress = {
    usage: talk.resume ? { ...talk.resume.usage } : { ...ZERO_USAGE },
    turns: talk.resume ? [...talk.resume.turns] : [],
    modelVersion: talk.resume?.modelVersion,
  };
  let last: TurnClassification | undefined;
  for (const [index, prompt] of request.turns.entries()) {
    if (index < (talk.resume?.turns.length ?? 0)) continue;
    let response: ResponseLike;
    try {
      response = await talk.send(index === 0 ? firstParts(request) : [{ text: prompt }]);
    } catch (error) {
      const failure = classifyError(error, secrets);
      return errorOutcome(request, index, failure, progress, started);
    }
    const answered = addTurn(progress, response);
    last = answered.classification;
    if (last.kind !== 'image') break;
    // Outside any try: an error from the caller's callback ends the refinement as it is.
    await request.onTurn?.(answered.turn, index, talk.checkpoint(progress, index));
  }
  if (!last) {
    // No turns requested: nothing was sent, nothing billed.
    return failed('no-image', 'The request had no prompt turns.', progress, started);
  }
  const turnNote =
    request.turns.length > 1 ? `Turn ${progress.turns.length} of ${request.turns.length}: ` : '';
  return answeredOutcome(last, { ...progress, modelMs: elapsed(started) }, turnNote);
}

/**
 * How the request's turns are sent: a chat when there are several (it keeps history, images and
 * thought signatures between turns), a single call for one, which needs none of it.
 */
function conversation(ai: GoogleGenAI, request: ImageRequest) {
  const config = configFor(request);
  const resume = resumable(request);
  const chat =
    request.turns.length > 1
      ? ai.chats.create({
          model: request.model,
          config,
          ...(resume ? { history: resume.conversation as Content[] } : {}),
        })
      : undefined;
  const send = (parts: Part[]): Promise<ResponseLike> =>
    chat
      ? chat.sendMessage({ message: parts })
      : ai.models.generateContent({
          model: request.model,
          contents: [{ role: 'user', parts }],
          config,
        });
  /** What a later call needs to go on after turn `index`, while more turns follow. */
  const checkpoint = (progress: Progress, index: number): ConversationCheckpoint | undefined =>
    chat && index + 1 < request.turns.length
      ? {
          usage: progress.usage,
          turns: [...progress.turns],
          ...(progress.modelVersion ? { modelVersion: progress.modelVersion } : {}),
          conversation: chat.getHistory(true),
        }
      : undefined;
  return { resume, send, checkpoint };
}

/** The first turn: the images, then the prompt. */
function firstParts(request: ImageRequest): Part[] {
  return [
    ...request.images.map((image) => ({
      inlineData: { mimeType: image.mimeType, data: image.bytes.toString('base64') },
    })),
    { text: request.turns[0] ?? '' },
  ];
}

/** Adds an answered turn to the progress; returns its classification and its result. */
function addTurn(
  progress: Progress,
  response: ResponseLike,
): { classification: TurnClassification; turn: TurnResult } {
  const classification = classifyResponse(response);
  const turnUsage = withGrounding(usageFromMetadata(response.usageMetadata), response);
  const turn: TurnResult = { usage: turnUsage, ...turnFields(classification) };
  progress.usage = addUsage(progress.usage, turnUsage);
  progress.turns.push(turn);
  progress.modelVersion = response.modelVersion ?? progress.modelVersion;
  return { classification, turn };
}

/** A call that threw at turn `index`: what was answered before it is kept (and was billed). */
function errorOutcome(
  request: ImageRequest,
  index: number,
  failure: ErrorClassification,
  progress: Progress,
  started: number,
): GeminiModelOutcome {
  return {
    ...errorFields(failure),
    message:
      index > 0
        ? `Turn ${index + 1} of ${request.turns.length}: ${failure.message}`
        : failure.message,
    ...(failure.quotaId ? { quotaId: failure.quotaId } : {}),
    ...(failure.resetsAt ? { resetsAt: failure.resetsAt } : {}),
    model: request.model,
    usage: progress.usage,
    turns: progress.turns,
    ...(progress.modelVersion ? { modelVersion: progress.modelVersion } : {}),
    modelMs: elapsed(started),
  };
}

/** The request's checkpoint when it can be resumed from, else an error (never a silent restart). */
function resumable(request: ImageRequest): ConversationCheckpoint | undefined {
  const resume = request.resume;
  if (!resume) return undefined;
  if (
    resume.turns.length < 1 ||
    resume.turns.length >= request.turns.length ||
    !Array.isArray(resume.conversation)
  ) {
    throw new Error(
      `Cannot resume a ${request.turns.length}-turn conversation after turn ${resume.turns.length}.`,
    );
  }
  return resume;
}

function failed(
  kind: Exclude<ModelOutcomeKind, 'image'>,
  message: string,
  { usage, turns }: Progress,
  started: number,
): GeminiModelOutcome {
  return { kind, message, usage, turns, modelMs: elapsed(started) };
}

/** The SDK's enum value for a catalog thinking level ("medium" → MEDIUM). */
function thinkingLevelOf(level: string): ThinkingLevel {
  const value = ThinkingLevel[level.toUpperCase() as keyof typeof ThinkingLevel];
  return value ?? (level.toUpperCase() as ThinkingLevel);
}

/** A turn answered with grounding metadata was a grounded request, billed per request. */
function withGrounding(usage: Usage, response: ResponseLike): Usage {
  return response.candidates?.[0]?.groundingMetadata ? { ...usage, groundedRequests: 1 } : usage;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
