import { describe, expect, it } from 'vitest';
import { waitOutRetryDelay } from '../../functions/worker/retry-wait.ts';
import { BananaError } from '../../shared/errors.ts';

/** The cloud worker waits out the delay a retryable failure asks for, bounded, before answering. */

const failure = (init: { retryable: boolean; retryAfterMs?: number }) =>
  new BananaError({ code: 'MODEL_QUOTA', message: 'quota', ...init });

describe('waitOutRetryDelay', () => {
  it.each([
    ['a 429 asking for 3 s', failure({ retryable: true, retryAfterMs: 3_000 }), 30_000, [3_000]],
    ['a delay over the cap', failure({ retryable: true, retryAfterMs: 90_000 }), 30_000, [30_000]],
    ['no delay asked', failure({ retryable: true }), 30_000, []],
    ['a permanent failure', failure({ retryable: false, retryAfterMs: 3_000 }), 30_000, []],
    ['waiting turned off', failure({ retryable: true, retryAfterMs: 3_000 }), 0, []],
  ])('%s', async (_what, error, maxMs, expected) => {
    const waits: number[] = [];
    const waited = await waitOutRetryDelay(error, maxMs, async (ms) => {
      waits.push(ms);
    });
    expect(waits).toEqual(expected);
    expect(waited).toBe(expected[0] ?? 0);
  });
});
