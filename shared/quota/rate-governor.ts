import { type Clock, systemClock } from './clock.ts';

/**
 * The rate governor of one model: decides when a model call may start, so that a run (or a cloud
 * instance) uses its quota without 429 storms.
 *
 * - **told** (`quota` given): never starts more than `quota` calls within any window (the window
 *   plus a small margin, since a call reaches the API a few ms after it starts here).
 * - **adaptive** (no quota): unlimited until the first 429, then holds to the calls the window
 *   admitted (less 3%), climbs back to that level (+2% a window while calls wait for it), and
 *   probes above it only after 10 quiet windows (the quota may have grown, another client gone).
 *
 * In both modes a 429 pauses every slot until its retry time (one 429, not one per slot), and the
 * throttled call's slot is given back (the API did not count it). Adaptive learns only from a 429
 * whose retry delay a full window of its own calls explains (see `windowExplains`).
 */

export const GOVERNOR_MODES = ['told', 'adaptive'] as const;
export type GovernorMode = (typeof GOVERNOR_MODES)[number];

export interface RateGovernorOptions {
  /** Calls allowed per window (the quota, e.g. images per minute). Absent: adaptive. */
  quota?: number;
  /** The quota's window; default 60 s. */
  windowMs?: number;
  /** Slack added to the window; default 2% of it (1.2 s a minute). */
  marginMs?: number;
  /** How long a 429 without a retry delay pauses; default 1/30 of the window (2 s a minute). */
  defaultPauseMs?: number;
  clock?: Clock;
}

/** A slot to start one call. */
export interface Permit {
  /** When the call was let start (clock ms). */
  readonly startedAt: number;
  /** How long it waited for its slot (ms). */
  readonly waitedMs: number;
}

export interface GovernorSnapshot {
  mode: GovernorMode;
  /** Calls per window held to now: the quota told, or the rate learnt (absent: not limited yet). */
  limit?: number;
  quota?: number;
  windowMs: number;
  /** Calls started within the last window: the current rate. */
  startedInWindow: number;
  started: number;
  /** 429s reported. */
  throttled: number;
  /** Sum over calls of the time each waited for its slot (ms). */
  waitedMs: number;
  /** Wall time during which at least one call was waiting (ms). */
  waitingWallMs: number;
  /** Calls waiting now. */
  waiting: number;
}

/** Adaptive: share of the calls the window admitted that it holds to after a 429. */
const DECREASE = 0.97;
/** Adaptive: growth of the limit per window while calls wait for it, up to the level of the last 429. */
const INCREASE = 0.02;
/** Adaptive: windows without a 429 at that level before probing one call above it. */
const PLATEAU_WINDOWS = 10;

export class RateGovernor {
  readonly mode: GovernorMode;
  private readonly quota: number | undefined;
  /** The quota's window (ms). */
  readonly windowMs: number;
  /** How long a start counts: the window plus the margin. */
  private readonly spanMs: number;
  /** How long a 429 that names no retry delay pauses (ms). */
  readonly defaultPauseMs: number;
  private readonly clock: Clock;

  private limit: number | undefined;
  /** Start times still within the span, oldest first. */
  private starts: number[] = [];
  private readonly waiters: Array<() => void> = [];
  private pausedUntil = 0;
  private timerAt: number | undefined;
  /** Adaptive: when the limit last changed, and whether calls waited on it since. */
  private changedAt = 0;
  private limitReached = false;
  /** Adaptive: the calls the window had admitted at the last 429 (the quota as last seen). */
  private ceiling: number | undefined;
  private last429At = 0;
  private totals = { started: 0, throttled: 0, waitedMs: 0, waitingWallMs: 0 };
  private waitingSince: number | undefined;

  constructor(options: RateGovernorOptions = {}) {
    const { quota } = options;
    if (quota !== undefined && !(Number.isInteger(quota) && quota > 0))
      throw new RangeError(`quota must be a whole number > 0, got ${quota}`);
    this.quota = quota;
    this.mode = quota === undefined ? 'adaptive' : 'told';
    this.limit = quota;
    this.windowMs = options.windowMs ?? 60_000;
    this.spanMs = this.windowMs + (options.marginMs ?? this.windowMs * 0.02);
    this.defaultPauseMs = options.defaultPauseMs ?? this.windowMs / 30;
    this.clock = options.clock ?? systemClock;
  }

  /** Waits for a slot; calls are let start in the order they asked. */
  acquire(): Promise<Permit> {
    const askedAt = this.clock.now();
    return new Promise((resolve) => {
      this.waiters.push(() => {
        const startedAt = this.clock.now();
        this.totals.waitedMs += startedAt - askedAt;
        resolve({ startedAt, waitedMs: startedAt - askedAt });
      });
      this.pump();
    });
  }

  /**
   * The call of `permit` was answered 429 (a per-minute quota): its slot is given back, every
   * slot pauses until `retryAfterMs` has passed, and the adaptive limit drops to what the window
   * admitted.
   */
  throttled(permit: Permit, retryAfterMs?: number): void {
    const now = this.clock.now();
    this.totals.throttled++;
    const index = this.starts.indexOf(permit.startedAt);
    if (index >= 0) this.starts.splice(index, 1);
    this.expire(now);
    this.pausedUntil = Math.max(this.pausedUntil, now + (retryAfterMs ?? this.defaultPauseMs));
    if (this.mode === 'adaptive' && this.windowExplains(now, retryAfterMs)) this.learn(now);
    this.pump();
  }

  /**
   * Whether a full window of this governor's calls explains the 429: a sliding-window quota asks
   * to wait until its oldest call leaves, so a delay far shorter than that (a blip, another
   * client's burst ending, a stand-in fault) says nothing about the rate: it pauses, not teaches.
   */
  private windowExplains(now: number, retryAfterMs: number | undefined): boolean {
    const oldest = this.starts[0];
    if (retryAfterMs === undefined || oldest === undefined) return true;
    return retryAfterMs >= (oldest + this.windowMs - now) / 2;
  }

  /**
   * Adaptive, on a 429: the calls the window admitted are the quota as seen now. The 429s of one
   * pause (calls that were in flight together) refine it; a later one starts a new measure.
   */
  private learn(now: number): void {
    const admitted = Math.max(1, this.starts.length);
    const sameEpisode = now < this.last429At + this.spanMs && this.ceiling !== undefined;
    this.ceiling = sameEpisode ? Math.min(this.ceiling ?? admitted, admitted) : admitted;
    const hold = Math.max(1, Math.floor(this.ceiling * DECREASE));
    this.limit = sameEpisode ? Math.min(this.limit ?? hold, hold) : hold;
    this.last429At = now;
    this.changedAt = now;
    this.limitReached = false;
  }

  snapshot(): GovernorSnapshot {
    const now = this.clock.now();
    this.expire(now);
    const windowStart = now - this.windowMs;
    const waitingWallMs =
      this.totals.waitingWallMs + (this.waitingSince === undefined ? 0 : now - this.waitingSince);
    return {
      mode: this.mode,
      ...(this.limit === undefined ? {} : { limit: this.limit }),
      ...(this.quota === undefined ? {} : { quota: this.quota }),
      windowMs: this.windowMs,
      startedInWindow: this.starts.filter((at) => at > windowStart).length,
      started: this.totals.started,
      throttled: this.totals.throttled,
      waitedMs: this.totals.waitedMs,
      waitingWallMs,
      waiting: this.waiters.length,
    };
  }

  /** Lets waiting calls start while the window has room; else wakes up when it will. */
  private pump(): void {
    const now = this.clock.now();
    this.expire(now);
    this.probe(now);
    while (this.waiters.length > 0) {
      const wait = this.waitFor(now);
      if (wait > 0) {
        this.waitingSince ??= now;
        this.wakeAt(now + wait);
        return;
      }
      this.starts.push(now);
      this.totals.started++;
      const start = this.waiters.shift();
      start?.();
    }
    if (this.waitingSince !== undefined) {
      this.totals.waitingWallMs += now - this.waitingSince;
      this.waitingSince = undefined;
    }
  }

  /** ms until one more call may start (0: now). */
  private waitFor(now: number): number {
    if (now < this.pausedUntil) return this.pausedUntil - now;
    const limit = this.limit;
    if (limit === undefined || this.starts.length < limit) return 0;
    this.limitReached = true;
    // The start that must leave the span for the count to drop below the limit.
    const leaving = this.starts[this.starts.length - limit] ?? now;
    return Math.max(1, leaving + this.spanMs - now);
  }

  /**
   * Adaptive: after a window in which calls waited on the limit, raise it: back up to the level of
   * the last 429 by 2% a window, one above it only after PLATEAU_WINDOWS quiet windows.
   */
  private probe(now: number): void {
    if (this.mode !== 'adaptive' || this.limit === undefined) return;
    if (!this.limitReached || now - this.changedAt < this.spanMs || now < this.pausedUntil) return;
    const ceiling = this.ceiling ?? this.limit;
    if (this.limit < ceiling) {
      this.limit = Math.min(ceiling, this.limit + Math.max(1, Math.ceil(this.limit * INCREASE)));
    } else if (now - this.last429At >= PLATEAU_WINDOWS * this.spanMs) {
      this.limit += 1;
      this.ceiling = this.limit;
    } else {
      return;
    }
    this.changedAt = now;
    this.limitReached = false;
  }

  private expire(now: number): void {
    let gone = 0;
    while (gone < this.starts.length && (this.starts[gone] ?? now) <= now - this.spanMs) gone++;
    if (gone > 0) this.starts.splice(0, gone);
  }

  /** One timer at a time: the earliest moment something may change. */
  private wakeAt(at: number): void {
    if (this.timerAt !== undefined && this.timerAt <= at) return;
    this.timerAt = at;
    void this.clock.sleep(at - this.clock.now()).then(() => {
      if (this.timerAt === at) this.timerAt = undefined;
      this.pump();
    });
  }
}
