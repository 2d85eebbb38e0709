import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gcsStoreFactory } from '../../infra/report/gcs-store-factory.ts';
import { readRecords } from '../../infra/report/read-records.ts';
import { toReportJob } from '../../infra/report/report-jobs.ts';
import { openReportLocation } from '../../infra/report/report-location.ts';
import { makeThumbnails, type Thumbnail } from '../../infra/report/thumbnails.ts';
import { encodeOutput } from '../../shared/imaging/encode-output.ts';
import { thumbnailNameOf } from '../../shared/planning/output-names.ts';

/**
 * Where the report's thumbnails come from: the worker's (copied, not decoded again), made once per
 * image however many jobs show it, reused by version across reports, and removed from the
 * report's folder once no card shows them.
 */

let root: string;
let drop: string;
let out: string;
let filesDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-thumbnails-'));
  drop = join(root, 'drop');
  out = join(root, 'out');
  filesDir = join(root, 'report_files');
  await mkdir(drop, { recursive: true });
  await mkdir(out, { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const image = (width: number, height: number, format: 'png' | 'jpeg' | 'webp', red = 200) =>
  sharp({ create: { width, height, channels: 3, background: { r: red, g: 90, b: 40 } } })
    .toFormat(format)
    .toBuffer();

/** A succeeded job's output and record, as the pipeline leaves them. */
async function writeJob(output: string, input: string, bytes: Buffer) {
  await writeFile(join(out, output), bytes);
  const record = {
    schemaVersion: 1,
    status: 'succeeded',
    jobId: `job-${output}`,
    model: { id: 'gemini-2.5-flash-image' },
    prompt: 'warmer light',
    inputs: [{ uri: join(drop, input), role: 'input' }],
    output: { uri: join(out, output) },
    cost: { total: 0.04 },
  };
  await writeFile(join(out, `${output}.json`), JSON.stringify(record));
}

/** The report's thumbnails of `out`, as writeReport makes them. */
async function thumbnails() {
  const location = await openReportLocation(out, gcsStoreFactory({}));
  const objects = await location.store.list(location.bucket, '');
  const jobs = (await readRecords(location.store, location.bucket, '', objects)).map(toReportJob);
  const made = await makeThumbnails(jobs, { location, reportDir: root, filesDir, objects });
  const of = (key: string) => {
    const result = made.get(key);
    if (!result || 'missing' in result) throw new Error(`no thumbnail of ${key}`);
    return { ...result, path: join(root, result.src) } as Thumbnail & { path: string };
  };
  return { of, input: (name: string) => of(`uri:${join(drop, name)}`) };
}

const files = async () => (await readdir(filesDir)).sort();

describe('report thumbnails', () => {
  it("copies the worker's thumbnail beside an output instead of decoding the output", async () => {
    await writeFile(join(drop, 'in.jpg'), await image(800, 600, 'jpeg'));
    await writeJob('a.png', 'in.jpg', await image(900, 600, 'png'));
    // Not what the report would make of a.png (320×213): only a copy can be 40×30 and these bytes.
    const worker = await image(40, 30, 'webp', 10);
    await writeFile(join(out, thumbnailNameOf('a.png')), worker);
    await writeJob('b.png', 'in.jpg', await image(700, 700, 'png'));

    const made = await thumbnails();
    const a = made.of('object:a.png');
    expect([a.width, a.height]).toEqual([40, 30]);
    expect(await readFile(a.path)).toEqual(worker);
    // No thumbnail beside b.png (an output of an older version): the report makes one.
    const b = made.of('object:b.png');
    expect([b.width, b.height]).toEqual([320, 320]);
    expect((await sharp(b.path).metadata()).format).toBe('webp');
  });

  it("the worker's thumbnail is what encodeOutput makes: within 320 px, WebP, none for a small image", async () => {
    const big = await encodeOutput(await image(1024, 768, 'png'), {
      format: 'png',
      quality: 90,
      renditions: [],
    });
    expect(big.thumbnail).toMatchObject({ mimeType: 'image/webp', width: 320, height: 240 });
    expect((await sharp(big.thumbnail?.bytes).metadata()).format).toBe('webp');
    const small = await encodeOutput(await image(300, 200, 'jpeg'), {
      format: 'jpeg',
      quality: 80,
      renditions: [],
    });
    expect(small.thumbnail).toBeUndefined();
  });

  it('makes an input that many jobs share once', async () => {
    await writeFile(join(drop, 'shared.jpg'), await image(800, 600, 'jpeg'));
    for (const name of ['a.png', 'b.png', 'c.png']) {
      await writeJob(name, 'shared.jpg', await image(100, 100, 'png'));
    }
    const made = await thumbnails();
    expect(made.input('shared.jpg')).toMatchObject({ width: 320, height: 240 });
    // One file for the shared input, one per output.
    expect((await files()).filter((n) => n.endsWith('.webp'))).toHaveLength(4);
  });

  it('a second report reuses thumbnails by version, and makes a new one when the image changes', async () => {
    await writeFile(join(drop, 'in.jpg'), await image(800, 600, 'jpeg'));
    await writeJob('a.png', 'in.jpg', await image(900, 600, 'png'));
    const first = (await thumbnails()).input('in.jpg');
    // Reused, not made again: a marker written over the file survives the second report.
    await writeFile(first.path, 'marker');
    const again = (await thumbnails()).input('in.jpg');
    expect(again.path).toBe(first.path);
    expect(await readFile(again.path, 'utf8')).toBe('marker');

    await writeFile(join(drop, 'in.jpg'), await image(600, 600, 'jpeg', 30));
    const changed = (await thumbnails()).input('in.jpg');
    expect(changed.path).not.toBe(first.path);
    expect([changed.width, changed.height]).toEqual([320, 320]);
  });

  it('removes the thumbnails no card shows any more, and leaves other files alone', async () => {
    await writeFile(join(drop, 'in.jpg'), await image(800, 600, 'jpeg'));
    await writeFile(join(drop, 'gone.jpg'), await image(500, 400, 'jpeg'));
    await writeJob('a.png', 'in.jpg', await image(900, 600, 'png'));
    await writeJob('b.png', 'gone.jpg', await image(900, 600, 'png'));
    const first = await thumbnails();
    const kept = [first.input('in.jpg'), first.of('object:a.png')];
    const dropped = [first.input('gone.jpg'), first.of('object:b.png')];
    await writeFile(join(filesDir, 'notes.txt'), 'mine');
    expect(await files()).toHaveLength(5);

    await unlink(join(out, 'b.png.json'));
    await unlink(join(out, 'b.png'));
    await thumbnails();
    const names = kept.map((t) => t.path.slice(filesDir.length + 1));
    expect(await files()).toEqual([...names, 'notes.txt'].sort());
    for (const t of dropped) await expect(readFile(t.path)).rejects.toThrow(/ENOENT/);
  });
});
