import type { Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/requests/index.ts';
import { pubsubEmulatorAvailable } from '../../infra/emulator/pubsub-emulator.ts';
import {
  type FunctionEnv,
  JOBS_TOPIC,
  PROJECT,
  type PulledMessage,
  post,
  pullNow,
  pushBody,
  serveFunction,
  startFunctionEnv,
} from '../support/function-env.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

const available = pubsubEmulatorAvailable();
if (!available.ok) console.warn(`Skipping requests function tests: ${available.why}`);

let env: FunctionEnv;
let server: { url: string; close(): Promise<void> };
let jobsTap: Subscription;
let resultsTap: Subscription;

beforeAll(async () => {
  if (!available.ok) return;
  env = await startFunctionEnv();
  jobsTap = await env.tap(env.topics.jobs);
  resultsTap = await env.tap(env.topics.results);
  server = await serveFunction('requests');
  await writeDrop(env.harness.dropDir, { 'cats/tom.png': await tinyImage() });
});
afterAll(async () => {
  if (!available.ok) return;
  await server.close();
  await env.close();
});

let messages = 0;
/** Pushes one request as the requests topic's push subscription does; returns the HTTP status. */
function push(data: unknown, attributes: Record<string, string> = {}): Promise<number> {
  messages += 1;
  return post(
    `${server.url}/projects/${PROJECT}/topics/fn-test-requests`,
    pushBody(data, { messageId: `r-${messages}`, attributes }),
  );
}

const acked = (status: number) => status >= 200 && status < 300;
const events = (pulled: PulledMessage[], type: string) =>
  pulled.filter((m) => m.attributes.type === type);

describe.skipIf(!available.ok)('requests function (Pub/Sub push of request messages)', () => {
  it('plans a valid request, publishes its jobs and announces them, all under its request id', async () => {
    const status = await push(
      { prompt: 'give him a hat', inputs: ['gs://input/cats/tom.png'], variants: 2 },
      { requestId: 'fn-ok-1' },
    );
    expect(acked(status)).toBe(true);
    const jobs = await pullNow(env, jobsTap);
    expect(new Set(jobs.map((m) => m.attributes.requestId))).toEqual(new Set(['fn-ok-1']));
    const jobIds = [...new Set(jobs.map((m) => m.attributes.jobId))].sort();
    expect(jobIds).toHaveLength(2);
    const [accepted] = events(await pullNow(env, resultsTap), 'request.accepted');
    expect(accepted?.attributes).toEqual({
      type: 'request.accepted',
      requestId: 'fn-ok-1',
      status: 'accepted',
    });
    const planned = (accepted?.data as { jobIds?: string[] } | undefined)?.jobIds ?? [];
    expect([...planned].sort()).toEqual(jobIds);
  });

  it.each([
    ['a message that is not JSON', '{"prompt": ', 'REQUEST_INVALID_JSON', 'not valid JSON'],
    ['an unknown field', { promt: 'x' }, 'REQUEST_INVALID', 'did you mean "prompt"?'],
    [
      'more images than the model takes',
      {
        prompt: 'x',
        model: 'gemini-2.5-flash-image',
        inputs: ['cats/tom.png', 'cats/tom.png', 'cats/tom.png', 'cats/tom.png'],
      },
      'TOO_MANY_IMAGES',
      'takes at most 3',
    ],
    ['a 10 MB message', `"${'x'.repeat(10_000_000)}"`, 'REQUEST_TOO_LARGE', 'limited to'],
    [
      'an input not uploaded yet',
      { prompt: 'x', inputs: ['cats/felix.png'] },
      'INPUT_MISSING',
      'cats/felix.png',
    ],
    [
      'an input in another bucket',
      { prompt: 'x', inputs: ['gs://other/cats/tom.png'] },
      'INPUT_PATH_OUTSIDE_DROP',
      'bucket "other"',
    ],
  ])(
    'answers %s with a rejection naming the problem, acknowledged, no job',
    async (_case, data, code, text) => {
      const requestId = `fn-bad-${++messages}`;
      expect(acked(await push(data, { requestId }))).toBe(true);
      expect(await pullNow(env, jobsTap)).toEqual([]);
      const [rejected] = events(await pullNow(env, resultsTap), 'request.rejected');
      expect(rejected?.attributes.requestId).toBe(requestId);
      expect(rejected?.data).toMatchObject({ errorCode: code });
      expect(JSON.stringify(rejected?.data)).toContain(text.replaceAll('"', '\\"'));
    },
  );

  it('answers a dead-lettered request with DEAD_LETTERED instead of planning it', async () => {
    const status = await push(
      { prompt: 'x', inputs: ['cats/tom.png'] },
      { requestId: 'fn-dlq-1', CloudPubSubDeadLetterSourceDeliveryCount: '10' },
    );
    expect(acked(status)).toBe(true);
    expect(await pullNow(env, jobsTap)).toEqual([]);
    const [rejected] = events(await pullNow(env, resultsTap), 'request.rejected');
    expect(rejected?.data).toMatchObject({ requestId: 'fn-dlq-1', errorCode: 'DEAD_LETTERED' });
  });

  it('answers 500 when the jobs cannot be published, so Pub/Sub delivers the request again', async () => {
    await env.topics.jobs.delete();
    try {
      expect(await push({ prompt: 'x', inputs: ['cats/tom.png'] }, { requestId: 'fn-retry' })).toBe(
        500,
      );
    } finally {
      await env.pubsub.createTopic(JOBS_TOPIC);
    }
    const [retryTap] = await env.topics.jobs.createSubscription('requests-retry-tap');
    expect(
      acked(await push({ prompt: 'x', inputs: ['cats/tom.png'] }, { requestId: 'fn-retry' })),
    ).toBe(true);
    expect((await pullNow(env, retryTap)).map((m) => m.attributes.requestId)).toEqual(['fn-retry']);
  });
});
