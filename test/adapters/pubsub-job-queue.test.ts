import { randomUUID } from 'node:crypto';
import { type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type PubSubEmulator, startPubSubEmulator } from '../../infra/emulator/pubsub-emulator.ts';
import { PubSubJobQueue } from '../../shared/adapters/pubsub-job-queue.ts';
import { BananaError } from '../../shared/errors.ts';
import { jobQueueContract, type ReceivedMessage } from '../contracts/job-queue-contract.ts';
import { emulatorSuite } from '../support/emulator.ts';
import { makeJob } from '../support/make-job.ts';

const needsEmulator = emulatorSuite('Pub/Sub emulator tests');

/** How long a harness keeps consuming before it reports what it has (a failing test, not a hang). */
const RECEIVE_DEADLINE_MS = 30_000;

/** Collects a subscription's messages (acknowledging each) as the contract's ReceivedMessage. */
function collect(subscription: Subscription): {
  messages: ReceivedMessage[];
  distinct: Set<string>;
} {
  const messages: ReceivedMessage[] = [];
  const distinct = new Set<string>();
  subscription.on('message', (message: Message) => {
    const data: unknown = JSON.parse(message.data.toString('utf8'));
    messages.push({ data, attributes: { ...message.attributes } });
    distinct.add(String((data as { jobId?: unknown }).jobId));
    message.ack();
  });
  subscription.on('error', (error: unknown) => {
    console.error('subscription error', error);
  });
  return { messages, distinct };
}

/** Waits until `condition` holds; at the deadline it returns anyway, so the test reports what it has. */
async function waitFor(condition: () => boolean): Promise<void> {
  await vi
    .waitFor(() => expect(condition()).toBe(true), { timeout: RECEIVE_DEADLINE_MS, interval: 20 })
    .catch(() => undefined);
}

describe.skipIf(!needsEmulator.ok)('PubSubJobQueue on the Pub/Sub emulator', () => {
  let emulator: PubSubEmulator;
  let pubsub: PubSub;

  beforeAll(async () => {
    emulator = await startPubSubEmulator();
    console.info(`Pub/Sub emulator on ${emulator.host} answered after ${emulator.startupMs} ms`);
    pubsub = new PubSub({ apiEndpoint: emulator.host, projectId: emulator.projectId });
  });
  afterAll(async () => {
    await pubsub?.close();
    await emulator?.stop();
  });

  /** Fresh topics and subscriptions per harness (ids need at least 3 characters). */
  async function makeHarness(topicOverride?: { jobs?: string }) {
    const id = randomUUID().slice(0, 8);
    const [jobsTopic] = await pubsub.createTopic(`jobs-${id}`);
    const [resultsTopic] = await pubsub.createTopic(`results-${id}`);
    const [jobsSub] = await jobsTopic.createSubscription(`jobs-${id}-pull`);
    const [resultsSub] = await resultsTopic.createSubscription(`results-${id}-pull`);
    const jobs = collect(jobsSub);
    const results = collect(resultsSub);
    const queue = new PubSubJobQueue(pubsub, {
      jobs: topicOverride?.jobs ?? jobsTopic.name,
      results: resultsTopic.name,
    });
    return {
      queue,
      async received(expected: { jobs: number; results: number }) {
        await waitFor(
          () => jobs.distinct.size >= expected.jobs && results.distinct.size >= expected.results,
        );
        return { jobs: [...jobs.messages], results: [...results.messages] };
      },
      async cleanup() {
        await Promise.all([jobsSub.close(), resultsSub.close()]);
        await Promise.all([jobsSub.delete(), resultsSub.delete()]);
        await Promise.all([jobsTopic.delete(), resultsTopic.delete()]);
      },
    };
  }

  jobQueueContract('PubSubJobQueue', () => makeHarness(), { attributes: true });

  it('publishes 10,000 jobs in batches and every one arrives', async () => {
    const harness = await makeHarness();
    try {
      const jobs = Array.from({ length: 10_000 }, (_, i) => makeJob(i));
      await harness.queue.publishJobs(jobs);
      const { jobs: received } = await harness.received({ jobs: jobs.length, results: 0 });
      const ids = new Set(received.map((m) => (m.data as { jobId: string }).jobId));
      expect(ids.size).toBe(jobs.length);
    } finally {
      await harness.cleanup();
    }
  });

  it('puts the request id in the attributes of its jobs, their results and request events', async () => {
    const harness = await makeHarness();
    try {
      const job = { ...makeJob(1), requestId: 'order-1' };
      await harness.queue.publishJobs([job]);
      await harness.queue.publishResult({
        schemaVersion: 1,
        jobId: job.jobId,
        runId: job.runId,
        requestId: 'order-1',
        status: 'succeeded',
        recordUri: 'gs://out/x.png.json',
        costUsd: 0.039,
        finishedAt: '2025-01-01T00:00:00.000Z',
      });
      await harness.queue.publishRequestEvent({
        schemaVersion: 1,
        type: 'request.accepted',
        status: 'accepted',
        requestId: 'order-1',
        messageId: 'm-1',
        jobIds: [job.jobId],
        estimatedCostUsd: 0.039,
        at: '2025-01-01T00:00:00.000Z',
      });
      // Distinct by jobId: the request event (no jobId) counts as one more.
      const { jobs, results } = await harness.received({ jobs: 1, results: 2 });
      expect(jobs[0]?.attributes).toMatchObject({ jobId: job.jobId, requestId: 'order-1' });
      expect(results.map((m) => m.attributes)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ jobId: job.jobId, requestId: 'order-1', status: 'succeeded' }),
          { type: 'request.accepted', requestId: 'order-1', status: 'accepted' },
        ]),
      );
    } finally {
      await harness.cleanup();
    }
  });

  it('fails with a retryable BananaError when messages are not accepted', async () => {
    const harness = await makeHarness({ jobs: `missing-${randomUUID().slice(0, 8)}` });
    try {
      const error = await harness.queue.publishJobs([makeJob(1), makeJob(2)]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(BananaError);
      expect(error).toMatchObject({ retryable: true, details: { failed: 2, total: 2 } });
    } finally {
      await harness.cleanup();
    }
  });
});
