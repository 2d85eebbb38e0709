import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { PubSub, type Subscription, type Topic, v1 } from '@google-cloud/pubsub';
import { type PubSubEmulator, startPubSubEmulator } from '../../infra/emulator/pubsub-emulator.ts';
import { type Harness, startHarness } from './pipeline-harness.ts';

/**
 * What a function test needs: the pipeline harness (temp drop and output folders, the Gemini
 * stand-in), the real Pub/Sub emulator with the topics, and the environment a deployed function
 * gets, pointed at all of it. Functions parse that environment on their first invocation.
 */
export interface FunctionEnv {
  harness: Harness;
  emulator: PubSubEmulator;
  pubsub: PubSub;
  topics: { jobs: Topic; results: Topic };
  /** A pull subscription on the topic, created now: it sees what is published from now on. */
  tap(topic: Topic): Promise<Subscription>;
  close(): Promise<void>;
}

export const PROJECT = 'bananaflow-fn-test';
export const JOBS_TOPIC = 'fn-test-jobs';
export const RESULTS_TOPIC = 'fn-test-results';

export async function startFunctionEnv(): Promise<FunctionEnv> {
  const harness = await startHarness();
  const emulator = await startPubSubEmulator({ projectId: PROJECT });
  const saved = { ...process.env };
  Object.assign(process.env, {
    PUBSUB_EMULATOR_HOST: emulator.host,
    GOOGLE_CLOUD_PROJECT: PROJECT,
    METADATA_SERVER_DETECTION: 'none',
    BANANAFLOW_LOCAL_BUCKET_ROOTS: JSON.stringify({
      input: harness.dropDir,
      output: harness.outDir,
      // A bucket the store can reach but the deployment does not own (forged-job tests).
      other: join(harness.root, 'other-bucket'),
    }),
    BANANAFLOW_INPUT_BUCKET: 'input',
    BANANAFLOW_OUTPUT_BUCKET: 'output',
    BANANAFLOW_JOBS_TOPIC: JOBS_TOPIC,
    BANANAFLOW_RESULTS_TOPIC: RESULTS_TOPIC,
    GOOGLE_GEMINI_BASE_URL: harness.standIn.url,
    GEMINI_API_KEY: 'test-key',
    LOG_LEVEL: 'error',
  });
  const pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true });
  const [[jobs], [results]] = await Promise.all([
    pubsub.createTopic(JOBS_TOPIC),
    pubsub.createTopic(RESULTS_TOPIC),
  ]);
  let taps = 0;
  const subscriptions: Subscription[] = [];
  return {
    harness,
    emulator,
    pubsub,
    topics: { jobs, results },
    async tap(topic) {
      taps += 1;
      const [subscription] = await topic.createSubscription(
        `tap-${taps}-${topic.name.split('/').pop()}`,
      );
      subscriptions.push(subscription);
      return subscription;
    },
    async close() {
      await Promise.all(subscriptions.map((s) => s.close()));
      await pubsub.close();
      await emulator.stop();
      await harness.close();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    },
  };
}

/** Serves a registered function through the functions framework's own test server. */
export async function serveFunction(
  name: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The body a Pub/Sub push subscription POSTs (wrapped, the default). */
export function pushBody(
  data: unknown,
  options: { messageId: string; attributes?: Record<string, string>; subscription?: string },
) {
  return {
    message: {
      data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64'),
      attributes: options.attributes ?? {},
      messageId: options.messageId,
      message_id: options.messageId,
      publishTime: new Date().toISOString(),
      publish_time: new Date().toISOString(),
    },
    subscription: options.subscription ?? `projects/${PROJECT}/subscriptions/fn-test-push`,
  };
}

/** POSTs JSON; returns the status. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

export interface PulledMessage {
  data: unknown;
  attributes: Record<string, string>;
}

/**
 * Everything waiting on the subscription right now (acknowledged). The functions await their
 * publishes before they answer, so after a response whatever they published is already here:
 * "nothing was published" needs no waiting.
 */
export async function pullNow(
  env: FunctionEnv,
  subscription: Subscription,
): Promise<PulledMessage[]> {
  const { port, ...config } = await env.pubsub.getClientConfig();
  const client = new v1.SubscriberClient({
    ...config,
    ...(port === undefined ? {} : { port: Number(port) }),
  });
  try {
    const messages: PulledMessage[] = [];
    for (;;) {
      const [response] = await client.pull({
        subscription: subscription.name,
        maxMessages: 1000,
        returnImmediately: true,
      });
      const received = response.receivedMessages ?? [];
      if (received.length === 0) return messages;
      for (const { message } of received) {
        messages.push({
          data: JSON.parse(Buffer.from(message?.data ?? '').toString('utf8')),
          attributes: { ...(message?.attributes ?? {}) },
        });
      }
      await client.acknowledge({
        subscription: subscription.name,
        ackIds: received.map((r) => r.ackId ?? ''),
      });
    }
  } finally {
    await client.close();
  }
}
