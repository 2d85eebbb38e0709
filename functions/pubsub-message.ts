import type { CloudEvent } from '@google-cloud/functions-framework';
import { z } from 'zod';

/**
 * The CloudEvent a Pub/Sub push delivers through the functions framework
 * (`google.cloud.pubsub.topic.v1.messagePublished`). The framework rebuilds it from the push body
 * and keeps only `message.{data, attributes, messageId, publishTime}`: the push body's
 * `subscription` and `deliveryAttempt` do not reach the handler.
 */
export const MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

const messagePublishedSchema = z.object({
  message: z.object({
    data: z.base64().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().min(1),
    publishTime: z.string().optional(),
  }),
});

export interface DecodedMessage {
  messageId: string;
  attributes: Record<string, string>;
  /** The JSON the publisher sent; validated by the use case, not here. */
  body: unknown;
}

export type DecodeResult = { ok: true; message: DecodedMessage } | { ok: false; problem: string };

/** A Pub/Sub message with its data as bytes, not yet parsed (the requests function sizes it first). */
export interface RawMessage {
  messageId: string;
  attributes: Record<string, string>;
  data: Buffer;
}

/** Unwraps the Pub/Sub message of a messagePublished CloudEvent; problems are values. */
export function unwrapPubSubEvent(
  event: CloudEvent<unknown>,
): { ok: true; message: RawMessage } | { ok: false; problem: string } {
  if (event.type !== MESSAGE_PUBLISHED) {
    return { ok: false, problem: `unexpected event type ${event.type}` };
  }
  const parsed = messagePublishedSchema.safeParse(event.data);
  if (!parsed.success) {
    return {
      ok: false,
      problem: `not a Pub/Sub message: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    };
  }
  const { message } = parsed.data;
  return {
    ok: true,
    message: {
      messageId: message.messageId,
      attributes: message.attributes ?? {},
      data: Buffer.from(message.data ?? '', 'base64'),
    },
  };
}

/** Unwraps the Pub/Sub message and parses its data as JSON; problems are values. */
export function decodePubSubEvent(event: CloudEvent<unknown>): DecodeResult {
  const unwrapped = unwrapPubSubEvent(event);
  if (!unwrapped.ok) return unwrapped;
  const { messageId, attributes, data } = unwrapped.message;
  let body: unknown;
  try {
    body = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      problem: `message ${messageId} data is not JSON: ${(error as Error).message}`,
    };
  }
  return { ok: true, message: { messageId, attributes, body } };
}
