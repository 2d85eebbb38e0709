import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { MemoryJobQueue } from '../../shared/adapters/memory-job-queue.ts';
import { ZERO_USAGE } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import {
  BATCH_PENDING_PREFIX,
  BatchInbox,
  routeBatchTier,
} from '../../shared/pipeline/batch-inbox.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { buildIngestDeps } from '../../shared/wiring/planner-deps.ts';
import { makeJob } from '../support/make-job.ts';

/** Pending markers of the cloud's batch path, the routing queue, and the planners' wiring. */

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

async function setup() {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-inbox-'));
  const store = new FsObjectStore({ drop: join(root, 'drop'), out: join(root, 'out') });
  await store.write('drop', 'shoot/cat.png', Buffer.alloc(3000));
  const queue = new MemoryJobQueue({
    concurrency: 1,
    maxAttempts: 1,
    minBackoffMs: 1,
    maxBackoffMs: 1,
  });
  const published: string[] = [];
  queue.consume(
    async (d) => {
      published.push((d.job as { jobId: string }).jobId);
    },
    async () => undefined,
  );
  return { store, queue, published, inbox: new BatchInbox(store, 'out') };
}

describe('the batch inbox (pending markers)', () => {
  it('routes batch-tier jobs to markers and every other job to the queue', async () => {
    const { inbox, queue, published } = await setup();
    const batch = makeJob(1, { tier: 'batch' });
    const standard = makeJob(2);
    const flex = makeJob(3, { tier: 'flex' });
    await routeBatchTier(queue, inbox).publishJobs([batch, standard, flex]);
    await queue.drain();
    expect(published.sort()).toEqual([standard.jobId, flex.jobId].sort());
    const pending = await inbox.list();
    expect(pending.map((p) => p.jobId)).toEqual([batch.jobId]);
    // Inputs as base64 (3000 bytes → 4000) plus the prompt and some JSON.
    expect(pending[0]?.bytes).toBeGreaterThan(4000);
    expect(pending[0]?.model).toBe(batch.model);
    expect(await inbox.read(batch.jobId)).toEqual(batch);
  });

  it('writes a marker once: a redelivered upload adds nothing', async () => {
    const { inbox } = await setup();
    const job = makeJob(1, { tier: 'batch' });
    expect(await inbox.add([job])).toBe(1);
    const [first] = await inbox.list();
    expect(await inbox.add([job])).toBe(0);
    expect((await inbox.list()).map((p) => p.generation)).toEqual([first?.generation]);
    await inbox.remove(job.jobId);
    expect(await inbox.read(job.jobId)).toBeUndefined();
  });

  it.each([
    ['has a metadata record', 'record'],
    ['has a persisted answer', 'answer'],
    ['is not in the batch tier', 'standard'],
  ])('does not adopt a job that %s', async (_what, kind) => {
    const { inbox, store } = await setup();
    const job = makeJob(1, { tier: kind === 'standard' ? 'standard' : 'batch' });
    if (kind === 'record')
      await store.write('out', `${job.output.base}.png.json`, Buffer.from('{}'));
    if (kind === 'answer') {
      await new JobState(store, 'out', job.jobId).saveModelResult({
        kind: 'text-only',
        message: 'no image',
        usage: { ...ZERO_USAGE },
        turns: [],
        modelMs: 1,
      });
    }
    expect(await inbox.adopt(job)).toBe(false);
    expect(await inbox.list()).toEqual([]);
  });

  it('adopts a batch-tier job with neither record nor answer', async () => {
    const { inbox } = await setup();
    const job = makeJob(1, { tier: 'batch' });
    expect(await inbox.adopt(job)).toBe(true);
    expect((await inbox.list()).map((p) => p.jobId)).toEqual([job.jobId]);
  });

  it('ignores objects under the prefix that are not markers', async () => {
    const { inbox, store } = await setup();
    await store.write('out', `${BATCH_PENDING_PREFIX}notes.txt`, Buffer.from('x'));
    expect(await inbox.list()).toEqual([]);
  });
});

describe('the cloud planners’ tiers', () => {
  const parts = (store: FsObjectStore, queue: MemoryJobQueue) => ({
    store,
    queue,
    catalog: loadModelCatalog(),
    log: silentLogger,
    uriOf: (b: string, n: string) => `${b}/${n}`,
    buckets: { input: 'drop', output: 'out' },
  });

  it('runs the batch tier through the inbox when the batch path is on (the default)', async () => {
    const { store, queue, inbox } = await setup();
    const deps = buildIngestDeps(loadConfig({}), parts(store, queue));
    expect(deps.availableTiers).toContain('batch');
    await deps.queue.publishJobs([makeJob(1, { tier: 'batch' })]);
    expect(await inbox.list()).toHaveLength(1);
  });

  it('refuses the batch tier at planning when the batch path is off', async () => {
    const { store, queue } = await setup();
    const deps = buildIngestDeps(loadConfig({ BANANAFLOW_BATCH_PATH: 'off' }), parts(store, queue));
    expect(deps.availableTiers).toEqual(['standard', 'flex']);
    expect(deps.queue).toBe(queue);
  });
});
