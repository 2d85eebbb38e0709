import type { ModelGovernors, ThrottlingSummary } from '../../shared/quota/model-governors.ts';

/** Throttling as the progress bar shows it while a run goes on. */
export interface ThrottleNow {
  /** Model calls started within the last quota window, per minute: the current rate. */
  ratePerMinute: number;
  /** The quota held to per minute (told, or learnt from 429s); absent: not limited yet. */
  limitPerMinute?: number;
  /** Wall time during which some call waited for its slot. */
  waitedMs: number;
  /** 429s answered so far. */
  throttled: number;
}

/** Throttling as the run summary reports it. */
export interface ThrottleReport {
  /** told: held to --ipm / BANANAFLOW_IPM; adaptive: learnt from 429s. */
  mode: 'told' | 'adaptive';
  /** The quota held to per minute at the end (told, or learnt); absent: never limited. */
  limitPerMinute?: number;
  /** Model calls started, and per minute on average over the run. */
  calls: number;
  callsPerMinute: number;
  /** 429s answered (each one paused every slot of its model until its retry time). */
  throttled: number;
  /** Time calls waited for their slot: summed over calls, and on the wall. */
  waitedMs: number;
  waitingWallMs: number;
}

const perMinute = (count: number, windowMs: number) => (count * 60_000) / windowMs;

/** The window of the governors (every model's is the same: the config's). */
function windowOf(summary: ThrottlingSummary): number {
  return Object.values(summary.byModel)[0]?.windowMs ?? 60_000;
}

export function throttleNow(governors: ModelGovernors): ThrottleNow {
  const summary = governors.summary();
  const windowMs = windowOf(summary);
  return {
    ratePerMinute: Math.round(perMinute(summary.startedInWindow, windowMs)),
    ...(summary.limit === undefined
      ? {}
      : { limitPerMinute: Math.round(perMinute(summary.limit, windowMs)) }),
    waitedMs: Math.round(summary.waitingWallMs),
    throttled: summary.throttled,
  };
}

/** The run's throttling, or undefined when no model call was made. */
export function throttleReport(
  governors: ModelGovernors,
  elapsedMs: number,
): ThrottleReport | undefined {
  const summary = governors.summary();
  const models = Object.values(summary.byModel);
  const calls = models.reduce((sum, m) => sum + m.started, 0);
  if (calls === 0) return undefined;
  const windowMs = windowOf(summary);
  return {
    mode: models.some((m) => m.mode === 'told') ? 'told' : 'adaptive',
    ...(summary.limit === undefined
      ? {}
      : { limitPerMinute: Math.round(perMinute(summary.limit, windowMs)) }),
    calls,
    callsPerMinute: Math.round((calls * 60_000 * 10) / Math.max(1, elapsedMs)) / 10,
    throttled: summary.throttled,
    waitedMs: Math.round(summary.waitedMs),
    waitingWallMs: Math.round(summary.waitingWallMs),
  };
}
