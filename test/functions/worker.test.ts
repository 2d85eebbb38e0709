import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Subscription } from '@google-cloud/pubsub';
import { describe, expect, it } from 'vitest';
import '../../functions/worker/index.ts';
import type { Job } from '../../shared/planning/job.ts';
import { outputNames } from '../../shared/planning/output-names.ts';
import { emulatorSuite } from '../support/emulator.ts';
import {
  type FunctionEnv,
  JOBS_TOPIC,
  PROJECT,
  post,
  pullNow,
  pushBody,
  serveFunction,
  startFunctionEnv,
} from '../support/function-env.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

const needsEmulator = emulatorSuite('worker function tests');

let env: FunctionEnv;
let server: { url: string; close(): Promise<void> };
let resultsTap: Subscription;

needsEmulator.beforeAll(async () => {
  env = await startFunctionEnv();
  resultsTap = await env.tap(env.topics.results);
  server = await serveFunction('worker');
});
needsEmulator.afterAll(async () => {
  await server.close();
  await env.close();
});

/** Plans the one job of a fresh image + sidecar in its own folder. */
async function planJob(folder: string, prompt: string): Promise<Job> {
  await writeDrop(env.harness.dropDir, {
    [`${folder}/pic.png`]: await tinyImage(),
    [`${folder}/pic.png.edit.json`]: { prompt },
  });
  const job = (await env.harness.plan()).find((j) => j.sidecar.name.startsWith(`${folder}/`));
  if (!job) throw new Error(`no job planned in ${folder}`);
  return job;
}

/** What the jobs subscription POSTs: a wrapped push to /projects/P/topics/T. */
const push = (data: unknown, messageId: string) =>
  post(`${server.url}/projects/${PROJECT}/topics/${JOBS_TOPIC}`, pushBody(data, { messageId }));

const stored = async (name: string) => env.harness.store.stat('output', name);
const readRecord = async (name: string) =>
  JSON.parse((await env.harness.store.read('output', name)).bytes.toString('utf8'));
const callsFor = (marker: string) =>
  env.harness.standIn.stats().calls.filter((c) => c.prompt.includes(marker)).length;
const acked = (status: number) => status >= 200 && status < 300;

describe.skipIf(!needsEmulator.ok)('worker function (Pub/Sub push CloudEvents)', () => {
  it('runs a pushed job: output, metadata record, result event; a redelivery is not paid again', async () => {
    const job = await planJob('ok', 'paint it teal (ok-case)');
    const names = outputNames(job.output.base, job.output.format);

    expect(acked(await push(job, '101'))).toBe(true);

    expect(await stored(names.image)).toBeDefined();
    const record = await readRecord(names.metadata);
    expect(record).toMatchObject({
      jobId: job.jobId,
      status: 'succeeded',
      attempts: 1,
      model: { id: job.model, backend: `gemini-api at ${env.harness.standIn.url}` },
    });
    expect(record.cost.total).toBeGreaterThan(0);
    const results = await pullNow(env, resultsTap);
    expect(results.map((r) => r.data)).toMatchObject([{ jobId: job.jobId, status: 'succeeded' }]);

    // Pub/Sub redelivers the same message (at least once): acknowledged, no second model call.
    expect(acked(await push(job, '101'))).toBe(true);
    expect(callsFor('(ok-case)')).toBe(1);
    expect(await pullNow(env, resultsTap)).toEqual([]);
  });

  it('accepts the structured-mode CloudEvent an Eventarc Pub/Sub trigger sends', async () => {
    const job = await planJob('structured', 'paint it gold (structured-case)');
    const status = await post(
      server.url,
      {
        specversion: '1.0',
        id: '202',
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: `//pubsub.googleapis.com/projects/${PROJECT}/topics/${JOBS_TOPIC}`,
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        data: pushBody(job, { messageId: '202' }),
      },
      { 'content-type': 'application/cloudevents+json' },
    );
    expect(acked(status)).toBe(true);
    const names = outputNames(job.output.base, job.output.format);
    expect(await readRecord(names.metadata)).toMatchObject({
      jobId: job.jobId,
      status: 'succeeded',
    });
    await pullNow(env, resultsTap);
  });

  it('answers 500 on a retryable model failure and counts the deliveries itself', async () => {
    const job = await planJob('flaky', 'paint it red (retry-case) [standin:always=503]');
    const names = outputNames(job.output.base, job.output.format);

    expect(await push(job, '303')).toBe(500);
    expect(await push(job, '303')).toBe(500);

    expect(await stored(names.metadata)).toBeUndefined();
    expect(await stored(names.error)).toBeUndefined();
    const lastError = await readRecord(`_bananaflow/jobs/${job.jobId}/last-error.json`);
    expect(lastError).toMatchObject({ code: 'MODEL_TRANSIENT', attempt: 2, retryable: true });
    expect(await pullNow(env, resultsTap)).toEqual([]);
  });

  it('acknowledges a permanent failure and writes the error record', async () => {
    const job = await planJob(
      'blocked',
      'paint it (blocked-case) [standin:outcome=blocked-prompt]',
    );
    const names = outputNames(job.output.base, job.output.format);

    expect(acked(await push(job, '404'))).toBe(true);

    expect(await readRecord(names.error)).toMatchObject({
      jobId: job.jobId,
      status: 'failed',
      error: { code: 'MODEL_BLOCKED_PROMPT', retryable: false },
      attempts: 1,
    });
    expect(await stored(names.metadata)).toBeUndefined();
    const results = await pullNow(env, resultsTap);
    expect(results.map((r) => r.data)).toMatchObject([
      { jobId: job.jobId, status: 'failed', errorCode: 'MODEL_BLOCKED_PROMPT' },
    ]);
  });

  it('acknowledges a message that is not a job, and writes nothing', async () => {
    const before = await readdir(join(env.harness.outDir, '_bananaflow', 'jobs'));
    expect(acked(await push('not json at all', '505'))).toBe(true);
    expect(acked(await push({ hello: 'world' }, '506'))).toBe(true);
    expect(await readdir(join(env.harness.outDir, '_bananaflow', 'jobs'))).toEqual(before);
  });

  it('acknowledges a job naming a bucket the deployment does not own, and writes nothing there', async () => {
    const job = await planJob('forged', 'never run (forged)');
    const forged = { ...job, output: { ...job.output, bucket: 'other' } };
    expect(acked(await push(forged, '507'))).toBe(true);
    await expect(readdir(join(env.harness.root, 'other-bucket'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(callsFor('(forged)')).toBe(0);
  });
});
