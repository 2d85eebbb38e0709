/**
 * What kind of exhaustion a Gemini 429 (RESOURCE_EXHAUSTED) is, read from its `details` and
 * message, because each asks for something else:
 *   per-minute   RetryInfo delay, then retry (QuotaFailure quotaId ...PerMinute...)
 *   per-day      quotaId ...PerDay...: resets at midnight Pacific; retrying before burns attempts
 *   credits      prepaid credits depleted / spend cap reached: no RetryInfo, a person must act
 *   shared-pool  Vertex AI "Resource exhausted, please try again later." (no per-project quota):
 *                back off and ramp up again
 */
export type QuotaKind = 'per-minute' | 'per-day' | 'credits' | 'shared-pool';

export interface QuotaReading {
  kind: QuotaKind;
  /** The first QuotaFailure violation's quotaId that decided it, if any. */
  quotaId?: string;
}

// Not "billing": the per-minute message says "please check your plan and billing details" too.
const CREDITS =
  /prepayment credits are depleted|credits? (are |is |have been )?(depleted|exhausted)|spend(ing)? cap/i;

/** Every QuotaFailure violation's quotaId in the details. */
export function quotaIdsOf(details: readonly unknown[] | undefined): string[] {
  const ids: string[] = [];
  for (const detail of details ?? []) {
    const violations = (detail as { violations?: Array<{ quotaId?: unknown }> } | null)?.violations;
    if (!Array.isArray(violations)) continue;
    for (const v of violations) if (typeof v?.quotaId === 'string') ids.push(v.quotaId);
  }
  return ids;
}

export function classifyQuota(
  details: readonly unknown[] | undefined,
  message: string,
): QuotaReading {
  const ids = quotaIdsOf(details);
  const perDay = ids.find((id) => /PerDay/i.test(id));
  if (perDay) return { kind: 'per-day', quotaId: perDay };
  if (CREDITS.test(message)) return { kind: 'credits', ...(ids[0] ? { quotaId: ids[0] } : {}) };
  if (ids.length === 0 && /resource exhausted/i.test(message)) return { kind: 'shared-pool' };
  return { kind: 'per-minute', ...(ids[0] ? { quotaId: ids[0] } : {}) };
}

const pacific = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function pacificParts(at: Date): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const p of pacific.formatToParts(at))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return parts;
}

/** The next midnight in America/Los_Angeles after `now` (when Gemini's per-day quotas reset). */
export function nextPacificMidnight(now: Date): Date {
  const today = pacificParts(now);
  const { year = 1970, month = 1, day = 1 } = today;
  // Pacific is UTC-8 (PST) or UTC-7 (PDT): midnight of the next Pacific day is one of two instants.
  for (const offsetHours of [7, 8]) {
    const candidate = new Date(Date.UTC(year, month - 1, day + 1, offsetHours));
    const at = pacificParts(candidate);
    if (at.hour === 0 && at.minute === 0) return candidate;
  }
  return new Date(Date.UTC(year, month - 1, day + 1, 8));
}
