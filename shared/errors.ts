/**
 * The one error model of bananaflow. Every failure a user can see (an error record, a CLI line,
 * a log entry) carries a stable code, a human message, what to change, and whether a retry can help.
 * Entry points alone decide what a retryable error means (throw so the platform redelivers) and what
 * a permanent one means (write the record, acknowledge).
 */

export const ERROR_CODES = [
  // input
  'SIDECAR_INVALID_JSON',
  'SIDECAR_INVALID',
  'SIDECAR_TOO_LARGE',
  'INPUT_MISSING',
  'INPUT_PATH_OUTSIDE_DROP',
  'INPUT_NOT_IMAGE',
  'INPUT_EMPTY',
  'INPUT_TOO_LARGE',
  'INPUT_TOO_MANY_PIXELS',
  'INPUT_CORRUPT',
  'TOO_MANY_IMAGES',
  'MODEL_UNKNOWN',
  'MODEL_RETIRED',
  'MODEL_OPTION_UNSUPPORTED',
  'COST_CAP_EXCEEDED',
  // request messages (the requests topic)
  'REQUEST_INVALID_JSON',
  'REQUEST_INVALID',
  'REQUEST_TOO_LARGE',
  // model outcomes
  'MODEL_BLOCKED_PROMPT',
  'MODEL_BLOCKED_OUTPUT',
  'MODEL_TEXT_ONLY',
  'MODEL_NO_IMAGE',
  'MODEL_QUOTA',
  'MODEL_DAILY_QUOTA',
  'MODEL_BILLING',
  'MODEL_NOT_FOUND',
  'MODEL_TRANSIENT',
  'MODEL_TIMEOUT',
  'MODEL_REJECTED',
  'MODEL_AUTH',
  // delivery and storage
  'JOB_INVALID',
  'JOB_IN_PROGRESS',
  'JOB_SUPERSEDED',
  'STORAGE_ALREADY_EXISTS',
  'STORAGE_NOT_FOUND',
  'STORAGE_PRECONDITION_FAILED',
  'STORAGE_TRANSIENT',
  'DEAD_LETTERED',
  // batch tier
  'BATCH_INCOMPLETE',
  'BATCH_RESULT_MISSING',
  'CONFIG_INVALID',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface BananaErrorInit {
  code: ErrorCode;
  message: string;
  /** What the user should change so that the next attempt succeeds. */
  fix?: string;
  /** True when trying the same thing again later can succeed (quota, 5xx, timeouts). */
  retryable?: boolean;
  /** The delay the remote side asked for before a retry (e.g. Gemini's RetryInfo). */
  retryAfterMs?: number;
  /** Structured context: file, field, status... Never secrets, never image bytes. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class BananaError extends Error {
  override readonly name = 'BananaError';
  readonly code: ErrorCode;
  readonly fix: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(init: BananaErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.fix = init.fix;
    this.retryable = init.retryable ?? false;
    this.retryAfterMs = init.retryAfterMs;
    this.details = init.details ?? {};
  }

  toJSON(): SerializedError {
    return serializeError(this);
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  fix?: string;
  retryable: boolean;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
}

export function isBananaError(value: unknown): value is BananaError {
  return value instanceof BananaError;
}

/** The one way to test an error's code: true when `error` is a BananaError with this code. */
export function hasErrorCode(error: unknown, code: ErrorCode): error is BananaError {
  return isBananaError(error) && error.code === code;
}

/** Wraps anything thrown into a BananaError; unknown errors become INTERNAL and retryable. */
export function toBananaError(error: unknown): BananaError {
  if (isBananaError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BananaError({
    code: 'INTERNAL',
    message: `Unexpected error: ${message}`,
    retryable: true,
    cause: error,
  });
}

export function serializeError(error: BananaError): SerializedError {
  return {
    code: error.code,
    message: error.message,
    ...(error.fix === undefined ? {} : { fix: error.fix }),
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(Object.keys(error.details).length === 0 ? {} : { details: error.details }),
  };
}
