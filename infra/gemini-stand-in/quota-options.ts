import { parseImagesPerMinute } from '../../shared/quota/images-per-minute.ts';
import type { QuotaLimits, StandInQuota } from './quota.ts';

/** The stand-in's quota as text: from its command line, else its environment. */
export interface QuotaTexts {
  /** Images per minute: `120`, or per model `gemini-2.5-flash-image=120,*=60`. */
  ipm?: string | undefined;
  /** Requests per minute, in the same form. */
  rpm?: string | undefined;
  /** The window in ms (60000 like the real API; smaller compresses time for tests). */
  windowMs?: string | undefined;
}

/** Environment variables the stand-in reads its quota from when its flags do not say. */
export const QUOTA_ENV = {
  ipm: 'STANDIN_IPM',
  rpm: 'STANDIN_RPM',
  windowMs: 'STANDIN_QUOTA_WINDOW_MS',
} as const;

export function quotaTextsFromEnv(env: NodeJS.ProcessEnv): QuotaTexts {
  return {
    ipm: env[QUOTA_ENV.ipm],
    rpm: env[QUOTA_ENV.rpm],
    windowMs: env[QUOTA_ENV.windowMs],
  };
}

/**
 * The quota the texts describe (undefined: none), or the problem naming the setting that is wrong.
 */
export function parseStandInQuota(
  texts: QuotaTexts,
): { ok: true; quota: StandInQuota | undefined } | { ok: false; problem: string } {
  const models: Record<string, QuotaLimits> = {};
  for (const unit of ['ipm', 'rpm'] as const) {
    const text = texts[unit];
    if (text === undefined || text === '') continue;
    const parsed = parseImagesPerMinute(text);
    if (!parsed.ok) return { ok: false, problem: `${unit} ${parsed.problem}` };
    for (const [model, limit] of Object.entries(parsed.value)) {
      models[model] = { ...models[model], [unit]: limit };
    }
  }
  const windowMs = texts.windowMs ? Number(texts.windowMs) : undefined;
  if (windowMs !== undefined && !(Number.isInteger(windowMs) && windowMs > 0)) {
    return {
      ok: false,
      problem: `quota-window-ms must be a whole number of ms > 0, not "${texts.windowMs}"`,
    };
  }
  if (Object.keys(models).length === 0) return { ok: true, quota: undefined };
  return { ok: true, quota: { models, ...(windowMs ? { windowMs } : {}) } };
}
