import { afterEach, describe, expect, it } from 'vitest';
import { BananaError } from '../../shared/errors.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import type { Job } from '../../shared/planning/job.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * Iterative refinement is paid once per step: each answered step is kept as a checkpoint, and a
 * retried delivery goes on from the last one instead of starting the conversation again.
 */

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

const STEPS = ['paint it in watercolour', 'add a small red hat', 'make it night time'];
const MODELS = ['gemini-2.5-flash-image', 'gemini-3-pro-image'];

async function refinementJob(model: string): Promise<{ harness: Harness; job: Job }> {
  const harness = await startHarness();
  harnesses.push(harness);
  await writeDrop(harness.dropDir, {
    'cat.png': await tinyImage(),
    'cat.png.edit.json': { model, steps: STEPS },
  });
  const [job] = await harness.plan();
  if (!job) throw new Error('no job planned');
  return { harness, job };
}

const delivery = (attempt: number) => ({ messageId: `m-${attempt}`, attempt });
const outputBytes = async (h: Harness, job: Job) => {
  const name = `${job.output.base}.${job.output.format === 'jpeg' ? 'jpg' : job.output.format}`;
  return (await h.store.read(job.output.bucket, name)).bytes;
};

describe.each(MODELS)('a %s refinement retried mid-way', (model) => {
  it('goes on from the last answered step: every step paid once, same image as one clean run', async () => {
    const clean = await refinementJob(model);
    const cleanResult = await runJob(clean.harness.worker, clean.job, delivery(1));
    expect(cleanResult.status).toBe('succeeded');

    const { harness, job } = await refinementJob(model);
    // Call 3 (step 3) fails with a 503: steps 1 and 2 were answered and billed.
    harness.standIn.setFaults((callNumber) => (callNumber === 3 ? { status: 503 } : undefined));
    await expect(runJob(harness.worker, job, delivery(1))).rejects.toMatchObject({
      code: 'MODEL_TRANSIENT',
      retryable: true,
    });
    const result = await runJob(harness.worker, job, delivery(2));
    expect(result.status).toBe('succeeded');
    if (result.status !== 'succeeded' || cleanResult.status !== 'succeeded') return;

    const stats = harness.standIn.stats();
    expect(stats.totalCalls).toBe(STEPS.length + 1);
    expect(stats.calls.map((c) => c.outcome)).toEqual(['image', 'image', 'http-503', 'image']);
    expect(result.record.resumedAfterStep).toBe(2);
    expect(result.record.retriedUsage).toBeUndefined();
    // Recorded = billed = what one uninterrupted run costs.
    expect(result.record.usage).toEqual(stats.usage);
    expect(result.record.usage).toEqual(cleanResult.record.usage);
    expect(result.record.cost.total).toBe(cleanResult.record.cost.total);
    // The resumed conversation carried the same history (thought signatures included).
    expect(
      (await outputBytes(harness, job)).equals(await outputBytes(clean.harness, clean.job)),
    ).toBe(true);
  });
});

describe('checkpoints', () => {
  it('a delivery cut off right after a step was kept goes on from that step', async () => {
    const { harness, job } = await refinementJob('gemini-2.5-flash-image');
    let cut = true;
    const worker = {
      ...harness.worker,
      failpoint: (stage: string) => {
        if (stage === 'step-answered' && cut) {
          cut = false;
          throw new BananaError({
            code: 'STORAGE_TRANSIENT',
            message: 'cut off after the first step',
            retryable: true,
          });
        }
      },
    };
    await expect(runJob(worker, job, delivery(1))).rejects.toMatchObject({ retryable: true });
    const result = await runJob(worker, job, delivery(2));
    expect(result.status).toBe('succeeded');
    if (result.status !== 'succeeded') return;
    expect(result.record.resumedAfterStep).toBe(1);
    expect(harness.standIn.stats().totalCalls).toBe(STEPS.length);
    expect(result.record.usage).toEqual(harness.standIn.stats().usage);
  });

  it('a refinement that ends for good after a resume records every step it paid for', async () => {
    const { harness, job } = await refinementJob('gemini-2.5-flash-image');
    harness.standIn.setFaults((callNumber) =>
      callNumber === 2
        ? { status: 503 }
        : callNumber === 3
          ? { outcome: 'blocked-output' }
          : undefined,
    );
    await expect(runJob(harness.worker, job, delivery(1))).rejects.toMatchObject({
      code: 'MODEL_TRANSIENT',
    });
    const result = await runJob(harness.worker, job, delivery(2));
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.record.error.code).toBe('MODEL_BLOCKED_OUTPUT');
    expect(harness.standIn.stats().totalCalls).toBe(3);
    // Step 1 (kept in the checkpoint) and the blocked step 2 were both billed: both are recorded.
    expect(result.record.usage).toEqual(harness.standIn.stats().usage);
    expect(result.record.usage?.totalTokens).toBeGreaterThan(0);
  });

  it('a job that ends for good before going on still records the steps its checkpoint holds', async () => {
    const harness = await startHarness();
    harnesses.push(harness);
    await writeDrop(harness.dropDir, {
      'f/cat.png': await tinyImage(),
      'f/_edit.json': { steps: STEPS.slice(0, 2) },
    });
    const [job] = await harness.plan();
    if (!job) throw new Error('no job planned');
    harness.standIn.setFaults((callNumber) => (callNumber === 2 ? { status: 503 } : undefined));
    await expect(runJob(harness.worker, job, delivery(1))).rejects.toMatchObject({
      code: 'MODEL_TRANSIENT',
    });
    // Meanwhile the image got its own sidecar: the folder job ends without calling the model.
    await writeDrop(harness.dropDir, { 'f/cat.png.edit.json': { prompt: 'its own' } });
    const result = await runJob(harness.worker, job, delivery(2));
    expect(result).toMatchObject({
      status: 'failed',
      record: { error: { code: 'JOB_SUPERSEDED' } },
    });
    if (result.status !== 'failed') return;
    expect(harness.standIn.stats().totalCalls).toBe(2);
    // Step 1 was billed (kept in the checkpoint): the record says so.
    expect(result.record.usage).toEqual(harness.standIn.stats().usage);
    expect(result.record.cost?.total).toBeGreaterThan(0);
  });
});
