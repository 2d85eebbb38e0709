import { describe, expect, it } from 'vitest';
import { MemoryJobQueue } from '../../shared/adapters/memory-job-queue.ts';
import { BananaError } from '../../shared/errors.ts';
import type { JobDelivery } from '../../shared/ports/job-queue.ts';
import { jobQueueContract, type ReceivedMessage } from '../contracts/job-queue-contract.ts';
import { makeJob } from '../support/make-job.ts';

const options = { concurrency: 3, maxAttempts: 4, minBackoffMs: 2, maxBackoffMs: 10 };

describe('in-process job queue (the cloud delivery semantics, locally)', () => {
  it('delivers every job, copied, with at most `concurrency` in flight', async () => {
    const queue = new MemoryJobQueue(options);
    const jobs = Array.from({ length: 20 }, (_, i) => makeJob(i));
    let inFlight = 0;
    let peak = 0;
    const seen: unknown[] = [];
    queue.consume(
      async (d) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        seen.push(d.job);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
      },
      async () => {},
    );
    await queue.publishJobs(jobs);
    await queue.drain();
    expect(peak).toBe(3);
    expect(seen).toEqual(expect.arrayContaining(jobs.map((j) => JSON.parse(JSON.stringify(j)))));
    expect(seen).toHaveLength(20);
    expect(seen[0]).not.toBe(jobs[0]);
  });

  it('retries a handler that throws, then dead-letters with the attempt count', async () => {
    const queue = new MemoryJobQueue(options);
    const attempts: number[] = [];
    const dead: JobDelivery[] = [];
    queue.consume(
      async (d) => {
        attempts.push(d.attempt);
        throw new BananaError({ code: 'MODEL_TRANSIENT', message: '503', retryable: true });
      },
      async (d) => {
        dead.push(d);
      },
    );
    await queue.publishJobs([makeJob()]);
    await queue.drain();
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(dead.map((d) => d.attempt)).toEqual([4]);
    expect(queue.stats).toMatchObject({ deliveries: 5, retries: 3, deadLettered: 1 });
  });

  it('gives up on a message even the dead-letter handler cannot take, and reports it', async () => {
    const queue = new MemoryJobQueue(options);
    queue.consume(
      async () => {
        throw new Error('worker fails');
      },
      async () => {
        throw new Error('cannot write the record either');
      },
    );
    const job = makeJob();
    await queue.publishJobs([job]);
    await queue.drain();
    expect(queue.stats.undeliverable).toBe(1);
    expect(queue.undeliverable.map((u) => (u.job as { jobId: string }).jobId)).toEqual([job.jobId]);
  });

  it('stops retrying once the handler succeeds', async () => {
    const queue = new MemoryJobQueue(options);
    let calls = 0;
    queue.consume(
      async () => {
        calls++;
        if (calls < 3) throw new Error('flaky');
      },
      async () => {
        throw new Error('must not dead-letter');
      },
    );
    await queue.publishJobs([makeJob()]);
    await queue.drain();
    expect(calls).toBe(3);
    expect(queue.stats.deadLettered).toBe(0);
  });

  it('waits at least the delay the failure asked for', async () => {
    const queue = new MemoryJobQueue({ ...options, maxBackoffMs: 1000 });
    const times: number[] = [];
    queue.consume(
      async () => {
        times.push(Date.now());
        if (times.length === 1) {
          throw new BananaError({
            code: 'MODEL_QUOTA',
            message: '429',
            retryable: true,
            retryAfterMs: 150,
          });
        }
      },
      async () => {},
    );
    await queue.publishJobs([makeJob()]);
    await queue.drain();
    // An ordering fact, not a benchmark: the retry cannot come before the requested delay.
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(140);
  });

  it('collects result events', async () => {
    const queue = new MemoryJobQueue(options);
    const heard: string[] = [];
    queue.onResult((e) => heard.push(e.jobId));
    await queue.publishResult({
      schemaVersion: 1,
      jobId: 'a',
      runId: 'r',
      status: 'succeeded',
      recordUri: 'x',
      costUsd: 0.04,
      finishedAt: 'now',
    });
    expect(queue.results).toHaveLength(1);
    expect(heard).toEqual(['a']);
  });
});

jobQueueContract(
  'MemoryJobQueue',
  async () => {
    const queue = new MemoryJobQueue(options);
    const jobs: ReceivedMessage[] = [];
    queue.consume(
      async (d) => {
        jobs.push({ data: d.job });
      },
      async () => {},
    );
    return {
      queue,
      async received() {
        await queue.drain();
        return { jobs, results: queue.results.map((data) => ({ data })) };
      },
      async cleanup() {
        queue.close();
      },
    };
  },
  { attributes: false },
);
