import { createHash } from 'node:crypto';

/**
 * Faults the stand-in can inject, either from directives inside the prompt text (so a drop file can
 * ask for them across process boundaries) or from a schedule given programmatically.
 */

/** Answers that are not an HTTP error status. */
export const FAULT_OUTCOMES = [
  'blocked-prompt',
  'blocked-output',
  'text-only',
  'empty-candidates',
  'hang',
  'truncated',
  'malformed',
] as const;
export type FaultOutcome = (typeof FAULT_OUTCOMES)[number];

/** Kinds of 429 the stand-in can answer: per-minute (RetryInfo), per-day quota, depleted credits. */
export const QUOTA_FAULTS = ['per-minute', 'per-day', 'credits'] as const;
export type QuotaFault = (typeof QUOTA_FAULTS)[number];

export type Fault =
  /**
   * An HTTP error in Google's JSON shape; `retryDelay` (e.g. "2s") goes into RetryInfo on a 429,
   * whose `quota` says which kind it is (default per-minute).
   */
  | { status: number; retryDelay?: string; message?: string; quota?: QuotaFault }
  | { outcome: FaultOutcome };

/** What a fault schedule may look at to decide. */
export interface RequestInfo {
  /** 1-based number of this generateContent call since start (or the last reset). */
  callNumber: number;
  model: string;
  /** sha256 of model + every text part of the request (the whole conversation). */
  requestKey: string;
  /** Text of the latest user message, directives included. */
  prompt: string;
}

/**
 * Programmatic faults: a function of the call, or a list where entry i applies to call i + 1
 * (undefined/null = answer normally; calls past the end answer normally).
 */
export type FaultSchedule =
  | ((callNumber: number, request: RequestInfo) => Fault | undefined)
  | ReadonlyArray<Fault | undefined | null>;

export function scheduledFault(
  schedule: FaultSchedule | undefined,
  request: RequestInfo,
): Fault | undefined {
  if (!schedule) return undefined;
  if (typeof schedule === 'function') return schedule(request.callNumber, request);
  return schedule[request.callNumber - 1] ?? undefined;
}

/** A schedule that injects `fault` on every n-th call (n, 2n, 3n...). */
export function everyNthCall(n: number, fault: Fault): FaultSchedule {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`everyNthCall: n must be >= 1, got ${n}`);
  return (callNumber) => (callNumber % n === 0 ? fault : undefined);
}

export function requestKey(model: string, texts: readonly string[]): string {
  const hash = createHash('sha256').update(model);
  // A separator that cannot occur in the texts keeps ["ab","c"] and ["a","bc"] apart.
  for (const text of texts) hash.update('\u0000').update(text);
  return hash.digest('hex');
}

/** Directives found in a prompt. */
export interface Directives {
  /** What the first calls of a request get, in order: an HTTP status or an outcome (e.g. hang). */
  fail: Array<number | FaultOutcome>;
  always?: number;
  /** RetryInfo delay on 429s, Google's duration format ("2s", "1.5s"). */
  retryDelay: string;
  outcome?: FaultOutcome;
  /** Exhausts the model's daily quota, or the project's credits, from this call on (until reset). */
  exhaust?: Exclude<QuotaFault, 'per-minute'>;
  /** Batch API only: what happens to the whole batch holding this request (see batches.ts). */
  batch?: (typeof BATCH_DIRECTIVES)[number];
}

/** `[standin:batch=…]`: the batch expires, fails, is cancelled, or loses this request's result. */
export const BATCH_DIRECTIVES = ['expired', 'failed', 'cancelled', 'drop-key'] as const;

const DIRECTIVE = /\[standin:([a-z-]+)=([^\]]*)\]/gi;
const DEFAULT_RETRY_DELAY = '1s';

export class DirectiveError extends Error {
  override readonly name = 'DirectiveError';
}

function parseStatus(value: string): number {
  const status = Number(value.trim());
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new DirectiveError(
      `stand-in directive: "${value}" is not an HTTP error status (400-599)`,
    );
  }
  return status;
}

/** "2s", "1.5s" or "500ms" as a Google duration string ("0.5s"). */
function parseDelay(value: string): string {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$/.exec(value);
  if (!match?.[1])
    throw new DirectiveError(`stand-in directive: bad retry-delay "${value}" (use 2s or 500ms)`);
  const amount = Number(match[1]);
  const seconds = match[2] === 'ms' ? amount / 1000 : amount;
  return `${seconds}s`;
}

/** Reads `[standin:...]` directives; a misspelt one throws so a test cannot silently pass. */
export function parseDirectives(text: string): Directives {
  const directives: Directives = { fail: [], retryDelay: DEFAULT_RETRY_DELAY };
  for (const match of text.matchAll(DIRECTIVE)) {
    const name = (match[1] ?? '').toLowerCase();
    const value = match[2] ?? '';
    switch (name) {
      case 'fail':
        directives.fail = value
          .split(',')
          .filter((s) => s.trim() !== '')
          .map((item) => FAULT_OUTCOMES.find((o) => o === item.trim()) ?? parseStatus(item));
        break;
      case 'always':
        directives.always = parseStatus(value);
        break;
      case 'retry-delay':
        directives.retryDelay = parseDelay(value);
        break;
      case 'outcome': {
        const outcome = FAULT_OUTCOMES.find((o) => o === value.trim());
        if (!outcome) {
          throw new DirectiveError(
            `stand-in directive: unknown outcome "${value}" (one of ${FAULT_OUTCOMES.join(', ')})`,
          );
        }
        directives.outcome = outcome;
        break;
      }
      case 'exhaust': {
        const kind = value.trim();
        if (kind !== 'per-day' && kind !== 'credits') {
          throw new DirectiveError(
            `stand-in directive: exhaust must be per-day or credits, not "${value}"`,
          );
        }
        directives.exhaust = kind;
        break;
      }
      case 'batch': {
        const fault = BATCH_DIRECTIVES.find((b) => b === value.trim());
        if (!fault) {
          throw new DirectiveError(
            `stand-in directive: unknown batch fault "${value}" (one of ${BATCH_DIRECTIVES.join(', ')})`,
          );
        }
        directives.batch = fault;
        break;
      }
      default:
        throw new DirectiveError(
          `stand-in directive: unknown "${name}" (fail, always, retry-delay, outcome, exhaust, batch)`,
        );
    }
  }
  return directives;
}

/** The prompt without its directives, for stamping on the image. */
export function stripDirectives(text: string): string {
  return text.replace(DIRECTIVE, '').replace(/\s+/g, ' ').trim();
}

/** Applies directives, counting calls per request key so that `fail=` can fail-then-succeed. */
export class DirectiveFaults {
  private readonly seen = new Map<string, number>();
  /** Models whose daily quota ran out, and whether the project's credits did: sticky, as in life. */
  private readonly dailyExhausted = new Set<string>();
  private creditsDepleted = false;

  faultFor(key: string, directives: Directives, model = ''): Fault | undefined {
    if (directives.exhaust === 'per-day') this.dailyExhausted.add(model);
    if (directives.exhaust === 'credits') this.creditsDepleted = true;
    if (this.creditsDepleted) return { status: 429, quota: 'credits' };
    if (this.dailyExhausted.has(model)) return { status: 429, quota: 'per-day' };
    const attempt = this.seen.get(key) ?? 0;
    this.seen.set(key, attempt + 1);
    const first = directives.fail[attempt];
    if (typeof first === 'string') return { outcome: first };
    const status = first ?? directives.always;
    if (status !== undefined) return { status, retryDelay: directives.retryDelay };
    if (directives.outcome) return { outcome: directives.outcome };
    return undefined;
  }

  reset(): void {
    this.seen.clear();
    this.dailyExhausted.clear();
    this.creditsDepleted = false;
  }
}
