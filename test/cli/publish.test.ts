import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub, type Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import {
  type PubSubEmulator,
  pubsubEmulatorAvailable,
  startPubSubEmulator,
} from '../../infra/emulator/pubsub-emulator.ts';
import { defaultRequestId } from '../../shared/requests/request-id.ts';
import { requestSchema } from '../../shared/requests/request-schema.ts';

/** `bananaflow publish` against the real Pub/Sub emulator, reached through PUBSUB_EMULATOR_HOST. */

const available = pubsubEmulatorAvailable();
if (!available.ok) console.warn(`skipping the publish command tests: ${available.why}`);

const PROJECT = 'bf-publish-test';
const TOPIC = `projects/${PROJECT}/topics/bf-requests`;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: { write: (t: string) => out.push(t) }, err: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

interface Received {
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

describe.skipIf(!available.ok)('bananaflow publish', () => {
  let emulator: PubSubEmulator;
  let pubsub: PubSub;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let tap: Subscription;
  const received: Received[] = [];

  beforeAll(async () => {
    emulator = await startPubSubEmulator({ projectId: PROJECT });
    pubsub = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true });
    const [topic] = await pubsub.createTopic('bf-requests');
    [tap] = await topic.createSubscription('bf-requests-tap');
    tap.on('message', (message) => {
      message.ack();
      received.push({
        data: JSON.parse(message.data.toString('utf8')),
        attributes: { ...message.attributes },
      });
    });
    dir = await mkdtemp(join(tmpdir(), 'bf-publish-'));
    env = { PUBSUB_EMULATOR_HOST: emulator.host, LOG_LEVEL: 'error' };
  }, 60_000);
  afterAll(async () => {
    await tap?.close();
    await pubsub?.close();
    await emulator?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const file = async (name: string, content: object) => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(content));
    return path;
  };
  const arrived = (requestId: string) =>
    expect.poll(() => received.find((m) => m.attributes.requestId === requestId), {
      timeout: 20_000,
    });

  it('publishes a request file as one message, printing its id and message id', async () => {
    const path = await file('hat.request.json', {
      requestId: 'cli-hat-1',
      prompt: 'a hat',
      inputs: ['gs://input/cats/tom.png'],
    });
    const run = capture();
    expect(await main(['publish', path, '--topic', TOPIC], env, run.io)).toBe(0);
    expect(run.out()).toMatch(/^cli-hat-1\t\S+\n$/);
    await arrived('cli-hat-1').toBeDefined();
    const message = received.find((m) => m.attributes.requestId === 'cli-hat-1');
    expect(message?.data).toMatchObject({ prompt: 'a hat', inputs: ['gs://input/cats/tom.png'] });
    expect(requestSchema.safeParse(message?.data).success).toBe(true);
  });

  it('publishes a manifest as one request per job, defaults merged, names under --prefix', async () => {
    const path = await file('shoot.jobs.json', {
      defaults: { prompt: 'make it blue', tags: { client: 'acme' }, variants: 2 },
      jobs: [{ inputs: ['a.png'] }, { steps: ['warmer', 'add sun'], inputs: ['b.png'] }],
    });
    const run = capture();
    expect(
      await main(['publish', path, '--topic', TOPIC, '--prefix', 'shoot/', '--json'], env, run.io),
    ).toBe(0);
    const printed = JSON.parse(run.out()) as Array<{ requestId: string; messageId: string }>;
    expect(printed).toHaveLength(2);
    const [first, second] = printed.map((p) => p.requestId);
    if (!first || !second) throw new Error('two request ids expected');
    await arrived(first).toBeDefined();
    await arrived(second).toBeDefined();
    const byId = (id: string) => received.find((m) => m.attributes.requestId === id)?.data;
    expect(byId(first)).toMatchObject({
      prompt: 'make it blue',
      inputs: ['shoot/a.png'],
      variants: 2,
      tags: { client: 'acme' },
    });
    expect(byId(second)).toMatchObject({
      steps: ['warmer', 'add sun'],
      inputs: ['shoot/b.png'],
    });
    expect(byId(second)).not.toHaveProperty('prompt');
    // The printed id is the content-derived default, so the requests function gives the same one.
    const { requestId: _id, ...content } = byId(first) ?? {};
    expect(defaultRequestId(requestSchema.parse(content))).toBe(first);
  });

  it('publishes nothing when one request of the file is invalid, naming the job and field', async () => {
    const before = received.length;
    const path = await file('bad.jobs.json', {
      jobs: [
        { prompt: 'ok', inputs: ['a.png'] },
        { prompt: 'x', inputs: ['https://e.com/b.png'] },
      ],
    });
    const run = capture();
    expect(await main(['publish', path, '--topic', TOPIC], env, run.io)).toBe(1);
    expect(run.err()).toMatch(/bad\.jobs\.json:\d+:\d+: field "jobs\[1\]\.inputs\[0\]"/);
    expect(run.err()).toContain('Nothing was published.');
    expect(run.out()).toBe('');
    expect(received.length).toBe(before);
  });

  it('refuses a topic that is not projects/P/topics/T (exit 2)', async () => {
    const path = await file('t.request.json', { prompt: 'x' });
    const run = capture();
    expect(await main(['publish', path, '--topic', 'bf-requests'], env, run.io)).toBe(2);
    expect(run.err()).toContain('--topic must be projects/PROJECT/topics/TOPIC');
  });
});
