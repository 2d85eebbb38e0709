import type { BananaError } from '../../shared/errors.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A push endpoint cannot tell Pub/Sub when to redeliver, so the worker waits out the delay a
 * retryable failure asks for (Gemini's RetryInfo on a 429, the rest of another delivery's lease),
 * up to `maxMs`, before it answers. The redelivery then never comes sooner than asked; the
 * subscription's backoff adds to it. Returns how long it waited.
 */
export async function waitOutRetryDelay(
  failure: BananaError,
  maxMs: number,
  wait: (ms: number) => Promise<void> = sleep,
): Promise<number> {
  const asked = failure.retryAfterMs;
  if (!failure.retryable || asked === undefined || asked <= 0 || maxMs <= 0) return 0;
  const ms = Math.min(asked, maxMs);
  await wait(ms);
  return ms;
}
