import type { Subscription } from '@google-cloud/pubsub';
import { describe, expect, it } from 'vitest';
import '../../functions/ingest/index.ts';
import { BatchInbox } from '../../shared/pipeline/batch-inbox.ts';
import { emulatorSuite } from '../support/emulator.ts';
import {
  type FunctionEnv,
  JOBS_TOPIC,
  post,
  pullNow,
  serveFunction,
  startFunctionEnv,
} from '../support/function-env.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

const needsEmulator = emulatorSuite('ingest function tests');

let env: FunctionEnv;
let server: { url: string; close(): Promise<void> };
let jobsTap: Subscription;

needsEmulator.beforeAll(async () => {
  env = await startFunctionEnv();
  jobsTap = await env.tap(env.topics.jobs);
  server = await serveFunction('ingest');
});
needsEmulator.afterAll(async () => {
  await server.close();
  await env.close();
});

let eventCounter = 0;

/** A storage "finalized" event exactly as Eventarc sends it: binary-mode CloudEvent over HTTP. */
async function finalized(
  name: string,
  options: { time?: Date; metadata?: Record<string, string>; data?: object } = {},
): Promise<number> {
  const info = await env.harness.store.stat('input', name);
  if (!info) throw new Error(`${name} is not in the drop`);
  eventCounter += 1;
  const data = options.data ?? {
    kind: 'storage#object',
    id: `input/${name}/${info.generation}`,
    selfLink: `https://www.googleapis.com/storage/v1/b/input/o/${encodeURIComponent(name)}`,
    name,
    bucket: 'input',
    generation: info.generation,
    metageneration: '1',
    contentType: info.contentType,
    timeCreated: info.updated,
    updated: info.updated,
    storageClass: 'STANDARD',
    timeStorageClassUpdated: info.updated,
    size: String(info.size),
    md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==',
    mediaLink: `https://storage.googleapis.com/download/storage/v1/b/input/o/${encodeURIComponent(name)}?generation=${info.generation}&alt=media`,
    crc32c: 'yZRlqg==',
    etag: 'CKih16GjycICEAE=',
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
  return post(server.url, data, {
    'ce-id': `${9_876_543_210 + eventCounter}`,
    'ce-specversion': '1.0',
    'ce-type': 'google.cloud.storage.object.v1.finalized',
    'ce-source': '//storage.googleapis.com/projects/_/buckets/input',
    'ce-subject': `objects/${name}`,
    'ce-time': (options.time ?? new Date()).toISOString(),
    'ce-bucket': 'input',
  });
}

const acked = (status: number) => status >= 200 && status < 300;

describe.skipIf(!needsEmulator.ok)('ingest function (storage finalized CloudEvents)', () => {
  it('plans the jobs a sidecar completes and publishes them to the jobs topic', async () => {
    await writeDrop(env.harness.dropDir, {
      'cats/tom.png': await tinyImage(),
      'cats/tom.png.edit.json': { prompt: 'give him a hat' },
    });
    const expected = await env.harness.plan();
    expect(expected).toHaveLength(1);

    expect(acked(await finalized('cats/tom.png.edit.json'))).toBe(true);

    const published = await pullNow(env, jobsTap);
    expect(published.map((m) => m.attributes.jobId)).toEqual([expected[0]?.jobId]);
    expect(published[0]?.data).toMatchObject({
      jobId: expected[0]?.jobId,
      inputs: [{ bucket: 'input', name: 'cats/tom.png' }],
      output: { bucket: 'output' },
    });
  });

  it('leaves batch-tier jobs as pending markers for the batch tick, not on the jobs topic', async () => {
    await writeDrop(env.harness.dropDir, {
      'bulk/a.png': await tinyImage(),
      'bulk/a.png.edit.json': { prompt: 'half price please', tier: 'batch' },
    });
    const expected = (await env.harness.plan()).filter((j) => j.inputs[0]?.name === 'bulk/a.png');
    expect(expected.map((j) => j.tier)).toEqual(['batch']);

    expect(acked(await finalized('bulk/a.png.edit.json'))).toBe(true);
    // Delivered again (at least once): the marker is written once, still nothing published.
    expect(acked(await finalized('bulk/a.png.edit.json'))).toBe(true);

    expect(await pullNow(env, jobsTap)).toEqual([]);
    const inbox = new BatchInbox(env.harness.store, 'output');
    const pending = await inbox.list();
    expect(pending.map((p) => p.jobId)).toEqual(expected.map((j) => j.jobId));
    const job = await inbox.read(pending[0]?.jobId ?? '');
    expect(job).toMatchObject({ tier: 'batch', turns: ['half price please'] });
    expect(pending[0]?.model).toBe(job?.model);
    expect(pending[0]?.bytes).toBeGreaterThan(0);
  });

  it.each([
    ['an image whose sidecar has not arrived yet', 'dogs/rex.png', {}],
    [
      'an object bananaflow wrote itself (output tag)',
      'dogs/rex.png',
      { metadata: { 'bananaflow-output': '1' } },
    ],
    ['an event older than the maximum event age', 'cats/tom.png.edit.json', { time: new Date(0) }],
  ])('acknowledges and publishes nothing for %s', async (_case, name, options) => {
    await writeDrop(env.harness.dropDir, { 'dogs/rex.png': await tinyImage() });
    expect(acked(await finalized(name, options))).toBe(true);
    expect(await pullNow(env, jobsTap)).toEqual([]);
  });

  it('acknowledges an event whose data is not a storage object (a retry cannot fix it)', async () => {
    const status = await finalized('cats/tom.png.edit.json', { data: { bucket: 'input' } });
    expect(acked(status)).toBe(true);
    expect(await pullNow(env, jobsTap)).toEqual([]);
  });

  it('answers 500 when publishing fails, so Eventarc delivers the event again', async () => {
    await env.topics.jobs.delete();
    try {
      expect(await finalized('cats/tom.png.edit.json')).toBe(500);
    } finally {
      await env.pubsub.createTopic(JOBS_TOPIC);
    }
    const [retryTap] = await env.topics.jobs.createSubscription('ingest-retry-tap');
    expect(acked(await finalized('cats/tom.png.edit.json'))).toBe(true);
    expect(await pullNow(env, retryTap)).toHaveLength(1);
  });
});
