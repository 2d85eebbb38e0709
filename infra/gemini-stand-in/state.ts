import { loadModelCatalog, type ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { CallStats, type StandInStats } from './call-stats.ts';
import type { DecideContext } from './decide.ts';
import { DirectiveFaults, type FaultSchedule } from './faults.ts';
import { DEFAULT_EXTRA_MODELS } from './model-list.ts';
import { QuotaWindows, type StandInQuota } from './quota.ts';

/** The settings of a running stand-in that its handle can change. */
export interface StandInSettings {
  latencyMs?: number;
  faults?: FaultSchedule;
  catalog?: ModelCatalog;
  batchTurnaroundMs?: number;
  extraModels?: readonly string[];
  modelsPageSize?: number;
  quota?: StandInQuota;
  /** Answer images with a small fixed PNG instead of rendering one (throughput benches). */
  placeholderImages?: boolean;
}

/** What one running stand-in knows and counts: settings, call stats, directive counters, quota. */
export class StandInState implements DecideContext {
  readonly catalog: ModelCatalog;
  readonly extraModels: readonly string[];
  readonly modelsPageSize: number;
  readonly placeholderImages: boolean;
  readonly stats = new CallStats();
  readonly directiveFaults = new DirectiveFaults();
  readonly timers = new Set<NodeJS.Timeout>();
  faultSchedule: FaultSchedule | undefined;
  latencyMs: number;
  batchTurnaroundMs: number;
  private quotaWindows: QuotaWindows | undefined;

  constructor(settings: StandInSettings) {
    this.catalog = settings.catalog ?? loadModelCatalog();
    this.extraModels = settings.extraModels ?? DEFAULT_EXTRA_MODELS;
    this.modelsPageSize = settings.modelsPageSize ?? 4;
    this.placeholderImages = settings.placeholderImages === true;
    this.faultSchedule = settings.faults;
    this.latencyMs = settings.latencyMs ?? 0;
    this.batchTurnaroundMs = settings.batchTurnaroundMs ?? 1000;
    this.setQuota(settings.quota);
  }

  faults(): FaultSchedule | undefined {
    return this.faultSchedule;
  }

  quota(): QuotaWindows | undefined {
    return this.quotaWindows;
  }

  /** A new quota starts with empty windows; undefined = no quota. */
  setQuota(quota: StandInQuota | undefined): void {
    this.quotaWindows = quota ? new QuotaWindows(quota) : undefined;
  }

  snapshot(): StandInStats {
    const quota = this.quotaWindows?.stats();
    return { ...this.stats.snapshot(), ...(quota ? { quota } : {}) };
  }

  /** Forgets calls, usage, directive counters and the quota's windows. */
  reset(): void {
    this.stats.reset();
    this.directiveFaults.reset();
    this.quotaWindows?.reset();
  }

  /** Resolves after `ms`; close() cancels what is still pending. */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
