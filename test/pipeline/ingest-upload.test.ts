import { afterEach, describe, expect, it } from 'vitest';
import { type IngestDeps, ingestUpload } from '../../shared/pipeline/ingest-upload.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import type { Job } from '../../shared/planning/job.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Ingest deps over the harness store, with a queue that records what was published. */
async function setup(now = () => new Date()) {
  harness = await startHarness({ now });
  const published: Job[] = [];
  const queue: JobQueue = {
    publishJobs: async (jobs) => {
      published.push(...jobs);
    },
    publishResult: async () => {},
  };
  const deps: IngestDeps = { ...harness.planner, queue, maxEventAgeMs: 3_600_000 };
  const h = harness;
  /** Writes files into the drop, then delivers their finalize events one by one. */
  const upload = async (
    files: Record<string, Buffer | object>,
    metadata?: Record<string, string>,
  ) => {
    await writeDrop(h.dropDir, files);
    const results = [];
    for (const name of Object.keys(files)) {
      const info = await h.store.stat('input', name);
      if (!info) throw new Error(`${name} not written`);
      results.push(
        await ingestUpload(deps, {
          bucket: 'input',
          name,
          generation: info.generation,
          ...(metadata ? { metadata } : {}),
        }),
      );
    }
    return results;
  };
  return { deps, published, upload };
}

const inputsOf = (jobs: Job[]) => jobs.map((j) => j.inputs.map((i) => i.name).join('+')).sort();

describe('ingest: whichever upload completes a pair plans its jobs', () => {
  it('image first, then its sidecar', async () => {
    const { published, upload } = await setup();
    const [first] = await upload({ 'cat.png': await tinyImage() });
    expect(first).toMatchObject({ status: 'skipped' });
    await upload({ 'cat.png.edit.json': { prompt: 'blue' } });
    expect(inputsOf(published)).toEqual(['cat.png']);
  });

  it('sidecar first (waits), then the image', async () => {
    const { published, upload } = await setup();
    await upload({ 'm.jobs.json': { jobs: [{ prompt: 'x', inputs: ['a.png', 'b.png'] }] } });
    expect(published).toEqual([]);
    await upload({ 'a.png': await tinyImage() });
    expect(published).toEqual([]);
    await upload({ 'b.png': await tinyImage() });
    expect(inputsOf(published)).toEqual(['a.png+b.png']);
  });

  it.each([
    ['beside it', 'swirls.png'],
    ['in a subfolder', 'refs/swirls.png'],
  ])('a reference %s uploaded last plans the job that was waiting for it', async (_where, ref) => {
    const { deps, published, upload } = await setup();
    await upload({ 'style/city.png': await tinyImage() });
    await upload({
      'style/city.png.edit.json': { prompt: 'in this style', references: [ref] },
    });
    expect(published).toEqual([]);
    // What the drop waits for is visible in the output bucket.
    const waiting = await harness?.store.list('output', `_bananaflow/waiting/style/${ref}/`);
    expect(waiting).toHaveLength(1);

    await upload({ [`style/${ref}`]: await tinyImage('png', 32, 32, '#f0f') });
    expect(inputsOf(published)).toEqual([`style/city.png+style/${ref}`]);
    expect(await harness?.store.list('output', '_bananaflow/waiting/')).toEqual([]);
    // The same event again (at-least-once): the reference is no longer awaited by anyone, so
    // nothing is planned from the index (the worker would skip a duplicate job anyway).
    const info = await harness?.store.stat('input', `style/${ref}`);
    if (!info) throw new Error('reference missing');
    const again = await ingestUpload(deps, {
      bucket: 'input',
      name: info.name,
      generation: info.generation,
    });
    expect(again).toMatchObject({ status: 'skipped' });
    expect(published).toHaveLength(1);
  });

  it('a reference ingested while its sidecar is being planned (before the waiting marker) still plans the job', async () => {
    const { deps, published, upload } = await setup();
    await upload({ 'cat.png': await tinyImage() });
    const h = harness;
    if (!h) throw new Error('no harness');
    // The reference lands, and its event is ingested, right between the sidecar's listing and
    // the moment the sidecar's ingest writes its waiting marker.
    let raced = false;
    const racing: IngestDeps = {
      ...deps,
      store: {
        ...deps.store,
        stat: deps.store.stat.bind(deps.store),
        read: deps.store.read.bind(deps.store),
        list: deps.store.list.bind(deps.store),
        delete: deps.store.delete.bind(deps.store),
        write: async (bucket, name, bytes, options) => {
          if (!raced && name.startsWith('_bananaflow/waiting/')) {
            raced = true;
            await upload({ 'style.png': await tinyImage('png', 16, 16, '#f0f') });
          }
          return deps.store.write(bucket, name, bytes, options);
        },
      },
    };
    await writeDrop(h.dropDir, {
      'cat.png.edit.json': { prompt: 'in this style', references: ['style.png'] },
    });
    const info = await h.store.stat('input', 'cat.png.edit.json');
    if (!info) throw new Error('sidecar not written');
    await ingestUpload(racing, { bucket: 'input', name: info.name, generation: info.generation });
    expect(raced).toBe(true);
    expect(inputsOf(published)).toEqual(['cat.png+style.png']);
  });

  it("a folder sidecar's job for an image that then gets its own sidecar is not run (not paid twice)", async () => {
    const { published, upload } = await setup();
    await upload({ 'f/cat.png': await tinyImage() });
    await upload({ 'f/_edit.json': { prompt: 'folder look' } });
    await upload({ 'f/cat.png.edit.json': { prompt: 'its own look' } });
    expect(published.map((j) => j.sidecar.kind).sort()).toEqual(['folder', 'image']);
    const h = harness;
    if (!h) throw new Error('no harness');
    const results = await Promise.all(
      published.map((job) => runJob(h.worker, job, { messageId: job.jobId, attempt: 1 })),
    );
    const byKind = Object.fromEntries(published.map((job, i) => [job.sidecar.kind, results[i]]));
    expect(byKind.image?.status).toBe('succeeded');
    expect(byKind.folder).toMatchObject({
      status: 'failed',
      record: { error: { code: 'JOB_SUPERSEDED' } },
    });
    expect(h.standIn.stats().totalCalls).toBe(1);
    expect(h.standIn.stats().calls[0]?.prompt).toBe('its own look');
  });

  it('a folder sidecar before and after its images plans each image once per trigger', async () => {
    const { published, upload } = await setup();
    await upload({ 'f/one.png': await tinyImage() });
    await upload({ 'f/_edit.json': { prompt: 'x' } });
    expect(inputsOf(published)).toEqual(['f/one.png']);
    await upload({ 'f/two.png': await tinyImage() });
    expect(inputsOf(published)).toEqual(['f/one.png', 'f/two.png']);
  });

  it('the same ids whichever order the uploads came in', async () => {
    const a = await setup();
    await a.upload({ 'x.png': await tinyImage() });
    await a.upload({ 'x.png.edit.json': { prompt: 'p' } });
    const idsA = a.published.map((j) => j.jobId);
    const gens = await Promise.all(
      ['x.png', 'x.png.edit.json'].map((n) => harness?.store.stat('input', n)),
    );
    // Re-deliver both events: same generations, same jobs.
    for (const info of gens) {
      if (info)
        await ingestUpload(a.deps, {
          bucket: 'input',
          name: info.name,
          generation: info.generation,
        });
    }
    expect(new Set(a.published.map((j) => j.jobId))).toEqual(new Set(idsA));
  });

  it('writes an error record for an invalid sidecar and plans nothing', async () => {
    const { published, upload } = await setup();
    await upload({
      'cat.png': await tinyImage(),
      'cat.png.edit.json': { prompt: 'x', colour: 'red' },
    });
    expect(published).toEqual([]);
    const record = await harness?.store.read('output', 'cat.png.edit.error.json');
    expect(JSON.parse(record?.bytes.toString() ?? '{}').error.code).toBe('SIDECAR_INVALID');
  });

  it('never processes an object bananaflow wrote itself, even in the input bucket', async () => {
    const { published, upload } = await setup();
    await upload({ 'cat.png.edit.json': { prompt: 'x' } });
    const [result] = await upload({ 'cat.png': await tinyImage() }, { 'bananaflow-output': '1' });
    expect(result).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('bananaflow itself'),
    });
    expect(published).toEqual([]);
  });

  it('drops events older than the maximum age', async () => {
    const { deps } = await setup();
    const result = await ingestUpload(deps, {
      bucket: 'input',
      name: 'a.png',
      generation: '1',
      eventTime: '2020-01-01T00:00:00Z',
    });
    expect(result).toMatchObject({ status: 'skipped', reason: expect.stringContaining('old') });
  });

  it('ignores a superseded version of a sidecar (its newer event plans the newer one)', async () => {
    const { deps, published, upload } = await setup();
    await upload({ 'cat.png': await tinyImage(), 'cat.png.edit.json': { prompt: 'v1' } });
    const before = published.length;
    const result = await ingestUpload(deps, {
      bucket: 'input',
      name: 'cat.png.edit.json',
      generation: '1',
    });
    expect(result).toMatchObject({ status: 'planned', published: 0 });
    expect(published.length).toBe(before);
  });
});
