import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import { type RunSummary, readDropImageSizes } from '../../infra/runner/run-drop.ts';
import { ingestUpload } from '../../shared/pipeline/ingest-upload.ts';
import type { ErrorRecord } from '../../shared/pipeline/records.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import type { ObjectStore, ReadOptions } from '../../shared/ports/object-store.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * Sizes are bounded before anything is read into memory: the store is always asked with maxBytes
 * (sidecars: BANANAFLOW_MAX_SIDECAR_BYTES, inputs: BANANAFLOW_MAX_INPUT_BYTES), and pixels are
 * bounded from the header before any decode (BANANAFLOW_MAX_INPUT_PIXELS).
 */

interface ReadCall {
  bucket: string;
  name: string;
  options: ReadOptions | undefined;
}

/** Passes every call through and remembers the reads. */
function recordingReads(inner: ObjectStore, reads: ReadCall[]): ObjectStore {
  return {
    stat: (bucket, name) => inner.stat(bucket, name),
    read: (bucket, name, options) => {
      reads.push({ bucket, name, options });
      return inner.read(bucket, name, options);
    },
    list: (bucket, prefix, options) => inner.list(bucket, prefix, options),
    delete: (bucket, name, options) => inner.delete(bucket, name, options),
    write: (bucket, name, bytes, options) => inner.write(bucket, name, bytes, options),
  };
}

/** A PNG of noise: does not compress, so its size in bytes is predictable. */
function noisePng(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

let harness: Harness | undefined;
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-limits-'));
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await rm(root, { recursive: true, force: true });
});

describe('reads of user objects are bounded before they are read', () => {
  it('planning, ingest and the worker ask the store with maxBytes for every sidecar and input', async () => {
    const reads: ReadCall[] = [];
    harness = await startHarness({ store: (fs) => recordingReads(fs, reads) });
    const h = harness;
    await writeDrop(h.dropDir, {
      'a.png': await tinyImage(),
      'a.png.edit.json': { prompt: 'x', references: ['style.png'] },
      'style.png': await tinyImage('jpeg'),
      'f/_edit.json': { prompt: 'y' },
      'f/b.png': await tinyImage(),
      'm.jobs.json': { jobs: [{ prompt: 'z', inputs: ['a.png', 'f/b.png'] }] },
    });
    const jobs = await h.plan();
    expect(jobs).toHaveLength(3);
    for (const [index, job] of jobs.entries()) {
      const result = await runJob(h.worker, job, { messageId: `m${index}`, attempt: 1 });
      expect(result.status).toBe('succeeded');
    }
    const info = await h.store.stat('input', 'm.jobs.json');
    await ingestUpload(
      {
        ...h.planner,
        queue: { publishJobs: async () => {}, publishResult: async () => {} },
        maxEventAgeMs: 3_600_000,
      },
      { bucket: 'input', name: 'm.jobs.json', generation: info?.generation ?? '' },
    );

    const inputReads = reads.filter((r) => r.bucket === 'input');
    const sidecarReads = inputReads.filter((r) => r.name.endsWith('.json'));
    const imageReads = inputReads.filter((r) => !r.name.endsWith('.json'));
    // Three sidecars planned by the drop, one more by the ingest event.
    expect(sidecarReads).toHaveLength(4);
    for (const r of sidecarReads)
      expect(r.options?.maxBytes, r.name).toBe(h.planner.maxSidecarBytes);
    // a + style, f/b, a + f/b: every input of every job.
    expect(imageReads).toHaveLength(5);
    for (const r of imageReads) {
      expect(r.options?.maxBytes, r.name).toBe(h.worker.limits.maxInputBytes);
      // Pinned to the generation that was planned: a replaced file is never read in its place.
      expect(r.options?.generation, r.name).toMatch(/^\d+$/);
    }
  });

  it('an input over BANANAFLOW_MAX_INPUT_BYTES or BANANAFLOW_MAX_INPUT_PIXELS is refused with a record; the rest runs', async () => {
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    const big = await noisePng(64, 64); // ~12 KB
    const small = await tinyImage('png', 32, 32); // ~100 bytes, 1024 px
    await writeDrop(drop, {
      'big.png': big,
      'wide.png': await tinyImage('png', 200, 100), // small file, 20,000 px
      'small.png': small,
      '_edit.json': { prompt: 'x' },
    });
    expect(big.length).toBeGreaterThan(4096);
    const text: string[] = [];
    const sink = { write: (t: string) => text.push(t) };
    const code = await main(
      ['run', drop, '--out', out, '--json'],
      {
        PATH: process.env.PATH,
        LOG_LEVEL: 'error',
        BANANAFLOW_MAX_INPUT_BYTES: '4096',
        BANANAFLOW_MAX_INPUT_PIXELS: '10000',
      },
      { out: sink, err: { write: () => {} } },
    );
    expect(code).toBe(1);
    const summary = JSON.parse(text.join('')) as RunSummary;
    expect(summary).toMatchObject({
      succeeded: 1,
      failed: 2,
      retries: 0,
      failedByCode: { INPUT_TOO_LARGE: 1, INPUT_TOO_MANY_PIXELS: 1 },
    });
    const errors = (await readdir(out)).filter((f) => f.endsWith('.error.json'));
    const records = await Promise.all(
      errors.map(async (f) => JSON.parse(await readFile(join(out, f), 'utf8')) as ErrorRecord),
    );
    expect(records.map((r) => [r.file, r.error.code]).sort()).toEqual([
      ['big.png', 'INPUT_TOO_LARGE'],
      ['wide.png', 'INPUT_TOO_MANY_PIXELS'],
    ]);
    for (const r of records) {
      expect(r.error.fix).toEqual(expect.stringMatching(/\S/));
      expect(r.usage).toBeUndefined(); // refused before the model was called
    }
  });

  it('the estimate reads image headers only from files within the input size limit', async () => {
    const small = await tinyImage('png', 40, 30);
    // A valid PNG followed by 3 MiB of padding: readable, but over a 1 MiB limit.
    const padded = Buffer.concat([await tinyImage('png', 50, 20), Buffer.alloc(3 << 20)]);
    await writeFile(join(root, 'small.png'), small);
    await writeFile(join(root, 'padded.png'), padded);
    const unbounded = await readDropImageSizes(root, ['small.png', 'padded.png']);
    expect(unbounded.get('padded.png')).toEqual({ width: 50, height: 20 });
    const bounded = await readDropImageSizes(root, ['small.png', 'padded.png'], 1 << 20);
    expect([...bounded.entries()]).toEqual([['small.png', { width: 40, height: 30 }]]);
  });
});
