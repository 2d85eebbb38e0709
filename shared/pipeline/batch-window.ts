import type { PendingJob } from './batch-inbox.ts';
import type { BatchLimits } from './batch-requests.ts';

/**
 * The batch window: pending jobs of one model are submitted together once they fill a batch
 * (requests or bytes), or once the oldest of them has waited `windowMs`; until then they wait for
 * company, so a drop of many images becomes a few batch jobs rather than one per upload event.
 * Pure: the tick lists markers (no reads) and asks this which are due.
 */
export function dueJobs(
  pending: readonly PendingJob[],
  window: { limits: BatchLimits; windowMs: number },
  now: Date,
): PendingJob[] {
  const byModel = new Map<string, PendingJob[]>();
  for (const job of pending) {
    const jobs = byModel.get(job.model) ?? [];
    jobs.push(job);
    byModel.set(job.model, jobs);
  }
  const due: PendingJob[] = [];
  for (const jobs of byModel.values()) {
    const bytes = jobs.reduce((sum, job) => sum + job.bytes, 0);
    const oldest = Math.min(...jobs.map((job) => job.since.getTime()));
    const full = jobs.length >= window.limits.maxRequests || bytes >= window.limits.maxBytes;
    if (full || now.getTime() - oldest >= window.windowMs) {
      due.push(...jobs.sort((a, b) => a.since.getTime() - b.since.getTime()));
    }
  }
  return due;
}
