import type { Clock } from '../../shared/quota/clock.ts';

/** Lets pending promise continuations and I/O callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Virtual time for code that takes a Clock: `sleep` registers a timer, `advance` moves time on,
 * firing timers in order and letting what they wake run before the next one.
 */
export class ManualClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; fire: () => void }> = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.timers.push({ at: this.time + Math.max(0, ms), fire: resolve });
    });
  }

  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = next.at;
      next.fire();
    }
    this.time = end;
    await settle();
  }

  /** Advances until `done` settles (or `limitMs` of virtual time passes). */
  async runUntil<T>(done: Promise<T>, limitMs: number): Promise<T> {
    let settled = false;
    void done.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    const end = this.time + limitMs;
    while (!settled && this.time < end) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next) {
        if (settled) break;
        throw new Error('ManualClock.runUntil: nothing pending and the promise has not settled');
      }
      this.timers.shift();
      this.time = next.at;
      next.fire();
    }
    return done;
  }
}
