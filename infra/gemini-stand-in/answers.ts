import sharp from 'sharp';
import { inputImageTokens, outputImageTokensFor } from '../../shared/catalog/cost.ts';
import {
  type ModelInfo,
  nearestAspectRatio,
  outputSizeFor,
} from '../../shared/catalog/model-catalog.ts';
import { BadRequestError, type Conversation, thoughtSignatureFor } from './conversation.ts';
import { stripDirectives } from './faults.ts';
import type {
  WireGenerateContentRequest,
  WireGenerateContentResponse,
  WirePart,
  WireUsageMetadata,
} from './protocol.ts';
import { renderEditedImage, renderThoughtImage } from './render-image.ts';
import { checkModelOptions } from './request-checks.ts';
import { STAND_IN_THOUGHT_TOKENS, textTokens, usageMetadata } from './usage.ts';

/** A request checked and decoded, ready to be answered in any of the ways the model answers. */
export interface PreparedRequest {
  model: ModelInfo;
  conversation: Conversation;
  images: Array<{ bytes: Buffer; width: number; height: number }>;
  aspectRatio: string;
  imageSize?: string;
  /** The thinking level in force (asked for, else the model's default). */
  thinkingLevel?: string;
  /** Google Search grounding was asked for: the answer carries groundingMetadata. */
  grounded: boolean;
  wantsImage: boolean;
  /** Answer with a small fixed image instead of rendering one (throughput benches). */
  placeholder?: boolean;
  promptText: number;
  promptImage: number;
}

/** Checks what the real API checks and decodes the images; BadRequestError = a 400. */
export async function prepareRequest(
  model: ModelInfo,
  body: WireGenerateContentRequest,
  conversation: Conversation,
): Promise<PreparedRequest> {
  const config = body.generationConfig ?? {};
  if ((config.candidateCount ?? 1) > 1) {
    throw new BadRequestError('Multiple candidates is not enabled for this model.');
  }
  const options = checkModelOptions(model, body, conversation.images.length);
  const requestedRatio = config.imageConfig?.aspectRatio;
  const imageSize = config.imageConfig?.imageSize;
  const images: PreparedRequest['images'] = [];
  for (const image of conversation.images) {
    if (!image.mimeType.startsWith('image/')) {
      throw new BadRequestError(`Unsupported MIME type: ${image.mimeType || '(none)'}`);
    }
    const bytes = Buffer.from(image.data, 'base64');
    try {
      const { width, height } = await sharp(bytes).metadata();
      if (!width || !height) throw new Error('no size');
      images.push({ bytes, width, height });
    } catch {
      throw new BadRequestError('Provided image is not valid.');
    }
  }
  const first = images[0];
  const aspectRatio =
    requestedRatio ?? (first ? nearestAspectRatio(model, first.width, first.height) : '1:1');
  const modalities = config.responseModalities;
  return {
    model,
    conversation,
    images,
    aspectRatio,
    ...(imageSize === undefined || model.imageSizes.length === 0 ? {} : { imageSize }),
    ...options,
    wantsImage: !modalities || modalities.includes('IMAGE'),
    promptText: textTokens(conversation.texts),
    promptImage: images.reduce((sum, i) => sum + inputImageTokens(model, i.width, i.height), 0),
  };
}

function thoughts(request: PreparedRequest): number {
  return request.model.thinking ? STAND_IN_THOUGHT_TOKENS : 0;
}

function promptOnlyUsage(request: PreparedRequest, withThoughts: boolean): WireUsageMetadata {
  return usageMetadata({
    promptText: request.promptText,
    promptImage: request.promptImage,
    thoughts: withThoughts ? thoughts(request) : 0,
  });
}

export async function imageAnswer(request: PreparedRequest): Promise<WireGenerateContentResponse> {
  const [width, height] = outputSizeFor(request.model, request.aspectRatio, request.imageSize);
  const prompt = stripDirectives(request.conversation.lastPrompt);
  const png = request.placeholder
    ? await placeholderPng()
    : await renderEditedImage({ inputs: request.images, prompt, width, height });
  const data = png.toString('base64');
  const parts: WirePart[] = [];
  if (request.model.thinking) {
    // Thinking models send interim images flagged as thoughts before the final one.
    const interim = request.placeholder ? await placeholderPng() : await renderThoughtImage(prompt);
    parts.push({
      thought: true,
      inlineData: { mimeType: 'image/png', data: interim.toString('base64') },
    });
    parts.push({
      inlineData: { mimeType: 'image/png', data },
      thoughtSignature: thoughtSignatureFor(data),
    });
  } else {
    parts.push({ inlineData: { mimeType: 'image/png', data } });
  }
  return {
    candidates: [
      {
        content: { role: 'model', parts },
        finishReason: 'STOP',
        index: 0,
        ...(request.grounded ? { groundingMetadata: groundingFor(prompt) } : {}),
      },
    ],
    usageMetadata: usageMetadata({
      promptText: request.promptText,
      promptImage: request.promptImage,
      outputImage: outputImageTokensFor(request.model, request.imageSize),
      thoughts: thoughts(request),
    }),
    modelVersion: request.model.id,
  };
}

let placeholder: Promise<Buffer> | undefined;

/** An 8×8 PNG made once: what `placeholderImages` answers with (usage stays the model's). */
function placeholderPng(): Promise<Buffer> {
  placeholder ??= sharp({ create: { width: 8, height: 8, channels: 3, background: '#e8c547' } })
    .png()
    .toBuffer();
  return placeholder;
}

/** What a grounded answer says it searched for. */
function groundingFor(prompt: string) {
  return { webSearchQueries: [prompt.slice(0, 80)], groundingChunks: [] };
}

/** The refusal text a text-only answer carries. */
export const REFUSAL_TEXT =
  "I can't edit this image as asked. Could you describe the change you want in more detail?";

export function textOnlyAnswer(request: PreparedRequest): WireGenerateContentResponse {
  return {
    candidates: [
      {
        content: { role: 'model', parts: [{ text: REFUSAL_TEXT }] },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: usageMetadata({
      promptText: request.promptText,
      promptImage: request.promptImage,
      outputText: textTokens([REFUSAL_TEXT]),
      thoughts: thoughts(request),
    }),
    modelVersion: request.model.id,
  };
}

export function blockedPromptAnswer(request: PreparedRequest): WireGenerateContentResponse {
  return {
    promptFeedback: { blockReason: 'SAFETY' },
    usageMetadata: promptOnlyUsage(request, false),
    modelVersion: request.model.id,
  };
}

export const BLOCKED_OUTPUT_MESSAGE =
  "Unable to show the generated image. The image was filtered out because it violated Google's Generative AI Prohibited Use policy. You will not be charged for blocked images. Try rephrasing the prompt.";

export function blockedOutputAnswer(request: PreparedRequest): WireGenerateContentResponse {
  return {
    candidates: [
      {
        content: { role: 'model' },
        finishReason: 'IMAGE_SAFETY',
        finishMessage: BLOCKED_OUTPUT_MESSAGE,
        index: 0,
      },
    ],
    usageMetadata: promptOnlyUsage(request, true),
    modelVersion: request.model.id,
  };
}

export function emptyCandidatesAnswer(request: PreparedRequest): WireGenerateContentResponse {
  return {
    candidates: [],
    usageMetadata: promptOnlyUsage(request, false),
    modelVersion: request.model.id,
  };
}
