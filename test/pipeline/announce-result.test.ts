import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { MemoryJobQueue } from '../../shared/adapters/memory-job-queue.ts';
import { announceIfMissed, announceResult } from '../../shared/pipeline/announce-result.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
import { silentLogger } from '../../shared/ports/logger.ts';

let root: string;
let store: FsObjectStore;
let queue: MemoryJobQueue;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-announce-'));
  store = new FsObjectStore({ out: join(root, 'out') });
  queue = new MemoryJobQueue({ concurrency: 1, maxAttempts: 1, minBackoffMs: 1, maxBackoffMs: 1 });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const JOB = 'a1b2c3d4e5f6a7b8c9d0';
const deps = () => ({
  store,
  queue,
  log: silentLogger,
  uriOf: (b: string, n: string) => `${b}/${n}`,
});
const record = {
  schemaVersion: 1,
  jobId: JOB,
  runId: 'run-1',
  status: 'succeeded',
  output: { uri: 'out/cat.edit.png' },
  cost: { total: 0.039 },
  timing: { finishedAt: '2026-01-01T00:00:00.000Z' },
};

describe('announceResult', () => {
  it('publishes the event, then notes that it went out', async () => {
    const event = {
      schemaVersion: 1 as const,
      jobId: JOB,
      runId: 'run-1',
      status: 'failed' as const,
      recordUri: 'out/cat.error.json',
      errorCode: 'MODEL_BLOCKED_PROMPT' as const,
      costUsd: 0,
      finishedAt: '2026-01-01T00:00:00.000Z',
    };
    await announceResult(deps(), 'out', event);
    expect(queue.results).toEqual([event]);
    expect(await new JobState(store, 'out', JOB).wasAnnounced()).toBe(true);
  });
});

/** A worker that died between the record and the event leaves its working state behind. */
async function diedAfterRecord() {
  await store.write('out', 'cat.edit.png.json', Buffer.from(JSON.stringify(record)));
  await store.write('out', `_bananaflow/jobs/${JOB}/model-result.json`, Buffer.from('{}'));
}

describe('announceIfMissed', () => {
  it('sends the event of a finished job from its record when it never went out', async () => {
    await diedAfterRecord();
    await announceIfMissed(deps(), 'out', JOB, 'cat.edit.png.json');
    expect(queue.results).toEqual([
      expect.objectContaining({
        jobId: JOB,
        status: 'succeeded',
        recordUri: 'out/cat.edit.png.json',
        outputUri: 'out/cat.edit.png',
        costUsd: 0.039,
      }),
    ]);
  });

  it('sends nothing again once the event went out', async () => {
    await diedAfterRecord();
    await announceIfMissed(deps(), 'out', JOB, 'cat.edit.png.json');
    await announceIfMissed(deps(), 'out', JOB, 'cat.edit.png.json');
    expect(queue.results).toHaveLength(1);
  });

  it('sends nothing for a job cleaned after its event, and removes the asking delivery marker', async () => {
    const state = new JobState(store, 'out', JOB);
    await store.write('out', 'cat.edit.png.json', Buffer.from(JSON.stringify(record)));
    await state.recordDelivery('msg-late');
    await announceIfMissed(deps(), 'out', JOB, 'cat.edit.png.json', 'msg-late');
    expect(queue.results).toEqual([]);
    expect(await store.list('out', '_bananaflow/')).toEqual([]);
  });
});
