import type { Subscription } from '@google-cloud/pubsub';
import { describe, expect, it, vi } from 'vitest';
import '../../functions/batch-tick/index.ts';
import { BatchInbox } from '../../shared/pipeline/batch-inbox.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
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

/**
 * The batch-tick function as Cloud Scheduler → Pub/Sub push runs it: a tick submits the pending
 * batch-tier jobs to the (stand-in's) Batch API, a later tick collects the finished batch and hands
 * each answered job to the jobs topic with its answer persisted.
 */

const needsEmulator = emulatorSuite('batch-tick function tests');

let env: FunctionEnv;
let server: { url: string; close(): Promise<void> };
let jobsTap: Subscription;
let ticks = 0;

needsEmulator.beforeAll(async () => {
  env = await startFunctionEnv();
  process.env.BANANAFLOW_BATCH_WINDOW_MS = '0';
  env.harness.standIn.setBatchTurnaround(20);
  jobsTap = await env.tap(env.topics.jobs);
  server = await serveFunction('batchTick');
});
needsEmulator.afterAll(async () => {
  await server.close();
  await env.close();
});

const tick = (data: unknown = { tick: true }) =>
  post(
    `${server.url}/projects/${PROJECT}/topics/bananaflow-batch-tick`,
    pushBody(data, { messageId: `tick-${++ticks}` }),
  );
const acked = (status: number) => status >= 200 && status < 300;

describe.skipIf(!needsEmulator.ok)('batch-tick function (Cloud Scheduler ticks)', () => {
  it('submits pending batch-tier jobs, then hands each answered job to the jobs topic', async () => {
    await writeDrop(env.harness.dropDir, {
      'bt/a.png': await tinyImage(),
      'bt/a.png.edit.json': { prompt: 'tick tock (fn)', tier: 'batch' },
    });
    const jobs = await env.harness.plan();
    const inbox = new BatchInbox(env.harness.store, 'output');
    await inbox.add(jobs);

    const handed = await vi.waitFor(
      async () => {
        expect(acked(await tick())).toBe(true);
        const published = await pullNow(env, jobsTap);
        expect(published.length).toBeGreaterThan(0);
        return published;
      },
      { timeout: 60_000, interval: 100 },
    );
    expect(handed.map((m) => (m.data as { jobId: string }).jobId)).toEqual([jobs[0]?.jobId]);
    const job = jobs[0];
    if (!job) throw new Error('no job');
    const answer = await new JobState(env.harness.store, 'output', job.jobId).loadModelResult();
    expect(answer?.kind).toBe('image');
    expect(answer?.batch?.name).toMatch(/^batches\//);
    expect(await inbox.list()).toEqual([]);
    const calls = env.harness.standIn.stats().calls.filter((c) => c.prompt.includes('(fn)'));
    expect(calls.map((c) => c.tier)).toEqual(['batch']);
  });

  it('ticks on any message (a tick carries nothing) and acknowledges it', async () => {
    expect(acked(await tick('not json at all'))).toBe(true);
  });
});
