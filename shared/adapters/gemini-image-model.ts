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
  classifyError,
  classifyResponse,
  type ResponseLike,
  type TurnClassification,
} from '../gemini/classify-outcome.ts';
import type {
  ConversationCheckpoint,
  ImageModel,
  ImageRequest,
  ModelOutcome,
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

/** Extra detail on non-image outcomes, beyond the port's fields (read by `outcomeError`). */
export interface GeminiOutcomeExtras {
  blockReason?: string;
  finishMessage?: string;
}
export type GeminiModelOutcome = ModelOutcome & GeminiOutcomeExtras;

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

async function generate(
  ai: GoogleGenAI,
  request: ImageRequest,
  secrets: readonly string[],
): Promise<GeminiModelOutcome> {
  const started = performance.now();
  const config = configFor(request);
  const firstParts: Part[] = [
    ...request.images.map((image) => ({
      inlineData: { mimeType: image.mimeType, data: image.bytes.toString('base64') },
    })),
    { text: request.turns[0] ?? '' },
  ];
  // A chat keeps history, images and thought signatures between turns; one turn needs none of it.
  const resume = resumable(request);
  const chat =
    request.turns.length > 1
      ? ai.chats.create({
          model: request.model,
          config,
          ...(resume ? { history: resume.conversation as Content[] } : {}),
        })
      : undefined;

  let usage: Usage = resume ? { ...resume.usage } : { ...ZERO_USAGE };
  const turns: TurnResult[] = resume ? [...resume.turns] : [];
  let modelVersion = resume?.modelVersion;
  let last: TurnClassification | undefined;

  for (const [index, prompt] of request.turns.entries()) {
    if (index < (resume?.turns.length ?? 0)) continue;
    const parts = index === 0 ? firstParts : [{ text: prompt }];
    let response: ResponseLike;
    try {
      response = chat
        ? await chat.sendMessage({ message: parts })
        : await ai.models.generateContent({
            model: request.model,
            contents: [{ role: 'user', parts }],
            config,
          });
    } catch (error) {
      const failure = classifyError(error, secrets);
      return {
        kind: failure.kind,
        message:
          index > 0
            ? `Turn ${index + 1} of ${request.turns.length}: ${failure.message}`
            : failure.message,
        ...(failure.status === undefined ? {} : { status: failure.status }),
        ...(failure.retryAfterMs === undefined ? {} : { retryAfterMs: failure.retryAfterMs }),
        ...(failure.quotaId ? { quotaId: failure.quotaId } : {}),
        ...(failure.resetsAt ? { resetsAt: failure.resetsAt } : {}),
        model: request.model,
        usage,
        turns,
        ...(modelVersion ? { modelVersion } : {}),
        modelMs: elapsed(started),
      };
    }

    const classification = classifyResponse(response);
    const turnUsage = withGrounding(usageFromMetadata(response.usageMetadata), response);
    const turn: TurnResult = {
      usage: turnUsage,
      ...(classification.finishReason ? { finishReason: classification.finishReason } : {}),
      ...(classification.text === undefined ? {} : { text: classification.text }),
    };
    usage = addUsage(usage, turnUsage);
    turns.push(turn);
    modelVersion = response.modelVersion ?? modelVersion;
    last = classification;
    if (classification.kind !== 'image') break;
    const checkpoint: ConversationCheckpoint | undefined =
      chat && index + 1 < request.turns.length
        ? {
            usage,
            turns: [...turns],
            ...(modelVersion ? { modelVersion } : {}),
            conversation: chat.getHistory(true),
          }
        : undefined;
    // Outside any try: an error from the caller's callback ends the refinement as it is.
    await request.onTurn?.(turn, index, checkpoint);
  }

  if (!last) {
    // No turns requested: nothing was sent, nothing billed.
    return failed('no-image', 'The request had no prompt turns.', usage, turns, started);
  }
  const classification = last;
  const common = {
    usage,
    turns,
    ...(modelVersion ? { modelVersion } : {}),
    ...(classification.finishReason ? { finishReason: classification.finishReason } : {}),
    ...(classification.text === undefined ? {} : { text: classification.text }),
    modelMs: elapsed(started),
  };
  if (classification.kind === 'image')
    return { ...common, kind: 'image', image: classification.image };
  const turnNote =
    request.turns.length > 1 ? `Turn ${turns.length} of ${request.turns.length}: ` : '';
  return {
    ...common,
    kind: classification.kind,
    message: `${turnNote}${classification.message}`,
    ...(classification.blockReason ? { blockReason: classification.blockReason } : {}),
    ...(classification.finishMessage ? { finishMessage: classification.finishMessage } : {}),
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
  usage: Usage,
  turns: TurnResult[],
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
