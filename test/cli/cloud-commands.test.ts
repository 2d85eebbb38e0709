import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import {
  type PubSubEmulator,
  pubsubEmulatorAvailable,
  startPubSubEmulator,
} from '../../infra/emulator/pubsub-emulator.ts';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { GcsObjectStore } from '../../shared/adapters/gcs-object-store.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { PubSubJobQueue } from '../../shared/adapters/pubsub-job-queue.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { DEPLOYMENT_MARKER_NAME } from '../../shared/pipeline/deployment-marker.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import { holdJob, PAUSE_NAME, pauseSpending } from '../../shared/pipeline/spend-guard.ts';
import { type Job, jobSchema } from '../../shared/planning/job.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import type { WorkerDeps } from '../../shared/ports/worker-deps.ts';
import { type FakeGcsServer, startFakeGcsServer } from '../support/fake-gcs-server.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * submit / backfill / status / resume against a deployment made of the GCS JSON-API test server
 * (the buckets), the real Pub/Sub emulator (the topics) and the real worker use case with the
 * offline Gemini stand-in. The CLI reaches them the way it reaches Google Cloud, through
 * STORAGE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST.
 */

const available = pubsubEmulatorAvailable();
if (!available.ok) console.warn(`skipping the cloud command tests: ${available.why}`);

const IN = 'bf-test-input';
const OUT = 'bf-test-output';
const TOPICS = { jobs: 'bf-test-jobs', results: 'bf-test-results' };

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: { write: (t: string) => out.push(t) }, err: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe.skipIf(!available.ok)('cloud commands: submit, backfill, status, resume', () => {
  let gcs: FakeGcsServer;
  let emulator: PubSubEmulator;
  let standIn: GeminiStandIn;
  let pubsub: PubSub;
  let store: GcsObjectStore;
  let dropDir: string;
  let tap: Subscription;
  const published = new Map<string, Job>();
  let env: NodeJS.ProcessEnv;
  /** The real worker use case on the test deployment (GCS test server, emulator, stand-in). */
  let worker: WorkerDeps;

  const cli = async (...argv: string[]) => {
    const c = capture();
    const code = await main(argv, env, c.io);
    return { code, out: c.out(), err: c.err() };
  };

  beforeAll(async () => {
    gcs = await startFakeGcsServer();
    emulator = await startPubSubEmulator();
    standIn = await startGeminiStandIn({ port: 0 });
    pubsub = new PubSub({
      projectId: emulator.projectId,
      apiEndpoint: emulator.host,
      emulatorMode: true,
    });
    const [jobs] = await pubsub.createTopic(TOPICS.jobs);
    await pubsub.createTopic(TOPICS.results);
    [tap] = await jobs.createSubscription('bf-test-jobs-tap');
    tap.on('message', (message: Message) => {
      message.ack();
      const job = jobSchema.parse(JSON.parse(message.data.toString('utf8')));
      published.set(job.jobId, job);
    });
    store = new GcsObjectStore(new Storage({ apiEndpoint: gcs.url, projectId: 'test' }));
    const marker = Buffer.from(
      JSON.stringify({
        schemaVersion: 1,
        project: emulator.projectId,
        namePrefix: 'bf-test',
        inputBucket: IN,
        outputBucket: OUT,
        topics: TOPICS,
      }),
    );
    await store.write(IN, DEPLOYMENT_MARKER_NAME, marker);
    await store.write(OUT, DEPLOYMENT_MARKER_NAME, marker);
    worker = {
      store,
      model: createGeminiImageModel({
        backend: { kind: 'gemini-api', apiKey: 'test', baseUrl: standIn.url },
        label: 'stand-in',
      }),
      queue: new PubSubJobQueue(pubsub, TOPICS),
      catalog: loadModelCatalog(),
      log: silentLogger,
      now: () => new Date(),
      uriOf: (bucket, name) => `gs://${bucket}/${name}`,
      workerId: 'test',
      limits: {
        maxInputBytes: 1 << 20,
        maxInputPixels: 1e7,
        modelTimeoutMs: 10_000,
        leaseMs: 60_000,
      },
    };
    dropDir = await mkdtemp(join(tmpdir(), 'bf-submit-'));
    await writeDrop(dropDir, {
      'a.png': await tinyImage('png'),
      'b.png': await tinyImage('png', 80, 60, '#a37'),
      '_edit.json': { prompt: 'as a watercolour' },
    });
    env = {
      PATH: process.env.PATH,
      LOG_LEVEL: 'error',
      STORAGE_EMULATOR_HOST: gcs.url,
      PUBSUB_EMULATOR_HOST: emulator.host,
      METADATA_SERVER_DETECTION: 'none',
    };
  });
  afterAll(async () => {
    await tap?.close();
    await pubsub?.close();
    await standIn?.close();
    await emulator?.stop();
    await gcs?.stop();
    if (dropDir) await rm(dropDir, { recursive: true, force: true });
  });

  it('refuses a bucket that is not bananaflow, and the wrong bucket of the deployment', async () => {
    const foreign = await cli('status', 'gs://someone-elses-bucket');
    expect(foreign.code).toBe(2);
    expect(foreign.err).toMatch(/not a bananaflow bucket.*deployment\.json/s);
    const wrong = await cli('status', `gs://${IN}`);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain(`output bucket (gs://${OUT})`);
  });

  it('submit refuses over the cap, then uploads images before sidecars, and only once', async () => {
    const refused = await cli('submit', dropDir, `gs://${IN}/shoot`, '--max-usd', '0.0001');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/Refused: estimated \$[\d.]+ exceeds --max-usd/);
    expect(await store.list(IN, 'shoot/')).toEqual([]);

    const before = gcs.requests.length;
    const first = await cli('submit', dropDir, `gs://${IN}/shoot`, '--max-usd', '5');
    expect(first.code).toBe(0);
    const uploads = gcs.requests
      .slice(before)
      .filter((r) => r.method === 'POST' && r.path.startsWith('/upload/'))
      .map((r) => r.query.name);
    expect(uploads).toEqual(['shoot/a.png', 'shoot/b.png', 'shoot/_edit.json']);

    const again = await cli('submit', dropDir, `gs://${IN}/shoot`, '--json');
    expect(JSON.parse(again.out)).toMatchObject({ uploaded: 0, unchanged: 3, jobs: 0 });
  });

  it('backfill needs --max-usd, dry-runs without publishing, then publishes each job once', async () => {
    expect((await cli('backfill', `gs://${IN}`)).code).toBe(2);
    const dry = await cli('backfill', `gs://${IN}`, '--max-usd', '5', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.out);
    expect(planned).toMatchObject({ published: 0 });
    expect(planned.jobs).toHaveLength(2);

    const real = JSON.parse((await cli('backfill', `gs://${IN}`, '--max-usd', '5', '--json')).out);
    expect(real.published).toBe(2);
    expect(real.jobs.sort()).toEqual([...planned.jobs].sort());
    const second = JSON.parse(
      (await cli('backfill', `gs://${IN}`, '--max-usd', '5', '--json')).out,
    );
    expect(second).toMatchObject({ published: 0, alreadyPlanned: 1 });

    await expect.poll(() => published.size, { timeout: 15_000 }).toBe(2);
    // Nothing more arrives: the dry run and the second run published nothing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([...published.keys()].sort()).toEqual([...planned.jobs].sort());
  });

  it('status follows the drop, holds while paused, and resume publishes held jobs again', async () => {
    const [first, second] = [...published.values()] as [Job, Job];
    const done = await runJob(worker, first, { messageId: 'm-1', attempt: 1 });
    expect(done.status).toBe('succeeded');

    const now = new Date();
    const pause = {
      reason: 'budget' as const,
      since: now.toISOString(),
      message: 'budget reached',
    };
    await pauseSpending(store, OUT, pause);
    await holdJob(store, OUT, second, pause, now);

    const status = await cli('status', `gs://${OUT}/shoot`, '--json');
    const s = JSON.parse(status.out);
    expect(s).toMatchObject({ planned: 2, succeeded: 1, held: 1, queued: 0 });
    expect(s.costUsd).toBeCloseTo(done.status === 'succeeded' ? done.record.cost.total : -1, 9);
    expect(s.paused.reason).toBe('budget');
    expect((await cli('status', `gs://${OUT}/shoot`)).out).toMatch(/PAUSED \(budget\)/);

    published.clear();
    const resumed = await cli('resume', `gs://${OUT}`);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toMatch(/Lifted the pause .*published 1 held jobs/);
    expect(await store.stat(OUT, PAUSE_NAME)).toBeUndefined();
    await expect.poll(() => [...published.keys()], { timeout: 15_000 }).toEqual([second.jobId]);
  });

  it('status --watch follows result events until the drop is done, then deletes its subscription', async () => {
    const [job] = [...published.values()] as [Job];
    const watching = cli('status', `gs://${OUT}/shoot`, '--watch');
    const results = pubsub.topic(TOPICS.results);
    await expect
      .poll(async () => (await results.getSubscriptions())[0].length, { timeout: 15_000 })
      .toBe(1);
    await runJob(worker, job, { messageId: 'm-2', attempt: 1 });
    const watched = await watching;
    expect(watched.code).toBe(0);
    expect(watched.out).toMatch(new RegExp(`✓ ${job.jobId.slice(0, 8)}`));
    expect(watched.err).toMatch(/Deleted the temporary subscription bf-test-watch-/);
    expect((await results.getSubscriptions())[0]).toHaveLength(0);
  });
});
