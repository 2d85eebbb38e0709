import type { PubSub, Topic } from '@google-cloud/pubsub';
import { BananaError } from '../errors.ts';
import type { JobResultEvent } from '../pipeline/result-event.ts';
import type { Job } from '../planning/job.ts';
import type { JobQueue, RequestEventSink } from '../ports/job-queue.ts';
import type { RequestEvent } from '../requests/request-event.ts';

export interface PubSubTopicNames {
  /** Topic the workers' subscription reads planned jobs from. */
  jobs: string;
  /** Topic announcing terminal outcomes (succeeded / failed). */
  results: string;
}

/**
 * Publisher batching: up to 500 messages or 10 ms per publish request. Planning 10,000 jobs then
 * costs ~20 requests instead of 10,000, and a lone result is not held back for long.
 */
const BATCHING = { maxMessages: 500, maxMilliseconds: 10 } as const;

/**
 * JobQueue on Pub/Sub. Takes the `PubSub` client the caller creates once per function instance
 * (a client per invocation leaks memory). Topics themselves are created by Terraform (or by the
 * test harness on the emulator); this class only publishes.
 *
 * Jobs go out as JSON with attributes {jobId, runId, schemaVersion}; results with {jobId, runId,
 * status}; request events with {type, requestId, status}; a job planned from a request adds its
 * requestId to both, so subscriptions can filter without decoding. Every publish is awaited before the call
 * resolves: a function must not return with publishes still in flight.
 */
export class PubSubJobQueue implements JobQueue, RequestEventSink {
  readonly #pubsub: PubSub;
  readonly #names: PubSubTopicNames;
  readonly #topics = new Map<string, Topic>();

  constructor(pubsub: PubSub, topics: PubSubTopicNames) {
    this.#pubsub = pubsub;
    this.#names = topics;
  }

  async publishJobs(jobs: readonly Job[]): Promise<void> {
    if (jobs.length === 0) return;
    const topic = this.#topic(this.#names.jobs);
    // All publishes are queued at once so the client can batch them; none awaited on its own.
    await settleAll(
      this.#names.jobs,
      jobs.map((job) =>
        topic.publishMessage({
          data: Buffer.from(JSON.stringify(job)),
          attributes: {
            jobId: job.jobId,
            runId: job.runId,
            schemaVersion: String(job.schemaVersion),
            ...(job.requestId ? { requestId: job.requestId } : {}),
          },
        }),
      ),
    );
  }

  async publishResult(event: JobResultEvent): Promise<void> {
    const topic = this.#topic(this.#names.results);
    await settleAll(this.#names.results, [
      topic.publishMessage({
        data: Buffer.from(JSON.stringify(event)),
        attributes: {
          jobId: event.jobId,
          runId: event.runId,
          status: event.status,
          ...(event.requestId ? { requestId: event.requestId } : {}),
        },
      }),
    ]);
  }

  async publishRequestEvent(event: RequestEvent): Promise<void> {
    const topic = this.#topic(this.#names.results);
    await settleAll(this.#names.results, [
      topic.publishMessage({
        data: Buffer.from(JSON.stringify(event)),
        attributes: { type: event.type, requestId: event.requestId, status: event.status },
      }),
    ]);
  }

  /** Topic objects carry the publisher (and its batch queue): one per topic for this instance. */
  #topic(name: string): Topic {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = this.#pubsub.topic(name, { batching: BATCHING });
      this.#topics.set(name, topic);
    }
    return topic;
  }
}

/**
 * Waits for every publish (not just until the first failure, so the caller's retry does not race
 * publishes still in flight) and fails with a retryable error if any was not accepted.
 * Redelivering the whole batch is fine: delivery is at least once and consumers deduplicate.
 */
async function settleAll(topic: string, publishes: Promise<string>[]): Promise<void> {
  const outcomes = await Promise.allSettled(publishes);
  const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failures.length === 0) return;
  const first: unknown = failures[0]?.reason;
  throw new BananaError({
    code: 'INTERNAL',
    message: `${failures.length} of ${outcomes.length} messages were not published to Pub/Sub topic "${topic}": ${first instanceof Error ? first.message : String(first)}`,
    retryable: true,
    details: { topic, failed: failures.length, total: outcomes.length },
    cause: first,
  });
}
