import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { handleJobDelivery } from '../../shared/pipeline/handle-job-delivery.ts';
import type { JobStage } from '../../shared/pipeline/job-stages.ts';
import type { JobResultEvent } from '../../shared/pipeline/result-event.ts';
import type { SequenceSummary } from '../../shared/pipeline/sequence-summary.ts';
import { sequenceFileNames } from '../../shared/planning/frame-jobs.ts';
import type { Job } from '../../shared/planning/job.ts';
import { outputNames } from '../../shared/planning/output-names.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * The worker's next step after a keyframe (the same in the cloud and the runner): frame k's
 * success publishes frame k+1, a failure stops the chain, the last frame writes the sequence's
 * files; a worker that dies between a frame's record and that step leaves it to the redelivery.
 */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The jobs topic as a port fake: what the worker published, in order. */
function capturingQueue(): JobQueue & { published: Job[]; results: JobResultEvent[] } {
  const published: Job[] = [];
  const results: JobResultEvent[] = [];
  return {
    published,
    results,
    publishJobs: async (jobs) => {
      published.push(...jobs);
    },
    publishResult: async (event) => {
      results.push(event);
    },
  };
}

const prompts = ['frame one: she opens the door', 'frame two: she steps out', 'frame three: sky'];

async function sequenceDrop(harness: Harness, frames = prompts) {
  await writeDrop(harness.dropDir, {
    'start.png': await tinyImage('png', 64, 48, '#a53'),
    'hero.png': await tinyImage('png', 32, 32, '#35a'),
    'walk.jobs.json': {
      jobs: [
        {
          name: 'walk',
          frames,
          inputs: ['start.png'],
          references: ['hero.png'],
          preview: { fps: 5, gif: true },
        },
      ],
    },
  });
  return harness.plan();
}

const readJson = async (harness: Harness, name: string) =>
  JSON.parse(await readFile(join(harness.outDir, name), 'utf8'));

const callsFor = (harness: Harness, prompt: string) =>
  harness.standIn.stats().calls.filter((c) => c.prompt === prompt).length;

describe('chaining keyframes in the worker', () => {
  it('runs frame by frame: each success publishes the next frame, the last writes sequence.json, the preview and the contact strip', async () => {
    h = await startHarness();
    const harness = h;
    const planned = await sequenceDrop(harness);
    const queue = capturingQueue();
    const worker = { ...harness.worker, queue };
    let delivery = planned[0] as Job;
    for (let frame = 1; frame <= 3; frame++) {
      const result = await handleJobDelivery(worker, {
        job: delivery,
        messageId: `m${frame}`,
        attempt: 1,
      });
      expect(result.status).toBe('succeeded');
      if (frame < 3) {
        // What the worker publishes is the job the planner planned for that frame.
        expect(queue.published).toHaveLength(frame);
        delivery = queue.published[frame - 1] as Job;
        expect(delivery).toEqual({ ...planned[frame], runId: planned[0]?.runId });
      }
    }
    expect(queue.published).toHaveLength(2);
    for (const prompt of prompts) expect(callsFor(harness, prompt)).toBe(1);

    const records = await Promise.all(
      planned.map((job) =>
        readJson(harness, outputNames(job.output.base, job.output.format).metadata),
      ),
    );
    expect(records.map((r) => [r.frame, r.frames, r.sequence, r.mode])).toEqual([
      [1, 3, 'walk', 'keyframes'],
      [2, 3, 'walk', 'keyframes'],
      [3, 3, 'walk', 'keyframes'],
    ]);
    // Frame 1 starts from the inputs; frame k from frame k-1's output, plus the references.
    expect(records.map((r) => r.inputs.map((i: { role: string }) => i.role))).toEqual([
      ['input', 'reference'],
      ['previous-frame', 'reference'],
      ['previous-frame', 'reference'],
    ]);
    expect(records[0].previousFrame).toBeUndefined();
    expect(records[1].previousFrame).toBe(records[0].output.uri);
    expect(records[2].inputs[0].uri).toBe(records[1].output.uri);

    const sequence = planned[0]?.sequence;
    if (!sequence) throw new Error('no sequence');
    const files = sequenceFileNames(sequence);
    const summary: SequenceSummary = await readJson(harness, files.summary);
    expect(summary).toMatchObject({ status: 'complete', name: 'walk', frameCount: 3, fps: 5 });
    expect(summary.frames.map((f) => [f.frame, f.prompt, f.status])).toEqual(
      prompts.map((p, i) => [i + 1, p, 'succeeded']),
    );
    expect(summary.frames.map((f) => f.costUsd)).toEqual(records.map((r) => r.cost.total));
    expect(summary.costUsd).toBeCloseTo(
      records.reduce((s, r) => s + r.cost.total, 0),
      6,
    );
    const webp = await sharp(join(harness.outDir, files.webp)).metadata();
    expect([webp.format, webp.pages, webp.delay]).toEqual(['webp', 3, [200, 200, 200]]);
    const gif = await sharp(join(harness.outDir, files.gif)).metadata();
    expect([gif.format, gif.pages]).toEqual(['gif', 3]);
    const strip = await sharp(join(harness.outDir, files.contactStrip)).metadata();
    expect(strip.format).toBe('png');
    expect(strip.width).toBeGreaterThan(3 * (strip.height ?? 0));

    // A late redelivery of any frame changes nothing: no call, no publish.
    for (const job of planned) {
      const again = await handleJobDelivery(worker, { job, messageId: 'late', attempt: 2 });
      expect(again.status).toBe('duplicate');
    }
    expect(queue.published).toHaveLength(2);
    for (const prompt of prompts) expect(callsFor(harness, prompt)).toBe(1);
  });

  it.each(['recorded', 'output-written'] as const)(
    'a worker dying at "%s" of frame 1: the redelivery publishes frame 2 once, frame 1 paid once',
    async (stage: JobStage) => {
      h = await startHarness();
      const harness = h;
      const [first, second] = await sequenceDrop(harness);
      const queue = capturingQueue();
      const dying = {
        ...harness.worker,
        queue,
        failpoint: (reached: JobStage) => {
          if (reached === stage) throw new Error(`killed at ${stage}`);
        },
      };
      await expect(
        handleJobDelivery(dying, { job: first, messageId: 'm1', attempt: 1 }),
      ).rejects.toThrow();
      expect(queue.published).toEqual([]);
      // The delivery was never acknowledged: it comes again, to a healthy worker (the lease of the
      // dead one has not expired in this test, but a finished job needs no claim).
      const healthy = { ...harness.worker, queue };
      if (stage === 'output-written') {
        // Not recorded yet: the redelivery waits for the claim to expire, like any job.
        const expired = { ...healthy, now: () => new Date(Date.now() + 3_600_000) };
        await handleJobDelivery(expired, { job: first, messageId: 'm1', attempt: 2 });
      } else {
        const again = await handleJobDelivery(healthy, { job: first, messageId: 'm1', attempt: 2 });
        expect(again.status).toBe('duplicate');
      }
      expect(queue.published.map((j) => j.jobId)).toEqual([second?.jobId]);
      await handleJobDelivery(healthy, { job: first, messageId: 'm1', attempt: 3 });
      expect(queue.published).toHaveLength(1);
      expect(callsFor(harness, prompts[0] as string)).toBe(1);
    },
  );

  it('stops the chain at a failed frame: its record names the frame, sequence.json says where it stopped', async () => {
    h = await startHarness();
    const harness = h;
    const blocked = 'frame two [standin:outcome=blocked-output]';
    const planned = await sequenceDrop(harness, [prompts[0] as string, blocked, 'frame three']);
    const queue = capturingQueue();
    const worker = { ...harness.worker, queue };
    await handleJobDelivery(worker, { job: planned[0], messageId: 'a', attempt: 1 });
    const failed = await handleJobDelivery(worker, {
      job: queue.published[0],
      messageId: 'b',
      attempt: 1,
    });
    expect(failed.status).toBe('failed');
    expect(queue.published).toHaveLength(1);
    const second = planned[1] as Job;
    const record = await readJson(harness, outputNames(second.output.base, 'png').error);
    expect(record).toMatchObject({ frame: 2, frames: 3, sequence: 'walk' });
    expect(record.error.code).toBe('MODEL_BLOCKED_OUTPUT');
    expect(record.error.message).toMatch(/frame 2 of 3 of sequence "walk"/);
    const summary: SequenceSummary = await readJson(
      harness,
      sequenceFileNames(second.sequence as NonNullable<Job['sequence']>).summary,
    );
    expect(summary.status).toBe('stopped');
    expect(summary.stoppedAt).toMatchObject({ frame: 2, code: 'MODEL_BLOCKED_OUTPUT' });
    expect(summary.frames.map((f) => f.status)).toEqual(['succeeded', 'failed', 'not-run']);
    expect(summary.preview).toBeUndefined();
  });

  it('fails a frame whose previous frame is gone with INPUT_MISSING naming that frame', async () => {
    h = await startHarness();
    const harness = h;
    const planned = await sequenceDrop(harness);
    const queue = capturingQueue();
    const worker = { ...harness.worker, queue };
    await handleJobDelivery(worker, { job: planned[0], messageId: 'a', attempt: 1 });
    const first = planned[0] as Job;
    await unlink(join(harness.outDir, outputNames(first.output.base, 'png').image));
    const result = await handleJobDelivery(worker, {
      job: queue.published[0],
      messageId: 'b',
      attempt: 1,
    });
    expect(result.status).toBe('failed');
    if (result.status !== 'failed') return;
    expect(result.record.error.code).toBe('INPUT_MISSING');
    expect(result.record.error.message).toContain(`${first.output.base}.png`);
    expect(callsFor(harness, prompts[1] as string)).toBe(0);
  });
});
