import type { PubSub } from '@google-cloud/pubsub';
import type { GeminiStandIn } from '../gemini-stand-in/server.ts';
import { pushEndpoint, subscriptionName } from './topology.ts';

/**
 * The stack's batch path as Terraform wires it in the cloud (terraform/batch.tf): Cloud Scheduler
 * is a timer publishing a tick to the batch-tick topic every `everyMs`, and a push subscription
 * delivers each tick to the batch-tick function. The stand-in's batch turnaround is set here too.
 */
export interface BatchTicks {
  projectId: string;
  /** The batch-tick function's base URL. */
  url: string;
  /** How often the "scheduler" ticks (the cloud default is every 5 min). */
  everyMs: number;
  topic: string;
  /** The stand-in's time from batch creation to results, when the stand-in answers. */
  standIn?: GeminiStandIn | undefined;
  turnaroundMs?: number | undefined;
}

/** Starts ticking; registers its own stop. */
export async function tickBatches(
  pubsub: PubSub,
  options: BatchTicks,
  stoppers: { add(stop: () => Promise<void>): void },
): Promise<void> {
  if (options.turnaroundMs !== undefined) options.standIn?.setBatchTurnaround(options.turnaroundMs);
  const [topic] = await pubsub.createTopic(options.topic);
  await topic.createSubscription(subscriptionName(options.topic, 'tick'), {
    pushConfig: { pushEndpoint: pushEndpoint(options.url, options.projectId, options.topic) },
    // One tick at a time is the function's business (its lease); a slow tick is not redelivered.
    ackDeadlineSeconds: 600,
  });
  const tick = () => {
    topic.publishMessage({ json: { tick: true } }).catch(() => undefined);
  };
  const timer = setInterval(tick, options.everyMs);
  stoppers.add(async () => clearInterval(timer));
}
