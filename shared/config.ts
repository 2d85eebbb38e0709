import { z } from 'zod';
import { type ModelOverride, modelOverrideSchema } from './catalog/model-catalog.ts';
import { TIERS } from './catalog/tiers.ts';
import { BananaError } from './errors.ts';
import { BATCH_STAGES, JOB_STAGES } from './pipeline/job-stages.ts';
import { parseImagesPerMinute } from './quota/images-per-minute.ts';

/**
 * Configuration, parsed once at the start of an entry point from the environment. Never read at
 * import time and never deep inside handlers: entry points pass what they need down.
 * The Gemini SDK's own variables (GEMINI_API_KEY, GOOGLE_API_KEY, GOOGLE_GENAI_USE_VERTEXAI,
 * GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION, GOOGLE_GEMINI_BASE_URL) are honoured as the SDK does.
 */

const intFromEnv = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const boolFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = z.object({
  GEMINI_API_KEY: z.string().optional(),
  GOOGLE_API_KEY: z.string().optional(),
  GOOGLE_GENAI_USE_VERTEXAI: boolFromEnv,
  GOOGLE_CLOUD_PROJECT: z.string().optional(),
  GOOGLE_CLOUD_LOCATION: z.string().optional(),
  GOOGLE_GEMINI_BASE_URL: z.url().optional(),

  /** Default model of sidecars that name none; unset = the catalog's `default` model. */
  BANANAFLOW_MODEL: z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined)),
  /** Tier of sidecars that name none: standard, batch or flex. */
  BANANAFLOW_TIER: z.enum(TIERS).default('standard'),
  /**
   * Per flex request (`tier: "flex"`), in ms: flex targets 1-15 minutes, so its calls get this
   * instead of BANANAFLOW_MODEL_TIMEOUT_MS when it is longer.
   */
  BANANAFLOW_FLEX_TIMEOUT_MS: intFromEnv(16 * 60_000),
  /** Batch tier (embedded runner): how often batch jobs are polled, in ms. */
  BANANAFLOW_BATCH_POLL_MS: intFromEnv(30_000),
  /** Batch tier: most requests per batch job; bigger sets are split. */
  BANANAFLOW_BATCH_MAX_REQUESTS: intFromEnv(10_000),
  /** Batch tier: a batch under this many bytes is sent inline (the API takes 20 MB a request). */
  BANANAFLOW_BATCH_INLINE_MAX_BYTES: intFromEnv(16 * 1024 * 1024),
  /** Batch tier: most bytes of one batch's JSONL file (the Files API takes 2 GB); bigger are split. */
  BANANAFLOW_BATCH_MAX_BYTES: intFromEnv(1024 * 1024 * 1024),
  /**
   * Cloud: whether this deployment runs the batch tier (the batch-tick function). "off" refuses
   * batch-tier jobs at planning (Vertex AI has no Batch API for the image models).
   */
  BANANAFLOW_BATCH_PATH: z.enum(['on', 'off']).default('on'),
  /**
   * Cloud batch tick: a model's pending jobs are submitted once the oldest has waited this long
   * (ms), or sooner when they fill a batch (BANANAFLOW_BATCH_MAX_REQUESTS or _MAX_BYTES).
   */
  BANANAFLOW_BATCH_WINDOW_MS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(10 * 60_000),
  /** Cloud batch tick: one tick at a time; a crashed tick's lease is taken over after this (ms). */
  BANANAFLOW_BATCH_LEASE_MS: intFromEnv(10 * 60_000),
  BANANAFLOW_MODEL_OVERRIDES: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const parsed = parseModelOverrides(text);
      if (parsed.ok) return parsed.rows;
      for (const message of parsed.problems) ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }),
  BANANAFLOW_INPUT_BUCKET: z.string().min(1).optional(),
  BANANAFLOW_OUTPUT_BUCKET: z.string().min(1).optional(),
  /**
   * Local runs only (the emulator stack): JSON map of bucket name → folder, so the functions use a
   * folder as each bucket instead of Cloud Storage. Absent in the cloud.
   */
  BANANAFLOW_LOCAL_BUCKET_ROOTS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return undefined;
      try {
        return z.record(z.string(), z.string().min(1)).parse(JSON.parse(text));
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a JSON object of bucket name → folder: ${(error as Error).message}`,
        });
        return z.NEVER;
      }
    }),
  BANANAFLOW_JOBS_TOPIC: z.string().min(3).default('bananaflow-jobs'),
  BANANAFLOW_RESULTS_TOPIC: z.string().min(3).default('bananaflow-results'),
  /** Per model request (each refinement turn), in ms. */
  BANANAFLOW_MODEL_TIMEOUT_MS: intFromEnv(120_000),
  /**
   * How long a worker's claim on a job holds before another delivery may take it over; never less
   * than the job's model calls at their timeout plus 5 s.
   */
  BANANAFLOW_LEASE_MS: intFromEnv(600_000),
  /**
   * Cloud worker: a retryable failure that says when to come back (a 429's RetryInfo, a job held by
   * another delivery) is waited out, up to this, before the push is answered, so the redelivery
   * never comes sooner than asked (the subscription's backoff adds to it). 0 turns it off.
   */
  BANANAFLOW_MAX_RETRY_WAIT_MS: z.coerce.number().int().nonnegative().default(30_000),
  /**
   * The images-per-minute quota this process holds to (`120`, or per model
   * `gemini-2.5-flash-image=500,*=20`): its rate governor never starts more model calls in any
   * window. In the cloud it is this instance's share (Terraform: images_per_minute / max
   * instances). Unset: adaptive, the rate is learnt from 429s.
   */
  BANANAFLOW_IPM: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return undefined;
      const parsed = parseImagesPerMinute(text);
      if (parsed.ok) return parsed.value;
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }),
  /** The quota's window in ms: 60 s like Gemini's; tests and benches compress it. */
  BANANAFLOW_QUOTA_WINDOW_MS: intFromEnv(60_000),
  /**
   * Slack the governor adds to the window, in ms (unset: 2% of it, 1.2 s a minute): a call is
   * counted by the API when it arrives, a little after it starts here.
   */
  BANANAFLOW_QUOTA_MARGIN_MS: z.coerce.number().int().nonnegative().optional(),
  /**
   * How long one job is held in-process through per-minute 429s (their retry delays summed)
   * before it is handed back to the queue. Holding costs no delivery attempt.
   */
  BANANAFLOW_QUOTA_MAX_HOLD_MS: z.coerce.number().int().nonnegative().default(120_000),
  /**
   * A job still over the quota after its hold is published again and acknowledged (a fresh
   * message: no delivery attempt used up), at most this many times; then it is retried as any
   * retryable failure is. 0: never published again.
   */
  BANANAFLOW_MAX_QUOTA_DEFERRALS: z.coerce.number().int().nonnegative().default(20),
  /** Storage events older than this are dropped (ends retries of a poisoned event). */
  BANANAFLOW_MAX_EVENT_AGE_MS: intFromEnv(24 * 3600_000),
  BANANAFLOW_MAX_INPUT_BYTES: intFromEnv(50 * 1024 * 1024),
  BANANAFLOW_MAX_INPUT_PIXELS: intFromEnv(100_000_000),
  BANANAFLOW_MAX_SIDECAR_BYTES: intFromEnv(1024 * 1024),
  /**
   * Cloud worker: once every instance together spent this much (USD) on a UTC day, spending pauses
   * until 00:00 UTC and jobs are held, not run (shared/pipeline/spend-guard.ts). Unset: no cap.
   */
  BANANAFLOW_MAX_USD_PER_DAY: z.coerce
    .number()
    .positive()
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Budget kill switch: pause spending once a budget alert reports this fraction of the budget. */
  BANANAFLOW_PAUSE_AT_BUDGET_FRACTION: z.coerce.number().positive().max(10).default(1),
  /**
   * Crash tests only: the worker process kills itself (SIGKILL) when a job reaches this stage, as a
   * crash or an out-of-memory kill would. Never set it in a deployment.
   */
  BANANAFLOW_FAILPOINT: z
    .enum(JOB_STAGES)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  /** Crash tests only: the batch tick kills itself (SIGKILL) at this stage. Never in a deployment. */
  BANANAFLOW_BATCH_FAILPOINT: z
    .enum(BATCH_STAGES)
    .optional()
    .or(z.literal('').transform(() => undefined)),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

/**
 * BANANAFLOW_MODEL_OVERRIDES: a JSON array of catalog rows. Each problem names the row (index and
 * id) and the field, so a typo in one row of many is found at once.
 */
export function parseModelOverrides(
  text: string | undefined,
): { ok: true; rows: ModelOverride[] } | { ok: false; problems: string[] } {
  if (!text) return { ok: true, rows: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`not JSON (${(error as Error).message})`] };
  }
  if (!Array.isArray(json)) {
    return { ok: false, problems: ['must be a JSON array of catalog rows ([{"id": ...}, ...])'] };
  }
  const rows: ModelOverride[] = [];
  const problems: string[] = [];
  json.forEach((row: unknown, index) => {
    const result = modelOverrideSchema.safeParse(row);
    if (result.success) {
      rows.push(result.data);
      return;
    }
    const id = (row as { id?: unknown } | null)?.id;
    const name = typeof id === 'string' ? ` (id "${id}")` : '';
    for (const issue of result.error.issues) {
      const field = issue.path.length > 0 ? issue.path.join('.') : '(row)';
      problems.push(`row [${index}]${name}, field "${field}": ${issue.message}`);
    }
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, rows };
}

export type GeminiBackend =
  | { kind: 'gemini-api'; apiKey: string; baseUrl?: string }
  | { kind: 'vertex-ai'; project: string; location: string; baseUrl?: string };

/** Parses the environment; CONFIG_INVALID names every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new BananaError({
    code: 'CONFIG_INVALID',
    message: `Invalid configuration: ${problems.join('; ')}`,
    fix: 'Correct the environment variables named above.',
    details: { problems },
  });
}

/** Which Gemini backend the environment selects, or undefined when there are no credentials. */
export function geminiBackend(config: Config): GeminiBackend | undefined {
  const baseUrl = config.GOOGLE_GEMINI_BASE_URL;
  if (config.GOOGLE_GENAI_USE_VERTEXAI) {
    if (!config.GOOGLE_CLOUD_PROJECT) {
      throw new BananaError({
        code: 'CONFIG_INVALID',
        message: 'GOOGLE_GENAI_USE_VERTEXAI is set but GOOGLE_CLOUD_PROJECT is not.',
        fix: 'Set GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION, default "global").',
      });
    }
    return {
      kind: 'vertex-ai',
      project: config.GOOGLE_CLOUD_PROJECT,
      location: config.GOOGLE_CLOUD_LOCATION ?? 'global',
      ...(baseUrl ? { baseUrl } : {}),
    };
  }
  // The SDK prefers GOOGLE_API_KEY when both are set; so do we.
  const apiKey = config.GOOGLE_API_KEY || config.GEMINI_API_KEY;
  if (apiKey) return { kind: 'gemini-api', apiKey, ...(baseUrl ? { baseUrl } : {}) };
  return undefined;
}
