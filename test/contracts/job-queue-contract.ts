import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobResultEvent } from '../../shared/pipeline/result-event.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { makeJob } from '../support/make-job.ts';

/** One message as a consumer sees it: the decoded JSON payload, plus attributes where the transport has them. */
export interface ReceivedMessage {
  data: unknown;
  attributes?: Record<string, string>;
}

export interface JobQueueHarness {
  queue: JobQueue;
  /**
   * Everything consumed so far from the jobs and results side. Delivery is at least once, so
   * duplicates are allowed; `expected` (distinct messages) tells the harness how long to keep
   * consuming before it answers.
   */
  received(expected: { jobs: number; results: number }): Promise<{
    jobs: ReceivedMessage[];
    results: ReceivedMessage[];
  }>;
  cleanup(): Promise<void>;
}

export interface JobQueueContractOptions {
  /** The transport carries message attributes (Pub/Sub): check them too. */
  attributes: boolean;
}

function byJobId<T extends ReceivedMessage>(messages: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const message of messages) {
    const id = (message.data as { jobId?: unknown } | null)?.jobId;
    expect(typeof id).toBe('string');
    const list = groups.get(id as string) ?? [];
    list.push(message);
    groups.set(id as string, list);
  }
  return groups;
}

function result(job: Job, status: JobResultEvent['status']): JobResultEvent {
  return {
    schemaVersion: 1,
    jobId: job.jobId,
    runId: job.runId,
    status,
    recordUri: `gs://out/${job.output.base}.json`,
    ...(status === 'succeeded'
      ? { outputUri: `gs://out/${job.output.base}.png` }
      : { errorCode: 'MODEL_BLOCKED_PROMPT' as const }),
    costUsd: status === 'succeeded' ? 0.039 : 0,
    finishedAt: '2025-01-01T00:01:00.000Z',
  };
}

/**
 * What every JobQueue must do for the pipeline: every published job and result reaches the
 * consumer intact (at least once), jobs and results on their own streams.
 */
export function jobQueueContract(
  name: string,
  makeHarness: () => Promise<JobQueueHarness>,
  options: JobQueueContractOptions = { attributes: false },
): void {
  describe(`JobQueue contract: ${name}`, () => {
    let harness: JobQueueHarness;
    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('delivers every one of 1,000 published jobs intact, at least once', async () => {
      const jobs = Array.from({ length: 1000 }, (_, i) => makeJob(i, { runId: `run-${i % 7}` }));
      await harness.queue.publishJobs(jobs);
      const { jobs: received, results } = await harness.received({ jobs: jobs.length, results: 0 });

      const groups = byJobId(received);
      expect([...groups.keys()].sort()).toEqual(jobs.map((j) => j.jobId).sort());
      for (const job of jobs) {
        for (const message of groups.get(job.jobId) ?? []) {
          expect(message.data).toEqual(job);
          if (options.attributes) {
            expect(message.attributes).toEqual({
              jobId: job.jobId,
              runId: job.runId,
              schemaVersion: '1',
            });
          }
        }
      }
      expect(results).toEqual([]);
    });

    it('announces results on their own stream', async () => {
      const jobs = [makeJob(1), makeJob(2), makeJob(3)];
      const events = [
        result(jobs[0] as Job, 'succeeded'),
        result(jobs[1] as Job, 'failed'),
        result(jobs[2] as Job, 'succeeded'),
      ];
      await Promise.all(events.map((event) => harness.queue.publishResult(event)));
      const { jobs: received, results } = await harness.received({
        jobs: 0,
        results: events.length,
      });

      const groups = byJobId(results);
      expect([...groups.keys()].sort()).toEqual(events.map((e) => e.jobId).sort());
      for (const event of events) {
        for (const message of groups.get(event.jobId) ?? []) {
          expect(message.data).toEqual(event);
          if (options.attributes) {
            expect(message.attributes).toMatchObject({ jobId: event.jobId, status: event.status });
          }
        }
      }
      expect(received).toEqual([]);
    });

    it('accepts an empty batch', async () => {
      await harness.queue.publishJobs([]);
      await harness.queue.publishJobs([makeJob(42)]);
      const { jobs } = await harness.received({ jobs: 1, results: 0 });
      expect([...byJobId(jobs).keys()]).toEqual([makeJob(42).jobId]);
    });
  });
}
