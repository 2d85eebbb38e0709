/**
 * Quota emulation for the stand-in: per-model requests per minute (RPM) and images per minute
 * (IPM) over a sliding window, as Gemini enforces them per project and per model. Past a limit the
 * call is answered 429 RESOURCE_EXHAUSTED with a QuotaFailure naming the quota and a RetryInfo
 * saying when the window has room again. Rejected calls do not count against the window.
 */

export interface QuotaLimits {
  /** Requests per window (RPM); absent = unlimited. */
  rpm?: number;
  /** Images per window (IPM): a request that asks for an image counts one; absent = unlimited. */
  ipm?: number;
}

export interface StandInQuota {
  /** The window's length in ms: 60 000 like the real API (default); tests compress it. */
  windowMs?: number;
  /** Limits by model id; `*` applies to every model not named. */
  models: Readonly<Record<string, QuotaLimits>>;
}

/** The quota a call ran into. */
export interface QuotaViolation {
  quotaId: string;
  quotaMetric: string;
  limit: number;
  /** When the window has room for this call again. */
  retryDelayMs: number;
}

/** What the quota let through and turned away, per model, since start or the last reset. */
export interface ModelQuotaStats {
  limits: QuotaLimits;
  admittedRequests: number;
  admittedImages: number;
  /** 429s by quotaId. */
  rejected: Record<string, number>;
  /** ms since the stand-in started (monotonic) of the first and last admitted request. */
  firstAdmittedAt?: number;
  lastAdmittedAt?: number;
  /** The most requests admitted within any one window (never above `limits.rpm`). */
  busiestWindowRequests: number;
  /**
   * Share of the quota used while work kept coming: over the whole windows from the first
   * admission to the last (windows aligned on the first), the images (or, without an IPM, the
   * requests) admitted / the limit of those windows. Absent until a whole window has passed.
   */
  usedShare?: number;
  /** The whole windows `usedShare` is over. */
  fullWindows: number;
}

export interface QuotaStats {
  windowMs: number;
  models: Record<string, ModelQuotaStats>;
}

export const REQUESTS_QUOTA_ID = 'GenerateRequestsPerMinutePerProjectPerModel';
export const IMAGES_QUOTA_ID = 'ImagesPerMinutePerProjectPerModel';
const DEFAULT_WINDOW_MS = 60_000;

interface Admitted {
  at: number;
  images: number;
}

interface ModelWindow {
  limits: QuotaLimits;
  /** Admitted calls still inside the window, oldest first. */
  live: Admitted[];
  liveImages: number;
  /** Every admitted call since start or the last reset, for `usedShare`. */
  admitted: Admitted[];
  stats: Omit<ModelQuotaStats, 'usedShare' | 'fullWindows'>;
}

/** The sliding windows of every model. `now` is injectable (ms, monotonic) for tests. */
export class QuotaWindows {
  readonly windowMs: number;
  private readonly windows = new Map<string, ModelWindow>();

  constructor(
    private readonly quota: StandInQuota,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.windowMs = quota.windowMs ?? DEFAULT_WINDOW_MS;
    if (!(this.windowMs > 0))
      throw new RangeError(`quota windowMs must be > 0, got ${quota.windowMs}`);
    for (const [model, limits] of Object.entries(quota.models)) {
      for (const [name, value] of Object.entries(limits)) {
        if (value !== undefined && !(Number.isInteger(value) && value > 0))
          throw new RangeError(`quota ${model}.${name} must be a whole number > 0, got ${value}`);
      }
    }
  }

  /** Counts the call against its model's window, or says which quota it exceeds. */
  admit(model: string, images: number): QuotaViolation | undefined {
    const window = this.windowOf(model);
    if (!window) return undefined;
    const now = this.now();
    this.expire(window, now);
    const violation = this.violation(window, images, now);
    if (violation) {
      window.stats.rejected[violation.quotaId] =
        (window.stats.rejected[violation.quotaId] ?? 0) + 1;
      return violation;
    }
    window.live.push({ at: now, images });
    window.admitted.push({ at: now, images });
    window.liveImages += images;
    const stats = window.stats;
    stats.admittedRequests++;
    stats.admittedImages += images;
    stats.firstAdmittedAt ??= now;
    stats.lastAdmittedAt = now;
    stats.busiestWindowRequests = Math.max(stats.busiestWindowRequests, window.live.length);
    return undefined;
  }

  stats(): QuotaStats {
    const models: Record<string, ModelQuotaStats> = {};
    for (const [model, window] of this.windows) {
      models[model] = {
        ...window.stats,
        rejected: { ...window.stats.rejected },
        ...this.usedShare(window),
      };
    }
    return { windowMs: this.windowMs, models };
  }

  reset(): void {
    this.windows.clear();
  }

  private windowOf(model: string): ModelWindow | undefined {
    const known = this.windows.get(model);
    if (known) return known;
    const limits = this.quota.models[model] ?? this.quota.models['*'];
    if (!limits || (limits.rpm === undefined && limits.ipm === undefined)) return undefined;
    const window: ModelWindow = {
      limits,
      live: [],
      liveImages: 0,
      admitted: [],
      stats: {
        limits,
        admittedRequests: 0,
        admittedImages: 0,
        rejected: {},
        busiestWindowRequests: 0,
      },
    };
    this.windows.set(model, window);
    return window;
  }

  private usedShare(window: ModelWindow): Pick<ModelQuotaStats, 'usedShare' | 'fullWindows'> {
    const first = window.admitted[0]?.at ?? 0;
    const last = window.admitted.at(-1)?.at ?? 0;
    const fullWindows = Math.floor((last - first) / this.windowMs);
    const { ipm, rpm } = window.limits;
    const limit = ipm ?? rpm;
    if (fullWindows === 0 || limit === undefined) return { fullWindows };
    const end = first + fullWindows * this.windowMs;
    let used = 0;
    for (const call of window.admitted) {
      if (call.at < end) used += ipm === undefined ? 1 : call.images;
    }
    return { fullWindows, usedShare: used / (fullWindows * limit) };
  }

  private expire(window: ModelWindow, now: number): void {
    let drop = 0;
    while (drop < window.live.length && (window.live[drop]?.at ?? now) <= now - this.windowMs) {
      window.liveImages -= window.live[drop]?.images ?? 0;
      drop++;
    }
    if (drop > 0) window.live.splice(0, drop);
  }

  private violation(window: ModelWindow, images: number, now: number): QuotaViolation | undefined {
    const { rpm, ipm } = window.limits;
    if (rpm !== undefined && window.live.length + 1 > rpm) {
      // Room comes back when the oldest request leaves the window.
      return {
        quotaId: REQUESTS_QUOTA_ID,
        quotaMetric: 'generativelanguage.googleapis.com/generate_content_requests',
        limit: rpm,
        retryDelayMs: this.leavesAt(window, window.live.length + 1 - rpm, 'requests') - now,
      };
    }
    if (ipm !== undefined && images > 0 && window.liveImages + images > ipm) {
      return {
        quotaId: IMAGES_QUOTA_ID,
        quotaMetric: 'generativelanguage.googleapis.com/generate_content_output_images',
        limit: ipm,
        retryDelayMs: this.leavesAt(window, window.liveImages + images - ipm, 'images') - now,
      };
    }
    return undefined;
  }

  /** When enough requests (or images) have left the window to free `needed` of them. */
  private leavesAt(window: ModelWindow, needed: number, unit: 'requests' | 'images'): number {
    let freed = 0;
    for (const call of window.live) {
      freed += unit === 'requests' ? 1 : call.images;
      if (freed >= needed) return call.at + this.windowMs;
    }
    return (window.live.at(-1)?.at ?? this.now()) + this.windowMs;
  }
}

/** RetryInfo's protobuf Duration in JSON: seconds with up to millisecond precision ("0.250s"). */
export function retryDelayText(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return `${(whole / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}
