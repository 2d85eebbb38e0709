import { describe, expect, it } from 'vitest';
import { classifyQuota, nextPacificMidnight } from '../../shared/gemini/classify-quota.ts';

const failure = (quotaId: string) => [
  { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId }] },
];
const PER_MINUTE_MESSAGE =
  'You exceeded your current quota, please check your plan and billing details. Please retry in 2s.';

describe('classifyQuota', () => {
  it.each([
    [
      'per-minute',
      failure('GenerateRequestsPerMinutePerProjectPerModel'),
      PER_MINUTE_MESSAGE,
      'per-minute',
    ],
    [
      'per-minute free tier',
      failure('GenerateRequestsPerMinutePerProjectPerModel-FreeTier'),
      PER_MINUTE_MESSAGE,
      'per-minute',
    ],
    ['per-day', failure('GenerateRequestsPerDayPerProjectPerModel'), PER_MINUTE_MESSAGE, 'per-day'],
    [
      'per-day free tier',
      failure('GenerateContentInputTokensPerModelPerDay-FreeTier'),
      '',
      'per-day',
    ],
    [
      'credits',
      undefined,
      'Your prepayment credits are depleted. Please go to AI Studio.',
      'credits',
    ],
    ['spend cap', undefined, 'Your project has reached its monthly spend cap.', 'credits'],
    ['Vertex shared pool', undefined, 'Resource exhausted, please try again later.', 'shared-pool'],
    ['no details at all', undefined, 'quota', 'per-minute'],
  ])('%s', (_, details, message, kind) => {
    expect(classifyQuota(details, message).kind).toBe(kind);
  });

  it('names the per-day quotaId that decided it', () => {
    const details = [
      ...failure('GenerateRequestsPerMinutePerProjectPerModel'),
      ...failure('GenerateRequestsPerDayPerProjectPerModel'),
    ];
    expect(classifyQuota(details, '')).toEqual({
      kind: 'per-day',
      quotaId: 'GenerateRequestsPerDayPerProjectPerModel',
    });
  });
});

describe('nextPacificMidnight', () => {
  it.each([
    // Winter (PST, UTC-8) and summer (PDT, UTC-7), before and after UTC midnight.
    ['2026-12-02T10:00:00Z', '2026-12-03T08:00:00.000Z'],
    ['2026-12-02T07:59:00Z', '2026-12-02T08:00:00.000Z'],
    ['2026-07-01T12:00:00Z', '2026-07-02T07:00:00.000Z'],
    // The night the clocks go back (2026-11-01): the next midnight is on PST.
    ['2026-10-31T20:00:00Z', '2026-11-01T07:00:00.000Z'],
    ['2026-11-01T12:00:00Z', '2026-11-02T08:00:00.000Z'],
  ])('after %s the quota resets at %s', (now, reset) => {
    expect(nextPacificMidnight(new Date(now)).toISOString()).toBe(reset);
  });
});
