import type { Subscription } from '@google-cloud/pubsub';
import { describe, expect, it } from 'vitest';
import '../../functions/dead-letter/index.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
import type { Job } from '../../shared/planning/job.ts';
import { outputNames } from '../../shared/planning/output-names.ts';
import { emulatorSuite } from '../support/emulator.ts';
import {
  type FunctionEnv,
  PROJECT,
  post,
  pullNow,
  pushBody,
  serveFunction,
  startFunctionEnv,
} from '../support/function-env.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

const needsEmulator = emulatorSuite('dead-letter function tests');

const DEAD_LETTER_TOPIC = 'fn-test-dead-letter';

let env: FunctionEnv;
let server: { url: string; close(): Promise<void> };
let resultsTap: Subscription;

needsEmulator.beforeAll(async () => {
  env = await startFunctionEnv();
  resultsTap = await env.tap(env.topics.results);
  server = await serveFunction('deadLetter');
});
needsEmulator.afterAll(async () => {
  await server.close();
  await env.close();
});

async function planJob(folder: string): Promise<Job> {
  await writeDrop(env.harness.dropDir, {
    [`${folder}/pic.png`]: await tinyImage(),
    [`${folder}/pic.png.edit.json`]: { prompt: `edit ${folder}` },
  });
  const job = (await env.harness.plan()).find((j) => j.sidecar.name.startsWith(`${folder}/`));
  if (!job) throw new Error(`no job planned in ${folder}`);
  return job;
}

/** What Pub/Sub pushes from the dead-letter topic: the job plus the dead-letter attributes. */
const pushDeadLetter = (job: Job, messageId: string, deliveryCount: number) =>
  post(
    `${server.url}/projects/${PROJECT}/topics/${DEAD_LETTER_TOPIC}`,
    pushBody(job, {
      messageId,
      attributes: {
        jobId: job.jobId,
        runId: job.runId,
        schemaVersion: '1',
        CloudPubSubDeadLetterSourceDeliveryCount: String(deliveryCount),
        CloudPubSubDeadLetterSourceSubscription: 'fn-test-jobs-worker',
        CloudPubSubDeadLetterSourceSubscriptionProject: PROJECT,
        CloudPubSubDeadLetterSourceTopicPublishTime: new Date().toISOString(),
      },
    }),
  );

const readRecord = async (name: string) =>
  JSON.parse((await env.harness.store.read('output', name)).bytes.toString('utf8'));
const acked = (status: number) => status >= 200 && status < 300;

describe.skipIf(!needsEmulator.ok)(
  'dead-letter function (Pub/Sub push from the dead-letter topic)',
  () => {
    it('records DEAD_LETTERED with the delivery count and the last failure', async () => {
      const job = await planJob('doomed');
      await new JobState(env.harness.store, 'output', job.jobId).saveLastError(
        { code: 'MODEL_TRANSIENT', message: 'Gemini answered 500', retryable: true },
        5,
      );

      expect(acked(await pushDeadLetter(job, '9001', 5))).toBe(true);

      const names = outputNames(job.output.base, job.output.format);
      const record = await readRecord(names.error);
      expect(record).toMatchObject({
        jobId: job.jobId,
        status: 'failed',
        attempts: 5,
        error: {
          code: 'DEAD_LETTERED',
          details: { attempts: 5, lastError: { code: 'MODEL_TRANSIENT' } },
        },
      });
      const results = await pullNow(env, resultsTap);
      expect(results.map((r) => r.data)).toMatchObject([
        { jobId: job.jobId, status: 'failed', errorCode: 'DEAD_LETTERED' },
      ]);
    });

    it('leaves a job alone that finished after all', async () => {
      const job = await planJob('late');
      const names = outputNames(job.output.base, job.output.format);
      await env.harness.store.write(
        'output',
        names.metadata,
        Buffer.from('{"status":"succeeded"}'),
      );

      expect(acked(await pushDeadLetter(job, '9002', 5))).toBe(true);

      expect(await env.harness.store.stat('output', names.error)).toBeUndefined();
      expect(await pullNow(env, resultsTap)).toEqual([]);
    });

    it('answers 500 while a worker still holds the job, so the message comes back later', async () => {
      const job = await planJob('busy');
      const claim = await new JobState(env.harness.store, 'output', job.jobId).claim(
        { owner: 'another-worker', messageId: '1', attempt: 5 },
        new Date(),
        60_000,
      );
      expect(claim.ok).toBe(true);

      expect(await pushDeadLetter(job, '9003', 5)).toBe(500);

      const names = outputNames(job.output.base, job.output.format);
      expect(await env.harness.store.stat('output', names.error)).toBeUndefined();
    });
  },
);
