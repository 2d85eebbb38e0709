import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { ZERO_USAGE } from '../../shared/catalog/cost.ts';
import { countDelivery, JobState } from '../../shared/pipeline/job-state.ts';
import type { ModelOutcome } from '../../shared/ports/image-model.ts';
import { makeJob } from '../support/make-job.ts';

let root: string;
let store: FsObjectStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-job-state-'));
  store = new FsObjectStore({ out: join(root, 'out') });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const JOB = 'a1b2c3d4e5f6a7b8c9d0';
const holder = (owner: string) => ({ owner, messageId: `m-${owner}`, attempt: 1 });
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

describe('JobState claims', () => {
  it('gives the job to one delivery at a time until the lease expires', async () => {
    const state = new JobState(store, 'out', JOB);
    const first = await state.claim(holder('a'), at(0), 10_000);
    expect(first).toMatchObject({ ok: true, tookOver: false });
    const second = await state.claim(holder('b'), at(1_000), 10_000);
    expect(second).toEqual({ ok: false, heldBy: 'a', retryAfterMs: 9_000 });
    expect(await state.claimIsLive(at(1_000))).toBe(true);
    const late = await state.claim(holder('c'), at(11_000), 10_000);
    expect(late).toMatchObject({ ok: true, tookOver: true });
  });

  it('a release with a stale generation leaves the new holder its claim', async () => {
    const state = new JobState(store, 'out', JOB);
    const first = await state.claim(holder('a'), at(0), 1_000);
    const second = await state.claim(holder('b'), at(5_000), 1_000);
    if (!first.ok || !second.ok) throw new Error('both claims should succeed');
    await state.release(first.generation);
    expect(await state.claimIsLive(at(5_500))).toBe(true);
    await state.release(second.generation);
    expect(await state.claimIsLive(at(5_500))).toBe(false);
  });
});

describe('JobState persisted answers', () => {
  it('gives back the answer and its image bytes exactly as saved', async () => {
    const state = new JobState(store, 'out', JOB);
    const outcome: ModelOutcome = {
      kind: 'image',
      image: { mimeType: 'image/png', bytes: Buffer.from([1, 2, 3]) },
      usage: { ...ZERO_USAGE, outputImageTokens: 1290, totalTokens: 1290 },
      turns: [{ usage: { ...ZERO_USAGE, outputImageTokens: 1290, totalTokens: 1290 } }],
      modelMs: 12,
    };
    expect(await state.loadModelResult()).toBeUndefined();
    await state.saveModelResult(outcome);
    expect(await state.loadModelResult()).toEqual(outcome);
  });

  it('refuses a state file that is not what it wrote, naming the file', async () => {
    const state = new JobState(store, 'out', JOB);
    await store.write(
      'out',
      `_bananaflow/jobs/${JOB}/conversation.json`,
      Buffer.from('{"turns":1}'),
    );
    await expect(state.loadCheckpoint()).rejects.toMatchObject({
      code: 'INTERNAL',
      details: { file: `_bananaflow/jobs/${JOB}/conversation.json` },
    });
  });
});

describe('countDelivery', () => {
  it('numbers the deliveries of a message 1, 2, 3, also when they arrive at once', async () => {
    const job = makeJob(1);
    expect(await countDelivery(store, job, 'msg-1')).toBe(1);
    expect(await countDelivery(store, job, 'msg-1')).toBe(2);
    const together = await Promise.all([1, 2, 3].map(() => countDelivery(store, job, 'msg-2')));
    expect(together.sort()).toEqual([1, 2, 3]);
  });

  it('writes nothing for a job naming another output bucket (counted as a first attempt)', async () => {
    const job = makeJob(2);
    expect(await countDelivery(store, job, 'msg-1', 'elsewhere')).toBe(1);
    expect(await countDelivery(store, job, 'msg-1', 'elsewhere')).toBe(1);
    expect(await store.list('out', '')).toEqual([]);
  });

  it('clean() deletes the working state but a claim; wasCleaned() then says so', async () => {
    const state = new JobState(store, 'out', JOB);
    const claim = await state.claim(holder('a'), at(0), 10_000);
    await state.saveModelResult({
      kind: 'text-only',
      message: 'no image',
      usage: { ...ZERO_USAGE },
      turns: [],
      modelMs: 1,
    });
    await state.recordDelivery('msg-1');
    await state.markAnnounced();
    expect(await state.wasCleaned()).toBe(false);
    await state.clean();
    expect((await store.list('out', '')).map((o) => o.name)).toEqual([
      `_bananaflow/jobs/${JOB}/claim.json`,
    ]);
    expect(await state.wasCleaned()).toBe(true);
    if (claim.ok) await state.release(claim.generation);
    await state.recordDelivery('msg-2');
    expect(await state.wasCleaned('msg-2')).toBe(true);
    expect(await state.wasCleaned('msg-3')).toBe(false);
  });
});
