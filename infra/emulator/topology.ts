import type { PubSub, Subscription, Topic } from '@google-cloud/pubsub';

/**
 * The Pub/Sub wiring Terraform creates in the cloud, created on the emulator: the jobs topic
 * with a push subscription to the worker (retry policy, dead-letter policy), the dead-letter topic
 * with a push subscription to the dead-letter function, the results topic, and the requests topic
 * with a push subscription to the requests function (dead-lettered requests go back to it).
 */

export interface TopicNames {
  jobs: string;
  results: string;
  deadLetter: string;
  /** Where Cloud Billing budget notifications arrive (the spend kill switch). */
  budget: string;
  /** Request messages of other systems (docs/requests.md), and where Pub/Sub gives up on them. */
  requests: string;
  requestsDeadLetter: string;
  /** Cloud Scheduler's ticks of the batch tier (batch-ticker.ts). */
  batchTick: string;
}

export interface TopologyOptions {
  projectId: string;
  topics: TopicNames;
  /** Base URLs of the functions (no trailing slash). */
  workerUrl: string;
  deadLetterUrl: string;
  budgetGuardUrl: string;
  requestsUrl: string;
  /**
   * Redelivery backoff (Pub/Sub allows 0-600 s). Absent = no retry policy: the emulator stalls push
   * delivery altogether once several messages are being retried under a retry policy (verified
   * here: 30 messages answered 500 stop being pushed after ~5 s and never come back), while
   * without one it redelivers about once a second and dead-letters as it should.
   */
  retryBackoffSeconds?: { min: number; max: number };
  /** Deliveries before a job goes to the dead-letter topic; Pub/Sub allows 5-100. */
  maxDeliveryAttempts: number;
  /** How long a push may take before Pub/Sub counts it as failed. */
  ackDeadlineSeconds: number;
}

export interface Topology {
  topics: Record<Exclude<keyof TopicNames, 'batchTick'>, Topic>;
  subscriptions: { jobs: Subscription; deadLetter: Subscription; requests: Subscription };
}

/**
 * The functions framework builds the CloudEvent's source from the push URL's path, which must be
 * /projects/PROJECT/topics/TOPIC (as for a Terraform-managed push subscription in the cloud).
 */
export function pushEndpoint(baseUrl: string, projectId: string, topic: string): string {
  return `${baseUrl}/projects/${projectId}/topics/${topic}`;
}

export const subscriptionName = (topic: string, consumer: string) => `${topic}-${consumer}`;

export async function createTopology(pubsub: PubSub, options: TopologyOptions): Promise<Topology> {
  const { topics: names, projectId } = options;
  const backoff = options.retryBackoffSeconds;
  const retryPolicy = backoff
    ? {
        retryPolicy: {
          minimumBackoff: { seconds: backoff.min },
          maximumBackoff: { seconds: backoff.max },
        },
      }
    : {};
  const [[jobs], [results], [deadLetter], [budget], [requests], [requestsDeadLetter]] =
    await Promise.all([
      pubsub.createTopic(names.jobs),
      pubsub.createTopic(names.results),
      pubsub.createTopic(names.deadLetter),
      pubsub.createTopic(names.budget),
      pubsub.createTopic(names.requests),
      pubsub.createTopic(names.requestsDeadLetter),
    ]);
  await budget.createSubscription(subscriptionName(names.budget, 'guard'), {
    pushConfig: { pushEndpoint: pushEndpoint(options.budgetGuardUrl, projectId, names.budget) },
  });
  const [jobsSubscription] = await jobs.createSubscription(subscriptionName(names.jobs, 'worker'), {
    pushConfig: { pushEndpoint: pushEndpoint(options.workerUrl, projectId, names.jobs) },
    ackDeadlineSeconds: options.ackDeadlineSeconds,
    ...retryPolicy,
    deadLetterPolicy: {
      deadLetterTopic: deadLetter.name,
      maxDeliveryAttempts: options.maxDeliveryAttempts,
    },
  });
  // Without a subscription, messages on the dead-letter topic would be lost.
  const [deadLetterSubscription] = await deadLetter.createSubscription(
    subscriptionName(names.deadLetter, 'recorder'),
    {
      pushConfig: {
        pushEndpoint: pushEndpoint(options.deadLetterUrl, projectId, names.deadLetter),
      },
      ackDeadlineSeconds: options.ackDeadlineSeconds,
      ...retryPolicy,
    },
  );
  const [requestsSubscription] = await requests.createSubscription(
    subscriptionName(names.requests, 'planner'),
    {
      pushConfig: { pushEndpoint: pushEndpoint(options.requestsUrl, projectId, names.requests) },
      ackDeadlineSeconds: options.ackDeadlineSeconds,
      ...retryPolicy,
      deadLetterPolicy: {
        deadLetterTopic: requestsDeadLetter.name,
        maxDeliveryAttempts: options.maxDeliveryAttempts,
      },
    },
  );
  // The requests function answers a dead-lettered request (DEAD_LETTERED), as in the cloud.
  await requestsDeadLetter.createSubscription(
    subscriptionName(names.requestsDeadLetter, 'answer'),
    {
      pushConfig: {
        pushEndpoint: pushEndpoint(options.requestsUrl, projectId, names.requestsDeadLetter),
      },
      ackDeadlineSeconds: options.ackDeadlineSeconds,
      ...retryPolicy,
    },
  );
  return {
    topics: { jobs, results, deadLetter, budget, requests, requestsDeadLetter },
    subscriptions: {
      jobs: jobsSubscription,
      deadLetter: deadLetterSubscription,
      requests: requestsSubscription,
    },
  };
}
