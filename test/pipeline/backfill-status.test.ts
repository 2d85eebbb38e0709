import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backfill } from '../../shared/pipeline/backfill.ts';
import { dropStatus } from '../../shared/pipeline/drop-status.ts';
import { ingestUpload } from '../../shared/pipeline/ingest-upload.ts';
import { readPlanRecords } from '../../shared/pipeline/plan-record.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import { holdJob } from '../../shared/pipeline/spend-guard.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

function recordingQueue(): JobQueue & { published: Job[] } {
  const published: Job[] = [];
  return {
    published,
    publishJobs: async (jobs) => void published.push(...jobs),
    publishResult: async () => undefined,
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((d) => d.isFile())
    .map((d) => d.name);
}

describe('backfill and drop status', () => {
  let h: Harness;
  let queue: ReturnType<typeof recordingQueue>;
  const run = (maxUsd: number, dryRun = false, prefix = '') =>
    backfill({ ...h.planner, queue }, { runId: 'backfill-test', prefix, maxUsd, dryRun });

  beforeEach(async () => {
    h = await startHarness();
    queue = recordingQueue();
    await writeDrop(h.dropDir, {
      'shoot/a.png': await tinyImage('png'),
      'shoot/b.png': await tinyImage('png', 80, 60, '#a37'),
      'shoot/_edit.json': { prompt: 'make it look like a watercolour' },
      'other/c.png': await tinyImage(),
      'other/c.png.edit.json': { promt: 'typo' },
    });
  });
  afterEach(() => h.close());

  it('a dry run estimates and writes nothing, not even error records', async () => {
    const result = await run(10, true);
    expect(result.jobs).toHaveLength(2);
    expect(result.estimatedCostUsd).toBeGreaterThan(0);
    expect(result.invalid.map((i) => i.sidecar)).toEqual(['other/c.png.edit.json']);
    expect(result.published).toBe(0);
    expect(queue.published).toEqual([]);
    expect(await filesUnder(h.outDir)).toEqual([]);
  });

  it('refuses over the cap and publishes nothing', async () => {
    const result = await run(0.0001);
    expect(result.refused).toMatch(/exceeds --max-usd/);
    expect(queue.published).toEqual([]);
    expect((await readPlanRecords(h.store, 'output')).plans).toEqual([]);
  });

  it('publishes under the cap once: a second run plans nothing new', async () => {
    const first = await run(10);
    expect(first.published).toBe(2);
    expect(queue.published.map((j) => j.jobId).sort()).toEqual(
      first.jobs.map((j) => j.jobId).sort(),
    );
    const second = await run(10);
    // Both sidecar versions are planned now (the invalid one with no jobs, its error recorded).
    expect(second.alreadyPlanned).toBe(2);
    expect(second.jobs).toEqual([]);
    expect(second.published).toBe(0);
    expect(queue.published).toHaveLength(2);
  });

  it('only takes sidecars under the prefix', async () => {
    const result = await run(10, false, 'other/');
    expect(result.sidecars).toBe(1);
    expect(result.published).toBe(0);
  });

  it('status follows the drop from planned to done, with what it cost', async () => {
    await run(10);
    const [first, second] = queue.published as [Job, Job];
    const before = await dropStatus(h.store, 'output', 'shoot/', new Date());
    expect(before).toMatchObject({ sidecars: 1, planned: 2, queued: 2, succeeded: 0 });
    expect(before.remainingEstimateUsd).toBeCloseTo(
      first.estimatedCostUsd + second.estimatedCostUsd,
      9,
    );

    const done = await runJob(h.worker, first, { messageId: 'm1', attempt: 1 });
    expect(done.status).toBe('succeeded');
    await holdJob(
      h.store,
      'output',
      second,
      { reason: 'manual', since: new Date().toISOString(), message: 'test' },
      new Date(),
    );
    const after = await dropStatus(h.store, 'output', 'shoot/', new Date());
    expect(after).toMatchObject({ planned: 2, succeeded: 1, held: 1, queued: 0, failed: 0 });
    expect(after.costUsd).toBeCloseTo(done.status === 'succeeded' ? done.record.cost.total : -1, 9);
    expect(after.remainingEstimateUsd).toBeCloseTo(second.estimatedCostUsd, 9);
  });

  it('status counts a sidecar that ingest planned in parts, as its inputs arrived', async () => {
    const deps = { ...h.planner, queue, maxEventAgeMs: 3_600_000 };
    const upload = async (name: string, content: Buffer | object) => {
      await writeDrop(h.dropDir, { [name]: content });
      const info = await h.store.stat('input', name);
      if (!info) throw new Error(`${name} not written`);
      await ingestUpload(deps, { bucket: 'input', name, generation: info.generation });
    };
    await upload('late/_edit.json', { prompt: 'in pencil' });
    await upload('late/a.png', await tinyImage());
    await upload('late/b.png', await tinyImage('png', 40, 40));
    expect(queue.published).toHaveLength(2);
    const status = await dropStatus(h.store, 'output', 'late/', new Date());
    expect(status).toMatchObject({ sidecars: 1, planned: 2, queued: 2 });
    // The same event delivered again (at least once) adds nothing.
    const a = await h.store.stat('input', 'late/a.png');
    await ingestUpload(deps, {
      bucket: 'input',
      name: 'late/a.png',
      generation: a?.generation ?? '',
    });
    expect((await dropStatus(h.store, 'output', 'late/', new Date())).planned).toBe(2);
  });
});
