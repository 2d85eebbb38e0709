import type { HeldResult, JobRun } from './job-run.ts';
import { holdJob } from './spend-guard.ts';

/**
 * While spending is paused (a budget alert, the daily cap, by hand) a job is kept instead of run:
 * written under _bananaflow/held/ and acknowledged, so a long pause never uses up its delivery
 * attempts. `bananaflow resume` (or the end of a daily-cap pause) publishes it again.
 */
export async function holdIfPaused(run: JobRun): Promise<HeldResult | undefined> {
  const pause = await run.deps.spending?.check();
  if (!pause) return undefined;
  const stored = await holdJob(run.deps.store, run.bucket, run.job, pause, run.deps.now());
  if (stored) {
    run.log.warn('spending is paused: job held, not run', {
      reason: pause.reason,
      pause: pause.message,
    });
  }
  return { status: 'held', reason: `${pause.reason}: ${pause.message}` };
}
