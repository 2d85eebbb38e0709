import type { Clock } from './clock.ts';
import type { ImagesPerMinute } from './images-per-minute.ts';
import { type GovernorSnapshot, RateGovernor } from './rate-governor.ts';

export interface ModelGovernorsOptions {
  /** The quotas told (absent or no entry for a model: adaptive for that model). */
  imagesPerMinute?: ImagesPerMinute | undefined;
  /** The quota window; 60 s except in tests and benches that compress it. */
  windowMs?: number | undefined;
  /** Slack added to the window (default 2% of it): covers the time a call takes to reach the API. */
  marginMs?: number | undefined;
  clock?: Clock | undefined;
}

/** Throttling across the models of a run, for the progress bar and the summary. */
export interface ThrottlingSummary {
  /** Calls started within the last window, summed over models. */
  startedInWindow: number;
  /** The limits held to, summed over the models that have one (absent: none yet). */
  limit?: number;
  throttled: number;
  waitedMs: number;
  /** Wall time during which some call waited for its slot (the longest over models). */
  waitingWallMs: number;
  byModel: Record<string, GovernorSnapshot>;
}

/** One rate governor per model (quotas are per project and per model), made on first use. */
export class ModelGovernors {
  private readonly governors = new Map<string, RateGovernor>();

  constructor(private readonly options: ModelGovernorsOptions = {}) {}

  for(model: string): RateGovernor {
    let governor = this.governors.get(model);
    if (!governor) {
      const quota = this.options.imagesPerMinute?.[model] ?? this.options.imagesPerMinute?.['*'];
      governor = new RateGovernor({
        ...(quota === undefined ? {} : { quota }),
        ...(this.options.windowMs === undefined ? {} : { windowMs: this.options.windowMs }),
        ...(this.options.marginMs === undefined ? {} : { marginMs: this.options.marginMs }),
        ...(this.options.clock ? { clock: this.options.clock } : {}),
      });
      this.governors.set(model, governor);
    }
    return governor;
  }

  summary(): ThrottlingSummary {
    const byModel: Record<string, GovernorSnapshot> = {};
    const total: ThrottlingSummary = {
      startedInWindow: 0,
      throttled: 0,
      waitedMs: 0,
      waitingWallMs: 0,
      byModel,
    };
    for (const [model, governor] of this.governors) {
      const snapshot = governor.snapshot();
      byModel[model] = snapshot;
      total.startedInWindow += snapshot.startedInWindow;
      if (snapshot.limit !== undefined) total.limit = (total.limit ?? 0) + snapshot.limit;
      total.throttled += snapshot.throttled;
      total.waitedMs += snapshot.waitedMs;
      total.waitingWallMs = Math.max(total.waitingWallMs, snapshot.waitingWallMs);
    }
    return total;
  }
}
