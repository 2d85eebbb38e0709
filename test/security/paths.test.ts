import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BananaError } from '../../shared/errors.ts';
import { handleJobDelivery } from '../../shared/pipeline/handle-job-delivery.ts';
import { ingestUpload } from '../../shared/pipeline/ingest-upload.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * No reads outside the configured buckets and the drop: sidecar paths are refused at planning,
 * ingest ignores other buckets, and a forged job that names a path outside the bucket is refused
 * by the store before any byte is read or written.
 */

interface Call {
  op: string;
  bucket: string;
  name: string;
}

function recordingCalls(inner: ObjectStore, calls: Call[]): ObjectStore {
  return {
    stat: (bucket, name) => {
      calls.push({ op: 'stat', bucket, name });
      return inner.stat(bucket, name);
    },
    read: (bucket, name, options) => {
      calls.push({ op: 'read', bucket, name });
      return inner.read(bucket, name, options);
    },
    list: (bucket, prefix, options) => {
      calls.push({ op: 'list', bucket, name: prefix });
      return inner.list(bucket, prefix, options);
    },
    delete: (bucket, name, options) => {
      calls.push({ op: 'delete', bucket, name });
      return inner.delete(bucket, name, options);
    },
    write: (bucket, name, bytes, options) => {
      calls.push({ op: 'write', bucket, name });
      return inner.write(bucket, name, bytes, options);
    },
  };
}

const plain = (name: string) =>
  name === '' ||
  (!name.startsWith('/') &&
    !name.includes('://') &&
    !name.includes('\\') &&
    !name.split('/').some((s) => s === '..' || s === '.'));

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('no reads outside the configured buckets and the drop', () => {
  it('planning a drop full of escaping paths touches only plain names in the two buckets', async () => {
    const calls: Call[] = [];
    harness = await startHarness({ store: (fs) => recordingCalls(fs, calls) });
    const h = harness;
    // Something worth stealing right next to the drop.
    await writeDrop(h.root, { 'secret.png': await tinyImage() });
    await writeDrop(h.dropDir, {
      'a.png': await tinyImage(),
      'a.png.edit.json': { prompt: 'x', references: ['../secret.png'] },
      'sub/b.png': await tinyImage(),
      'sub/b.png.edit.json': { prompt: 'x', references: ['./../../secret.png'] },
      'abs.jobs.json': { jobs: [{ prompt: 'x', inputs: [join(h.root, 'secret.png')] }] },
      'url.jobs.json': {
        jobs: [{ prompt: 'x', inputs: [`file://${join(h.root, 'secret.png')}`] }],
      },
      'gs.jobs.json': { jobs: [{ prompt: 'x', inputs: ['gs://input/../secret.png'] }] },
      'win.jobs.json': { jobs: [{ prompt: 'x', inputs: ['..\\secret.png'] }] },
    });
    const jobs = await h.plan();
    expect(jobs).toEqual([]);
    for (const call of calls) {
      expect(['input', 'output'], JSON.stringify(call)).toContain(call.bucket);
      expect(plain(call.name), JSON.stringify(call)).toBe(true);
    }
    expect(calls.filter((c) => c.op === 'read' && c.name.endsWith('.png'))).toEqual([]);
    // Every sidecar was refused with a record.
    const records = (await h.store.list('output', '')).map((o) => o.name).sort();
    expect(records).toEqual([
      'a.png.edit.error.json',
      'abs.jobs.error.json',
      'gs.jobs.error.json',
      'sub/b.png.edit.error.json',
      'url.jobs.error.json',
      'win.jobs.error.json',
    ]);
  });

  it('ingest ignores an event from any other bucket without touching storage', async () => {
    const calls: Call[] = [];
    harness = await startHarness({ store: (fs) => recordingCalls(fs, calls) });
    const published: Job[] = [];
    const result = await ingestUpload(
      {
        ...harness.planner,
        queue: {
          publishJobs: async (j) => void published.push(...j),
          publishResult: async () => {},
        },
        maxEventAgeMs: 3_600_000,
      },
      { bucket: 'someone-elses-bucket', name: 'cat.png.edit.json', generation: '1' },
    );
    expect(result).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('not the input bucket'),
    });
    expect(calls).toEqual([]);
    expect(published).toEqual([]);
  });

  it('a forged job naming a path outside the bucket is refused by the store, nothing read or written outside', async () => {
    harness = await startHarness();
    const h = harness;
    await writeDrop(h.dropDir, {
      'cat.png': await tinyImage(),
      'cat.png.edit.json': { prompt: 'x' },
    });
    const [job] = await h.plan();
    if (!job) throw new Error('no job planned');
    await mkdir(join(h.root, 'outside'), { recursive: true });
    await writeDrop(h.root, { 'outside/secret.png': await tinyImage() });
    const before = await readdir(h.root);

    // An input outside the drop: refused before reading, recorded, the model never called.
    const input = job.inputs[0];
    if (!input) throw new Error('no input');
    const forgedInput: Job = {
      ...job,
      jobId: 'f'.repeat(20),
      inputs: [{ ...input, name: '../outside/secret.png' }],
    };
    const result = await runJob(h.worker, forgedInput, { messageId: 'm1', attempt: 1 });
    expect(result.status).toBe('failed');
    if (result.status === 'failed') {
      expect(result.record.error.code).toBe('INPUT_PATH_OUTSIDE_DROP');
    }
    expect(h.standIn.stats().totalCalls).toBe(0);

    // Outputs outside the output folder: refused, nothing created anywhere outside it.
    const forgedOutput: Job = {
      ...job,
      jobId: 'e'.repeat(20),
      output: { ...job.output, base: '../drop/overwritten' },
    };
    const failure = await runJob(h.worker, forgedOutput, { messageId: 'm2', attempt: 1 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BananaError);
    expect((failure as BananaError).code).toBe('INPUT_PATH_OUTSIDE_DROP');
    expect(await readdir(h.root)).toEqual(before);
    expect((await readdir(h.dropDir)).sort()).toEqual(['cat.png', 'cat.png.edit.json']);
  });

  it.each([
    [
      'an input',
      (job: Job) => ({ ...job, inputs: job.inputs.map((i) => ({ ...i, bucket: 'other' })) }),
    ],
    ['the sidecar', (job: Job) => ({ ...job, sidecar: { ...job.sidecar, bucket: 'other' } })],
    ['the output', (job: Job) => ({ ...job, output: { ...job.output, bucket: 'other' } })],
  ])(
    'a job whose %s names a bucket the deployment does not own is refused before any storage call',
    async (_what, forge) => {
      harness = await startHarness();
      const h = harness;
      await writeDrop(h.dropDir, {
        'cat.png': await tinyImage(),
        'cat.png.edit.json': { prompt: 'x' },
      });
      const [job] = await h.plan();
      if (!job) throw new Error('no job planned');
      const calls: Call[] = [];
      const worker = {
        ...h.worker,
        store: recordingCalls(h.worker.store, calls),
        buckets: { input: 'input', output: 'output' },
      };
      const result = await handleJobDelivery(worker, {
        job: forge(job),
        messageId: 'm1',
        attempt: 1,
      });
      expect(result.status).toBe('invalid');
      if (result.status === 'invalid') expect(result.error.code).toBe('JOB_INVALID');
      expect(calls).toEqual([]);
      expect(h.standIn.stats().totalCalls).toBe(0);
      // The same job, unforged, runs.
      expect((await handleJobDelivery(worker, { job, messageId: 'm2', attempt: 1 })).status).toBe(
        'succeeded',
      );
    },
  );
});
