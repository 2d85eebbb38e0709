import { afterEach, describe, expect, it } from 'vitest';
import { BananaError } from '../../shared/errors.ts';
import { handleJobDelivery } from '../../shared/pipeline/handle-job-delivery.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
import { recordDeadLetter } from '../../shared/pipeline/record-dead-letter.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import { failingWrites } from '../support/failing-store.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function oneJob(h: Harness, prompt = 'make it blue') {
  await writeDrop(h.dropDir, { 'cat.png': await tinyImage(), 'cat.png.edit.json': { prompt } });
  const [job] = await h.plan();
  if (!job) throw new Error('no job planned');
  return job;
}

const delivery = (attempt = 1, messageId = `m-${attempt}`) => ({ messageId, attempt });
const readJson = async (h: Harness, bucket: string, name: string) =>
  JSON.parse((await h.store.read(bucket, name)).bytes.toString('utf8'));

describe('a job is paid once', () => {
  it('succeeds, writes the image and its metadata record with cost from reported usage', async () => {
    harness = await startHarness();
    const job = await oneJob(harness);
    const result = await runJob(harness.worker, job, delivery());
    expect(result.status).toBe('succeeded');
    if (result.status !== 'succeeded') return;
    const billed = harness.standIn.stats().usage;
    expect(result.record.usage).toEqual(billed);
    expect(result.record.cost.total).toBeGreaterThan(0);
    const stored = await readJson(harness, 'output', `${job.output.base}.png.json`);
    expect(stored).toMatchObject({
      jobId: job.jobId,
      status: 'succeeded',
      model: { backend: 'offline-stand-in' },
    });
    expect(harness.queue.results.map((r) => r.status)).toEqual(['succeeded']);
  });

  it('does nothing for a duplicate delivery of a finished job', async () => {
    harness = await startHarness();
    const job = await oneJob(harness);
    await runJob(harness.worker, job, delivery());
    const again = await runJob(harness.worker, job, delivery(1, 'another-message'));
    expect(again.status).toBe('duplicate');
    expect(harness.standIn.stats().totalCalls).toBe(1);
  });

  it('sends the result event on a redelivery when publishing it failed after the record was written', async () => {
    harness = await startHarness();
    const job = await oneJob(harness);
    const queue = harness.worker.queue;
    let failNext = true;
    const worker = {
      ...harness.worker,
      queue: {
        publishJobs: queue.publishJobs.bind(queue),
        publishResult: async (event: Parameters<typeof queue.publishResult>[0]) => {
          if (failNext) {
            failNext = false;
            throw new BananaError({ code: 'INTERNAL', message: 'publish failed', retryable: true });
          }
          await queue.publishResult(event);
        },
      },
    };
    await expect(runJob(worker, job, delivery(1))).rejects.toMatchObject({ retryable: true });
    expect(harness.queue.results).toEqual([]);
    // The record is there, so the redelivery is a duplicate: it sends the missed event, once.
    expect((await runJob(worker, job, delivery(2))).status).toBe('duplicate');
    expect((await runJob(worker, job, delivery(3))).status).toBe('duplicate');
    expect(harness.queue.results).toMatchObject([
      { jobId: job.jobId, status: 'succeeded', costUsd: expect.any(Number) },
    ]);
    expect(harness.queue.results[0]?.costUsd).toBeGreaterThan(0);
    expect(harness.standIn.stats().totalCalls).toBe(1);
  });

  it('sends the missed result event even while a dead worker still holds the claim', async () => {
    harness = await startHarness();
    const job = await oneJob(harness);
    const queue = harness.worker.queue;
    const worker = {
      ...harness.worker,
      queue: {
        publishJobs: queue.publishJobs.bind(queue),
        publishResult: async () => {
          throw new BananaError({ code: 'INTERNAL', message: 'publish failed', retryable: true });
        },
      },
    };
    await expect(runJob(worker, job, delivery(1))).rejects.toMatchObject({ retryable: true });
    // As if that worker had died right after writing the record: its claim outlives redeliveries.
    const claim = await new JobState(harness.store, job.output.bucket, job.jobId).claim(
      { owner: 'dead-worker', messageId: 'm-1', attempt: 1 },
      new Date(),
      600_000,
    );
    expect(claim.ok).toBe(true);
    expect((await runJob(harness.worker, job, delivery(2))).status).toBe('duplicate');
    expect(harness.queue.results.map((r) => r.jobId)).toEqual([job.jobId]);
  });

  it('calls the model once when the same job is delivered many times at once', async () => {
    harness = await startHarness();
    harness.standIn.setLatency(200);
    const job = await oneJob(harness);
    const h = harness;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => runJob(h.worker, job, delivery(1, `dup-${i}`))),
    );
    expect(harness.standIn.stats().totalCalls).toBe(1);
    const fulfilled = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value.status);
    const rejected = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => (o.reason as BananaError).code);
    expect(fulfilled.filter((s) => s === 'succeeded')).toHaveLength(1);
    // The others either saw the live claim (retryable, redelivered later) or the finished job.
    expect(
      [...fulfilled.filter((s) => s !== 'succeeded'), ...rejected].every(
        (s) => s === 'duplicate' || s === 'JOB_IN_PROGRESS',
      ),
    ).toBe(true);
    // ...and their redelivery finds the job done without calling the model.
    const redelivered = await runJob(harness.worker, job, delivery(2));
    expect(redelivered.status).toBe('duplicate');
    expect(harness.standIn.stats().totalCalls).toBe(1);
  });

  it('does not pay again when the worker fails after the model answered', async () => {
    let failOutputWrite = true;
    harness = await startHarness({
      store: (inner) =>
        failingWrites(inner, (_, name) => {
          if (!failOutputWrite || !name.endsWith('.png') || name.startsWith('_bananaflow/')) return;
          failOutputWrite = false;
          return new BananaError({
            code: 'STORAGE_TRANSIENT',
            message: 'simulated crash while writing outputs',
            retryable: true,
          });
        }),
    });
    const job = await oneJob(harness);
    await expect(runJob(harness.worker, job, delivery(1))).rejects.toMatchObject({
      code: 'STORAGE_TRANSIENT',
      retryable: true,
    });
    const second = await runJob(harness.worker, job, delivery(2));
    expect(second.status).toBe('succeeded');
    if (second.status === 'succeeded') {
      expect(second.record.modelResultReused).toBe(true);
      expect(second.record.attempts).toBe(2);
    }
    expect(harness.standIn.stats().totalCalls).toBe(1);
  });

  it("lets another delivery take over only after a dead worker's lease expires", async () => {
    let clock = Date.parse('2026-11-25T10:00:00Z');
    harness = await startHarness({ now: () => new Date(clock), leaseMs: 60_000 });
    const job = await oneJob(harness);
    // A worker claimed the job and died before calling the model.
    const { JobState } = await import('../../shared/pipeline/job-state.ts');
    const claim = await new JobState(harness.worker.store, 'output', job.jobId).claim(
      { owner: 'dead-worker', messageId: 'm0', attempt: 1 },
      new Date(clock),
      120_000,
    );
    expect(claim.ok).toBe(true);
    await expect(runJob(harness.worker, job, delivery(2))).rejects.toMatchObject({
      code: 'JOB_IN_PROGRESS',
      retryable: true,
    });
    expect(harness.standIn.stats().totalCalls).toBe(0);
    clock += 121_000;
    const result = await runJob(harness.worker, job, delivery(3));
    expect(result.status).toBe('succeeded');
    expect(harness.standIn.stats().totalCalls).toBe(1);
  });
});

describe('input problems', () => {
  it.each([
    [
      'a reference of a per-image sidecar',
      { 'cat.png.edit.json': { prompt: 'x', references: ['ok.png', 'empty.jpg'] } },
      'cat.png.edit.json',
      'references[1]',
    ],
    [
      'an input of a manifest job',
      {
        'm.jobs.json': {
          jobs: [{ prompt: 'a' }, { prompt: 'b', inputs: ['ok.png', 'empty.jpg'] }],
        },
      },
      'm.jobs.json',
      'jobs[1].inputs[1]',
    ],
  ])('name the sidecar and the field of %s', async (_what, sidecars, sidecar, field) => {
    harness = await startHarness();
    await writeDrop(harness.dropDir, {
      'cat.png': await tinyImage(),
      'ok.png': await tinyImage(),
      'empty.jpg': Buffer.alloc(0),
      ...sidecars,
    });
    const jobs = await harness.plan();
    const job = jobs.find((j) => j.inputs.some((i) => i.name === 'empty.jpg'));
    if (!job) throw new Error('no job uses empty.jpg');
    const result = await runJob(harness.worker, job, delivery());
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.record).toMatchObject({
      file: 'empty.jpg',
      field,
      sidecar: `input://${sidecar}`,
      error: { code: 'INPUT_EMPTY' },
    });
    expect(result.record.error.message).toContain(`named by ${field} in ${sidecar}`);
    expect(harness.standIn.stats().totalCalls).toBe(0);
  });
});

describe('model outcomes', () => {
  it('retries a 429 after the delay the model asked for, then succeeds', async () => {
    harness = await startHarness();
    const job = await oneJob(harness, 'blue [standin:fail=429] [standin:retry-delay=3s]');
    await expect(runJob(harness.worker, job, delivery(1))).rejects.toMatchObject({
      code: 'MODEL_QUOTA',
      retryable: true,
      retryAfterMs: 3000,
    });
    const result = await runJob(harness.worker, job, delivery(2));
    expect(result.status).toBe('succeeded');
    expect(harness.standIn.stats().totalCalls).toBe(2);
  });

  it('goes on from step 2 when a refinement fails there and is retried (step 1 not paid again)', async () => {
    harness = await startHarness();
    await writeDrop(harness.dropDir, {
      'cat.png': await tinyImage(),
      'cat.png.edit.json': { steps: ['paint it', 'add a hat [standin:fail=503]'] },
    });
    const [job] = await harness.plan();
    if (!job) throw new Error('no job');
    await expect(runJob(harness.worker, job, delivery(1))).rejects.toMatchObject({
      code: 'MODEL_TRANSIENT',
    });
    const result = await runJob(harness.worker, job, delivery(2));
    expect(result.status).toBe('succeeded');
    if (result.status !== 'succeeded') return;
    expect(result.record.resumedAfterStep).toBe(1);
    expect(result.record.retriedUsage).toBeUndefined();
    expect(result.record.usage).toEqual(harness.standIn.stats().usage);
    // Step 1, step 2 (503), step 2 again.
    expect(harness.standIn.stats().totalCalls).toBe(3);
  });

  it.each([
    ['blocked-output', 'MODEL_BLOCKED_OUTPUT'],
    ['blocked-prompt', 'MODEL_BLOCKED_PROMPT'],
    ['text-only', 'MODEL_TEXT_ONLY'],
    ['empty-candidates', 'MODEL_NO_IMAGE'],
  ])(
    'records %s as a permanent failure with what it cost, and never retries it',
    async (outcome, code) => {
      harness = await startHarness();
      const job = await oneJob(harness, `cat [standin:outcome=${outcome}]`);
      const result = await runJob(harness.worker, job, delivery());
      expect(result.status).toBe('failed');
      const record = await readJson(harness, 'output', `${job.output.base}.error.json`);
      expect(record.error.code).toBe(code);
      expect(record.error.fix).toBeTruthy();
      expect(record.cost.total).toBeCloseTo(
        result.status === 'failed' ? (result.record.cost?.total ?? -1) : -1,
        9,
      );
      expect((await runJob(harness.worker, job, delivery(2))).status).toBe('duplicate');
      expect(harness.standIn.stats().totalCalls).toBe(1);
      expect(harness.queue.results.map((r) => r.errorCode)).toEqual([code]);
    },
  );

  it('turns a job that keeps failing into a dead-letter record with its attempts and last error', async () => {
    harness = await startHarness();
    const job = await oneJob(harness, 'cat [standin:always=500]');
    const h = harness;
    h.queue.consume(
      (d) => handleJobDelivery(h.worker, d),
      (d) => recordDeadLetter(h.worker, d),
    );
    await h.queue.publishJobs([job]);
    await h.queue.drain();
    expect(h.standIn.stats().totalCalls).toBe(3);
    const record = await readJson(h, 'output', `${job.output.base}.error.json`);
    expect(record.error).toMatchObject({
      code: 'DEAD_LETTERED',
      details: { attempts: 3, lastError: { code: 'MODEL_TRANSIENT' } },
    });
    expect(h.queue.stats.deadLettered).toBe(1);
  });

  it('says to look at the worker logs when a dead-lettered job never reached the worker', async () => {
    harness = await startHarness();
    const job = await oneJob(harness);
    const result = await recordDeadLetter(harness.worker, { job, messageId: 'm', attempt: 5 });
    expect(result).toMatchObject({
      status: 'failed',
      record: { error: { code: 'DEAD_LETTERED', fix: expect.stringContaining('worker logs') } },
    });
    expect(harness.standIn.stats().totalCalls).toBe(0);
  });

  it('records an input that is not an image, naming the file', async () => {
    harness = await startHarness();
    await writeDrop(harness.dropDir, {
      'fake.jpg': 'this is text, not a JPEG',
      'fake.jpg.edit.json': { prompt: 'x' },
    });
    const [job] = await harness.plan();
    if (!job) throw new Error('no job');
    const result = await runJob(harness.worker, job, delivery());
    expect(result.status).toBe('failed');
    if (result.status === 'failed') {
      expect(result.record.error.code).toBe('INPUT_NOT_IMAGE');
      expect(result.record.error.message).toContain('fake.jpg');
    }
    expect(harness.standIn.stats().totalCalls).toBe(0);
  });
});
