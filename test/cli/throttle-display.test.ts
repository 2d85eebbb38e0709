import { describe, expect, it } from 'vitest';
import { barLine, throttleField } from '../../infra/cli/progress-bar.ts';
import { summaryText } from '../../infra/cli/render.ts';
import type { RunProgress, RunSummary } from '../../infra/runner/run-drop.ts';

/** Throttling on the progress bar and in the run summary. */

const progress: RunProgress = { total: 120, done: 45, succeeded: 44, failed: 1, costUsd: 1.7415 };

describe('throttling on the progress bar', () => {
  it.each([
    [undefined, []],
    [{ ratePerMinute: 40, waitedMs: 0, throttled: 0 }, []],
    [
      { ratePerMinute: 118, limitPerMinute: 120, waitedMs: 65_000, throttled: 0 },
      ['quota 118/120/min waited 1m05s'],
    ],
    [{ ratePerMinute: 97, limitPerMinute: 101, waitedMs: 400, throttled: 3 }, ['quota 97/101/min']],
  ])('%j → %j', (throttling, field) => {
    expect(throttleField({ ...progress, ...(throttling ? { throttling } : {}) })).toEqual(field);
  });

  it('shows the quota field beside the job rate and still fits the width', () => {
    const p = {
      ...progress,
      throttling: { ratePerMinute: 118, limitPerMinute: 120, waitedMs: 65_000, throttled: 0 },
    };
    const timing = { elapsedMs: 90_000, ran: 45 };
    expect(barLine(p, timing, 160)).toMatch(
      /30\.0\/min {2}quota 118\/120\/min waited 1m05s {2}1m30s/,
    );
    for (const columns of [20, 40, 60, 80, 120]) {
      expect(barLine(p, timing, columns).length).toBeLessThan(columns);
    }
  });
});

describe('throttling in the run summary', () => {
  const base = {
    jobs: 1,
    succeeded: 1,
    alreadyDone: 0,
    failed: 0,
    notRun: 0,
    failedByCode: {},
    retriedFromEarlierRuns: 0,
    sidecarProblems: [],
    retries: 0,
    tokens: { input: 0, output: 0, thoughts: 0, total: 0 },
    rows: [],
    estimatedCostUsd: 0,
    costUsd: 0,
    priceTableVersion: 'test',
  } as unknown as RunSummary;

  it('says the quota held to, the calls per minute, the 429s and the time waited', () => {
    const text = summaryText({
      ...base,
      throttling: {
        mode: 'told',
        limitPerMinute: 120,
        calls: 360,
        callsPerMinute: 118.2,
        throttled: 1,
        waitedMs: 3_600_000,
        waitingWallMs: 125_000,
      },
    });
    expect(text).toMatch(/quota \(images per minute\) +120\/min \(told\)/);
    expect(text).toMatch(/model calls +360 \(118\.2\/min on average\)/);
    expect(text).toMatch(/429s \(quota\) +1/);
    expect(text).toMatch(/waited for the quota +2m05s \(summed over calls: 1h00m\)/);
  });

  it('says an adaptive run learnt its rate, and nothing without model calls', () => {
    const adaptive = summaryText({
      ...base,
      throttling: {
        mode: 'adaptive',
        limitPerMinute: 97,
        calls: 10,
        callsPerMinute: 9,
        throttled: 4,
        waitedMs: 0,
        waitingWallMs: 0,
      },
    });
    expect(adaptive).toContain('97/min (learnt from 429s)');
    expect(summaryText(base)).not.toContain('quota');
  });
});
