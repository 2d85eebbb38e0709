import type { ServerResponse } from 'node:http';
import {
  blockedOutputAnswer,
  blockedPromptAnswer,
  emptyCandidatesAnswer,
  imageAnswer,
  type PreparedRequest,
  textOnlyAnswer,
} from './answers.ts';
import type { CallOutcome } from './call-stats.ts';
import type { Fault, FaultOutcome } from './faults.ts';
import { sendJson } from './http-io.ts';
import {
  creditsDepletedError,
  dailyQuotaError,
  type GoogleErrorBody,
  googleError,
  quotaError,
  type WireGenerateContentResponse,
} from './protocol.ts';
import { type QuotaViolation, retryDelayText } from './quota.ts';

export type Usage = WireGenerateContentResponse['usageMetadata'];

/** What the stand-in answers one call with, decided before the latency has passed. */
export interface Reply {
  outcome: CallOutcome;
  status: number;
  /** Billed when the answer is sent. */
  usage?: Usage;
  /** Writes the answer; absent for a hang, which never answers. */
  send?: (res: ServerResponse) => void;
  /** The JSON answer (a response or Google's error body); absent for hang/truncated/malformed. */
  body?: unknown;
}

export function errorReply(status: number, body: GoogleErrorBody): Reply {
  return { outcome: `http-${status}`, status, body, send: (res) => sendJson(res, status, body) };
}

/** A 400 INVALID_ARGUMENT with this message. */
export function badRequest(message: string): Reply {
  return errorReply(400, googleError(400, message));
}

/** The answer to a scheduled or directed HTTP fault (429s by their quota kind). */
export function faultReply(fault: HttpFault, model: string): Reply {
  return errorReply(fault.status, faultBody(fault, model));
}

function faultBody(fault: HttpFault, model: string): GoogleErrorBody {
  if (fault.status !== 429) return googleError(fault.status, fault.message);
  if (fault.quota === 'per-day') return dailyQuotaError(model);
  if (fault.quota === 'credits') return creditsDepletedError();
  return quotaError(model, fault.retryDelay ?? '1s');
}

/** A fault answered with an HTTP error status. */
export type HttpFault = Extract<Fault, { status: number }>;

type Answered = 'image' | 'blocked-prompt' | 'blocked-output' | 'text-only' | 'empty-candidates';

/** The answer for an outcome that is not an HTTP error, rendered now. */
export async function outcomeReply(
  outcome: 'image' | 'text-only' | FaultOutcome,
  prepared: PreparedRequest,
): Promise<Reply> {
  switch (outcome) {
    case 'hang':
      // Never answer: the client's timeout (or close()) ends it.
      return { outcome: 'hang', status: 200 };
    case 'malformed':
      return { outcome: 'malformed', status: 200, send: sendMalformed };
    case 'truncated': {
      const text = JSON.stringify(await imageAnswer(prepared));
      return { outcome: 'truncated', status: 200, send: (out) => sendTruncated(out, text) };
    }
    default: {
      const answer = await answerFor(outcome, prepared);
      return {
        outcome,
        status: 200,
        usage: answer.usageMetadata,
        body: answer,
        send: (out) => sendJson(out, 200, answer),
      };
    }
  }
}

function sendMalformed(out: ServerResponse): void {
  out.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' });
  out.end('<html><body>upstream connect error or disconnect/reset before headers</body></html>');
}

/** Half of a valid JSON body, then the end. */
function sendTruncated(out: ServerResponse, text: string): void {
  out.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  out.end(text.slice(0, Math.floor(text.length / 2)));
}

async function answerFor(
  outcome: Answered,
  request: PreparedRequest,
): Promise<WireGenerateContentResponse> {
  switch (outcome) {
    case 'image':
      return imageAnswer(request);
    case 'blocked-prompt':
      return blockedPromptAnswer(request);
    case 'blocked-output':
      return blockedOutputAnswer(request);
    case 'text-only':
      return textOnlyAnswer(request);
    case 'empty-candidates':
      return emptyCandidatesAnswer(request);
  }
}

/** The 429 of the stand-in's own quota: QuotaFailure naming it, RetryInfo from its window. */
export function quotaReply(model: string, violation: QuotaViolation): Reply {
  return errorReply(429, quotaError(model, retryDelayText(violation.retryDelayMs), violation));
}
