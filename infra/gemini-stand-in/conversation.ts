import { createHash } from 'node:crypto';
import type { WireContent, WireGenerateContentRequest, WirePart } from './protocol.ts';

/** What the stand-in reads out of a generateContent request body. */
export interface Conversation {
  /** Every text part of the request, in order (history included), thoughts included. */
  texts: string[];
  /** Non-thought inline images of the whole conversation, in order, still base64. */
  images: Array<{ mimeType: string; data: string }>;
  /** Text of the latest user message. */
  lastPrompt: string;
  /** Model turns in the history, for checking thought signatures. */
  modelTurns: Array<{ position: number; parts: WirePart[] }>;
}

export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

function isUserContent(content: WireContent): boolean {
  return content.role === undefined || content.role === 'user';
}

export function readConversation(body: unknown): Conversation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestError('Invalid JSON payload received. Expected an object.');
  }
  const request = body as WireGenerateContentRequest;
  const contents = request.contents;
  if (!Array.isArray(contents) || contents.length === 0) {
    throw new BadRequestError('* GenerateContentRequest.contents: contents is not specified');
  }
  const conversation: Conversation = { texts: [], images: [], lastPrompt: '', modelTurns: [] };
  for (const [position, content] of contents.entries()) {
    const parts = Array.isArray(content?.parts) ? content.parts : [];
    if (content?.role === 'model') conversation.modelTurns.push({ position, parts });
    for (const part of parts) {
      if (typeof part.text === 'string') conversation.texts.push(part.text);
      const data = part.inlineData?.data;
      if (!part.thought && typeof data === 'string' && data.length > 0) {
        conversation.images.push({ mimeType: part.inlineData?.mimeType ?? '', data });
      }
    }
  }
  const lastUser = [...contents].reverse().find((c) => c && isUserContent(c));
  conversation.lastPrompt = (lastUser?.parts ?? [])
    .filter((p) => typeof p.text === 'string' && !p.thought)
    .map((p) => p.text)
    .join('\n');
  return conversation;
}

/**
 * The signature the stand-in puts on a final image part. A thinking model checks that history
 * gives it back exactly, as the real Pro model does (it answers 400 otherwise).
 */
export function thoughtSignatureFor(imageData: string): string {
  return createHash('sha256')
    .update('stand-in-thought-signature')
    .update(imageData)
    .digest('base64');
}

/** The first model turn whose image came back without its signature, if any. */
export function missingSignature(conversation: Conversation): string | undefined {
  for (const turn of conversation.modelTurns) {
    for (const [index, part] of turn.parts.entries()) {
      const data = part.inlineData?.data;
      if (part.thought || !data) continue;
      if (part.thoughtSignature !== thoughtSignatureFor(data)) {
        return `Image part is missing a thought_signature in content position ${turn.position + 1}, part position ${index + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
      }
      break;
    }
  }
  return undefined;
}
