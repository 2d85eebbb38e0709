import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptRequest,
  type RequestDeps,
  rejectDeadLetteredRequest,
} from '../../shared/pipeline/accept-request.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import type { Job } from '../../shared/planning/job.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function setup() {
  harness = await startHarness();
  const published: Job[] = [];
  const deps: RequestDeps = {
    ...harness.planner,
    queue: {
      publishJobs: async (jobs) => {
        published.push(...jobs);
      },
      publishResult: async () => {},
    },
    events: harness.queue,
    maxRequestBytes: 1 << 20,
  };
  await writeDrop(harness.dropDir, {
    'cats/tom.png': await tinyImage(),
    'style/ref.png': await tinyImage('png', 32, 32, '#a37'),
  });
  let messages = 0;
  const send = (body: unknown, attributes: Record<string, string> = {}) =>
    acceptRequest(deps, {
      messageId: `m-${++messages}`,
      attributes,
      data: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    });
  return { h: harness, deps, published, send };
}

describe('requests: a message plans the jobs a manifest job would', () => {
  it('plans, publishes and announces the jobs, each carrying the request id', async () => {
    const { h, published, send } = await setup();
    const outcome = await send(
      { prompt: 'give him a hat', inputs: ['gs://input/cats/tom.png'], variants: 2 },
      { requestId: 'order-7' },
    );
    expect(outcome.status).toBe('accepted');
    expect(published).toHaveLength(2);
    for (const job of published) {
      expect(job).toMatchObject({
        requestId: 'order-7',
        sidecar: { bucket: 'input', name: 'requests/order-7', kind: 'request' },
        inputs: [{ bucket: 'input', name: 'cats/tom.png', role: 'input' }],
        output: { bucket: 'output' },
      });
      expect(job.output.base).toMatch(/^requests\/order-7\//);
    }
    expect(h.queue.requestEvents).toEqual([
      expect.objectContaining({
        type: 'request.accepted',
        requestId: 'order-7',
        messageId: 'm-1',
        jobIds: published.map((j) => j.jobId),
      }),
    ]);
  });

  it('plans the same job ids for the same message, and new ones for changed content', async () => {
    const { published, send } = await setup();
    const body = { prompt: 'blue', inputs: ['cats/tom.png'], references: ['style/ref.png'] };
    await send(body);
    await send({ references: ['style/ref.png'], inputs: ['cats/tom.png'], prompt: 'blue' });
    await send({ ...body, prompt: 'green' });
    const [a, b, c] = published.map((j) => j.jobId);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(published[0]?.mode).toBe('style-transfer');
  });

  it('runs its jobs once: records and result events carry the request id, a duplicate pays nothing', async () => {
    const { h, published, send } = await setup();
    const body = { prompt: 'blue', inputs: ['cats/tom.png'], requestId: 'paid-once' };
    await send(body);
    await send(body);
    const [job, again] = published;
    if (!job || !again) throw new Error('expected two publishes of the job');
    expect(again.jobId).toBe(job.jobId);
    const first = await runJob(h.worker, job, { messageId: 'd-1', attempt: 1 });
    const second = await runJob(h.worker, again, { messageId: 'd-2', attempt: 1 });
    expect(first.status).toBe('succeeded');
    expect(second.status).toBe('duplicate');
    expect(h.standIn.stats().totalCalls).toBe(1);
    if (first.status !== 'succeeded') return;
    expect(first.record.requestId).toBe('paid-once');
    const onDisk = JSON.parse(
      await readFile(join(h.outDir, `${job.output.base}.png.json`), 'utf8'),
    ) as { requestId?: string };
    expect(onDisk.requestId).toBe('paid-once');
    expect(new Set(h.queue.results.map((e) => e.requestId))).toEqual(new Set(['paid-once']));
  });

  it.each([
    [
      'an input in another bucket',
      { prompt: 'x', inputs: ['gs://someone-else/cats/tom.png'] },
      'INPUT_PATH_OUTSIDE_DROP',
      'inputs[0]',
    ],
    [
      'an input not uploaded (yet)',
      { prompt: 'x', inputs: ['cats/felix.png'] },
      'INPUT_MISSING',
      'inputs[0]',
    ],
    [
      'more images than the model takes',
      { prompt: 'x', inputs: ['cats/tom.png', 'cats/tom.png', 'cats/tom.png', 'cats/tom.png'] },
      'TOO_MANY_IMAGES',
      'inputs',
    ],
    ['an unknown model', { prompt: 'x', model: 'nano-apple' }, 'MODEL_UNKNOWN', 'model'],
    [
      'a file that is not an image',
      { prompt: 'x', inputs: ['notes.txt'] },
      'INPUT_NOT_IMAGE',
      'inputs[0]',
    ],
  ])('rejects %s, naming the field, and publishes no job', async (_case, body, code, field) => {
    const { h, published, send } = await setup();
    const outcome = await send({ ...body, requestId: 'bad-1' });
    expect(outcome.status).toBe('rejected');
    expect(published).toEqual([]);
    const [event] = h.queue.requestEvents;
    expect(event).toMatchObject({ type: 'request.rejected', requestId: 'bad-1', errorCode: code });
    if (event?.type !== 'request.rejected') return;
    expect(event.problems[0]?.message).toContain(`field "${field}"`);
    expect(event.problems[0]?.message).not.toContain('jobs[0]');
  });

  it('lists every problem of a request at once', async () => {
    const { h, send } = await setup();
    await send({
      prompt: 'x',
      inputs: ['gs://other/a.png', 'cats/felix.png'],
      model: 'nano-apple',
    });
    const [event] = h.queue.requestEvents;
    if (event?.type !== 'request.rejected') throw new Error('expected a rejection');
    expect(event.problems.map((p) => p.code).sort()).toEqual([
      'INPUT_MISSING',
      'INPUT_PATH_OUTSIDE_DROP',
      'MODEL_UNKNOWN',
    ]);
  });

  it('keeps a rejection record until a valid request with the same id replaces it', async () => {
    const { h, send } = await setup();
    const record = join(h.outDir, 'requests', 'retry-me.error.json');
    await send({ prompt: 'x', inputs: ['cats/felix.png'], requestId: 'retry-me' });
    expect(JSON.parse(await readFile(record, 'utf8'))).toMatchObject({
      errorCode: 'INPUT_MISSING',
    });
    await writeDrop(h.dropDir, { 'cats/felix.png': await tinyImage() });
    const outcome = await send({ prompt: 'x', inputs: ['cats/felix.png'], requestId: 'retry-me' });
    expect(outcome.status).toBe('accepted');
    await expect(readFile(record)).rejects.toThrow(/ENOENT/);
  });

  it('answers a dead-lettered request with DEAD_LETTERED under its request id', async () => {
    const { h, deps } = await setup();
    const outcome = await rejectDeadLetteredRequest(
      deps,
      { messageId: 'm-9', attributes: { requestId: 'stuck-1' }, data: Buffer.from('{}') },
      5,
    );
    expect(outcome.status).toBe('rejected');
    expect(h.queue.requestEvents[0]).toMatchObject({
      requestId: 'stuck-1',
      errorCode: 'DEAD_LETTERED',
    });
  });
});
