import type { z } from 'zod';
import { BananaError } from '../errors.ts';
import { closestField, knownFieldsAt } from './did-you-mean.ts';
import { defaultRequestId } from './request-id.ts';
import { type EditRequest, REQUEST_ID_PATTERN, requestSchema } from './request-schema.ts';

/** One message of the requests topic, as the function receives it. */
export interface RequestMessage {
  messageId: string;
  attributes: Record<string, string>;
  data: Buffer;
}

export type ParsedRequest =
  | { ok: true; requestId: string; request: EditRequest }
  | { ok: false; requestId: string; problems: BananaError[] };

/**
 * Validates one request message. Every problem is listed, each naming the field, and an unknown
 * field says which known one it resembles. The request id comes from the `requestId` attribute or
 * field; a rejected message that has neither is answered as `msg-<messageId>` (the id its
 * publisher got back from Pub/Sub).
 */
export function parseRequestMessage(message: RequestMessage, maxBytes: number): ParsedRequest {
  const attributeId = message.attributes.requestId;
  const fallbackId =
    attributeId !== undefined && REQUEST_ID_PATTERN.test(attributeId)
      ? attributeId
      : `msg-${message.messageId}`;
  const body = readBody(message, maxBytes, fallbackId);
  if (!body.ok) return { ok: false, requestId: fallbackId, problems: [body.problem] };
  const bodyId = bodyRequestId(body.json);
  const requestId = attributeId ?? bodyId ?? fallbackId;
  const problems = idProblems(requestId, attributeId, bodyId);
  const result = requestSchema.safeParse(body.json);
  if (!result.success) problems.push(...issuesToProblems(requestId, result.error.issues));
  if (problems.length > 0 || !result.success) return { ok: false, requestId, problems };
  const id = attributeId ?? result.data.requestId ?? defaultRequestId(result.data);
  return { ok: true, requestId: id, request: { ...result.data, requestId: id } };
}

/** The message data as JSON, or the problem that stops it being read (too large, not JSON). */
function readBody(
  message: RequestMessage,
  maxBytes: number,
  requestId: string,
): { ok: true; json: unknown } | { ok: false; problem: BananaError } {
  if (message.data.length > maxBytes) {
    const problem = new BananaError({
      code: 'REQUEST_TOO_LARGE',
      message: `request ${requestId}: the message is ${message.data.length} bytes; requests are limited to ${maxBytes} bytes.`,
      fix: 'Send one job per request, naming images by object name; never put image bytes in the message.',
      details: { field: '(message)', bytes: message.data.length, maxBytes },
    });
    return { ok: false, problem };
  }
  try {
    return { ok: true, json: JSON.parse(message.data.toString('utf8').replace(/^\uFEFF/, '')) };
  } catch (error) {
    const problem = new BananaError({
      code: 'REQUEST_INVALID_JSON',
      message: `request ${requestId}: the message data is not valid JSON: ${(error as Error).message}`,
      fix: 'Publish a JSON object as in schema/request.v1.json (UTF-8, no base64 of your own: Pub/Sub encodes the data).',
      details: { field: '(message)' },
    });
    return { ok: false, problem };
  }
}

/** Problems of the request id: a malformed attribute, or an attribute and a field that differ. */
function idProblems(
  requestId: string,
  attributeId: string | undefined,
  bodyId: string | undefined,
): BananaError[] {
  const problem = (field: string, text: string, fix: string) =>
    new BananaError({
      code: 'REQUEST_INVALID',
      message: `request ${requestId}: field "${field}": ${text}.`,
      fix,
      details: { field },
    });
  const problems: BananaError[] = [];
  if (attributeId !== undefined && !REQUEST_ID_PATTERN.test(attributeId)) {
    problems.push(
      problem(
        'attributes.requestId',
        'use 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
        'Correct the requestId attribute.',
      ),
    );
  }
  if (attributeId !== undefined && bodyId !== undefined && attributeId !== bodyId) {
    problems.push(
      problem(
        'requestId',
        `"${bodyId}" differs from the requestId attribute "${attributeId}"`,
        'Give the request id once (attribute or field), or the same in both.',
      ),
    );
  }
  return problems;
}

/** The body's requestId when it is a usable one, even if the rest of the body is not. */
function bodyRequestId(json: unknown): string | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const id = (json as { requestId?: unknown }).requestId;
  return typeof id === 'string' && REQUEST_ID_PATTERN.test(id) ? id : undefined;
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

function issuesToProblems(requestId: string, issues: readonly z.core.$ZodIssue[]): BananaError[] {
  return issues.flatMap((issue) => {
    const at = fieldPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownFieldsAt(requestSchema, issue.path);
      return issue.keys.map((key) => {
        const field = at ? `${at}.${key}` : key;
        const guess = closestField(key, known);
        return new BananaError({
          code: 'REQUEST_INVALID',
          message: `request ${requestId}: unknown field "${field}"${guess ? ` (did you mean "${guess}"?)` : ''}.`,
          fix: guess
            ? `Rename "${key}" to "${guess}".`
            : `Remove "${key}"; schema/request.v1.json lists the fields a request accepts.`,
          details: { field, ...(guess ? { didYouMean: guess } : {}) },
        });
      });
    }
    const field = at || '(root)';
    return [
      new BananaError({
        code: 'REQUEST_INVALID',
        message: `request ${requestId}: field "${field}": ${issue.message}.`,
        fix: `Correct "${field}" (see schema/request.v1.json).`,
        details: { field },
      }),
    ];
  });
}
