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
  const topics = await createTopics(pubsub, options.topics);
  const push = pushSubscriber(options);
  await push(topics.budget, 'guard', options.budgetGuardUrl, { plain: true });
  const jobs = await push(topics.jobs, 'worker', options.workerUrl, {
    deadLetterTo: topics.deadLetter,
  });
  // Without a subscription, messages on the dead-letter topic would be lost.
  const deadLetter = await push(topics.deadLetter, 'recorder', options.deadLetterUrl);
  const requests = await push(topics.requests, 'planner', options.requestsUrl, {
    deadLetterTo: topics.requestsDeadLetter,
  });
  // The requests function answers a dead-lettered request (DEAD_LETTERED), as in the cloud.
  await push(topics.requestsDeadLetter, 'answer', options.requestsUrl);
  return { topics, subscriptions: { jobs, deadLetter, requests } };
}

/** The topics this topology creates (the batch tick's topic is the batch ticker's). */
const OWN_TOPICS = [
  'jobs',
  'results',
  'deadLetter',
  'budget',
  'requests',
  'requestsDeadLetter',
] as const satisfies ReadonlyArray<keyof TopicNames>;

async function createTopics(pubsub: PubSub, names: TopicNames): Promise<Topology['topics']> {
  const created = await Promise.all(OWN_TOPICS.map((key) => pubsub.createTopic(names[key])));
  return Object.fromEntries(
    OWN_TOPICS.map((key, i) => [key, created[i]?.[0]]),
  ) as Topology['topics'];
}

/**
 * Creates push subscriptions named `<topic>-<consumer>` to a function's URL, with the topology's
 * ack deadline and retry policy (none for a `plain` one, as the budget guard's), and a
 * dead-letter policy when `deadLetterTo` is given.
 */
function pushSubscriber(options: TopologyOptions) {
  const backoff = options.retryBackoffSeconds;
  const retryPolicy = backoff
    ? {
        retryPolicy: {
          minimumBackoff: { seconds: backoff.min },
          maximumBackoff: { seconds: backoff.max },
        },
      }
    : {};
  return async (
    topic: Topic,
    consumer: string,
    baseUrl: string,
    extra: { deadLetterTo?: Topic; plain?: boolean } = {},
  ): Promise<Subscription> => {
    const name = topic.name.split('/').pop() ?? topic.name;
    const pushConfig = { pushEndpoint: pushEndpoint(baseUrl, options.projectId, name) };
    const [subscription] = await topic.createSubscription(subscriptionName(name, consumer), {
      pushConfig,
      ...(extra.plain ? {} : { ackDeadlineSeconds: options.ackDeadlineSeconds, ...retryPolicy }),
      ...(extra.deadLetterTo
        ? {
            deadLetterPolicy: {
              deadLetterTopic: extra.deadLetterTo.name,
              maxDeliveryAttempts: options.maxDeliveryAttempts,
            },
          }
        : {}),
    });
    return subscription;
  };
}
