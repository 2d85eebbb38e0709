import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Message, PubSub, type Subscription, type Topic } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pubsubEmulatorAvailable } from '../../infra/emulator/pubsub-emulator.ts';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';
import { waitFor as waitUntil, withoutGeminiCredentials } from '../support/stack-harness.ts';

/**
 * Requests on the emulator stack: another system publishes request messages on the requests topic
 * with the real Pub/Sub client, and waits for the answers on the results topic by requestId, as
 * docs/requests.md shows. The requests function plans, the worker runs, the stand-in is billed.
 */

const available = pubsubEmulatorAvailable();
if (!available.ok) console.warn(`Skipping the requests end-to-end test: ${available.why}`);

const DEADLINE_MS = 60_000;

interface Event {
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

let stack: Stack;
let pubsub: PubSub;
let requestsTopic: Topic;
let answers: Subscription;
const events: Event[] = [];
const lines: string[] = [];

beforeAll(async () => {
  if (!available.ok) return;
  stack = await startStack({
    pollMs: 100,
    env: withoutGeminiCredentials(process.env),
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
  await writeDrop(stack.inputDir, { 'cats/tom.png': await tinyImage() });
  // The publishing system's own client and its own subscription on the results topic.
  pubsub = new PubSub({
    projectId: stack.projectId,
    apiEndpoint: stack.emulatorHost,
    emulatorMode: true,
  });
  requestsTopic = pubsub.topic(stack.topics.requests);
  [answers] = await pubsub.topic(stack.topics.results).createSubscription('requests-e2e-answers');
  answers.on('message', (message: Message) => {
    message.ack();
    events.push({
      data: JSON.parse(message.data.toString('utf8')),
      attributes: { ...message.attributes },
    });
  });
}, 90_000);

afterAll(async () => {
  if (!available.ok) return;
  await answers?.close();
  await pubsub?.close();
  await stack.stop();
});

const waitFor = <T>(what: string, check: () => Promise<T | undefined>) =>
  waitUntil(what, check, { deadlineMs: DEADLINE_MS, lines });

/** Publishes like any other system would: JSON body, requestId attribute. */
const publish = (body: object, requestId: string) =>
  requestsTopic.publishMessage({ json: body, attributes: { requestId } });

const forRequest = (requestId: string, type?: string) =>
  events.filter(
    (e) => e.attributes.requestId === requestId && (!type || e.attributes.type === type),
  );

/** The answer to one published message (request events carry its message id). */
const answerTo = (requestId: string, messageId: string) =>
  waitFor(`the answer to request ${requestId} (message ${messageId})`, async () =>
    forRequest(requestId).find((e) => e.data.messageId === messageId),
  );

/** One job result event per planned job, all carrying the request id. */
const resultsFor = (requestId: string, jobIds: string[]) =>
  waitFor(`a result event for each of the ${jobIds.length} jobs of ${requestId}`, async () => {
    const byJob = new Map(
      forRequest(requestId)
        .filter((e) => e.attributes.jobId)
        .map((e) => [e.attributes.jobId, e]),
    );
    return jobIds.every((id) => byJob.has(id)) ? jobIds.map((id) => byJob.get(id)) : undefined;
  });

const callsFor = (marker: string) =>
  stack.standIn?.stats().calls.filter((c) => c.prompt.includes(marker)).length ?? 0;

describe.skipIf(!available.ok)('requests on the emulator stack (real Pub/Sub client)', () => {
  it('the stack creates the requests topic and prints its name', () => {
    expect(stack.topics.requests).toBe('bananaflow-requests');
    expect(lines.join('\n')).toContain(`requests=${stack.topics.requests}`);
  });

  it('runs a valid request and answers by its id; the same message again plans the same jobs, paid once', async () => {
    const marker = `e2e-hat-${Date.now()}`;
    const body = { prompt: `give him a hat ${marker}`, inputs: ['gs://input/cats/tom.png'] };
    const first = await publish(body, 'e2e-ok');
    const accepted = await answerTo('e2e-ok', first);
    expect(accepted.attributes).toMatchObject({ type: 'request.accepted', status: 'accepted' });
    const jobIds = accepted.data.jobIds as string[];
    expect(jobIds).toHaveLength(1);
    const [result] = await resultsFor('e2e-ok', jobIds);
    expect(result?.attributes.status).toBe('succeeded');
    expect(result?.data).toMatchObject({ requestId: 'e2e-ok', status: 'succeeded' });
    const recordPath = String(result?.data.recordUri);
    expect(recordPath.startsWith(join(stack.outputDir, 'requests', 'e2e-ok'))).toBe(true);
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ requestId: 'e2e-ok', sidecar: { kind: 'request' } });
    expect(callsFor(marker)).toBe(1);

    // A duplicate: the publisher retries the same message.
    const second = await publish(body, 'e2e-ok');
    const again = await answerTo('e2e-ok', second);
    expect(again.data.jobIds).toEqual(jobIds);
    // The worker takes the duplicate job and finds it done (it logs so); nothing is paid again.
    await waitFor('the worker to skip the duplicate job', async () =>
      lines.find((l) => l.includes('duplicate delivery') && l.includes(String(jobIds[0]))),
    );
    expect(callsFor(marker)).toBe(1);
  });

  it.each([
    ['an invalid request', { prompt: 'x', variants: 99 }, 'REQUEST_INVALID', 'variants'],
    [
      'a request naming another bucket',
      { prompt: 'x', inputs: ['gs://someone-elses-bucket/cats/tom.png'] },
      'INPUT_PATH_OUTSIDE_DROP',
      'inputs[0]',
    ],
  ])('answers %s with a rejection naming the field', async (_case, body, code, field) => {
    const requestId = `e2e-bad-${field.replace(/\W/g, '')}`;
    const messageId = await publish(body, requestId);
    const rejected = await answerTo(requestId, messageId);
    expect(rejected.attributes).toMatchObject({ type: 'request.rejected', status: 'rejected' });
    expect(rejected.data.errorCode).toBe(code);
    const problems = rejected.data.problems as Array<{ details?: { field?: string } }>;
    expect(problems.map((p) => p.details?.field)).toContain(field);
  });
});
