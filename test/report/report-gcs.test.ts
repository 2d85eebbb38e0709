import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../infra/cli/main.ts';
import { writeReport } from '../../infra/report/write-report.ts';
import { FS_META_DIR } from '../../shared/adapters/fs-object-store.ts';
import { GcsObjectStore } from '../../shared/adapters/gcs-object-store.ts';
import { type FakeGcsServer, startFakeGcsServer } from '../support/fake-gcs-server.ts';
import { capture, OFFLINE_ENV, runReportFixture } from '../support/report-fixture.ts';

/**
 * A report of gs:// locations, against the Cloud Storage JSON API test server: the records of a
 * real run are uploaded as the cloud would have written them (uris gs://…), and the report reads
 * them and makes every thumbnail from the buckets.
 */

let root: string;
let server: FakeGcsServer;
let store: GcsObjectStore;
let fixture: Awaited<ReturnType<typeof runReportFixture>>;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .filter((name) => !name.startsWith(FS_META_DIR) && !name.startsWith('report'));
}

/** Uploads a folder, rewriting the local paths in its records to the buckets' gs:// uris. */
async function upload(dir: string, bucket: string) {
  for (const name of await filesUnder(dir)) {
    let bytes = await readFile(join(dir, name));
    if (name.endsWith('.json')) {
      bytes = Buffer.from(
        bytes
          .toString('utf8')
          .replaceAll(`${fixture.drop}/`, 'gs://drop-bucket/')
          .replaceAll(`${fixture.out}/`, 'gs://out-bucket/'),
      );
    }
    await store.write(bucket, name, bytes);
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-report-gcs-'));
  fixture = await runReportFixture(root);
  server = await startFakeGcsServer();
  store = new GcsObjectStore(
    new Storage({ apiEndpoint: server.url, projectId: 'test', useAuthWithCustomEndpoint: false }),
  );
  await upload(fixture.drop, 'drop-bucket');
  await upload(fixture.out, 'out-bucket');
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('bananaflow report gs://bucket[/prefix]', () => {
  it('reads the records and makes every thumbnail from the buckets', async () => {
    server.requests.length = 0;
    const report = await writeReport({
      target: 'gs://out-bucket',
      out: join(root, 'gcs', 'report.html'),
      gcs: async () => store,
    });
    const { summary } = fixture;
    expect(report.totals).toMatchObject({
      jobs: summary.jobs,
      images: summary.succeeded,
      failedByCode: summary.failedByCode,
      sidecarProblems: summary.sidecarProblems.length,
    });
    expect(report.totals.costUsd).toBeCloseTo(summary.costUsd, 6);
    // Inputs were downloaded from the drop bucket, outputs from the output bucket.
    const downloads = server.requests.filter((r) => r.query.alt === 'media').map((r) => r.path);
    expect(downloads.some((path) => path.includes('/b/drop-bucket/'))).toBe(true);
    expect(downloads.some((path) => path.includes('/b/out-bucket/'))).toBe(true);

    const page = await readFile(report.path, 'utf8');
    expect(page).toContain('https://storage.cloud.google.com/out-bucket/');
    expect(page).toContain('https://storage.cloud.google.com/drop-bucket/');
    // Every image of a successful job has its thumbnail: only the failed inputs lack one.
    const placeholders = page.match(/class="placeholder"/g) ?? [];
    expect(placeholders.length).toBe(1); // shots/fake.jpg is not an image
    const thumbnails = (await readdir(report.filesDir)).filter((name) => name.endsWith('.webp'));
    expect(thumbnails.length).toBeGreaterThan(8);
  });

  it('a second report into the same folder downloads no image: thumbnails are reused by version', async () => {
    const out = join(root, 'again', 'report.html');
    const report = () => writeReport({ target: 'gs://out-bucket', out, gcs: async () => store });
    await report();
    server.requests.length = 0;
    const again = await report();
    const downloads = server.requests
      .filter((r) => r.query.alt === 'media')
      .map((r) => decodeURIComponent(r.path))
      .filter((path) => !path.endsWith('.json'));
    // Only the input that is not an image is read again (it never gets a thumbnail).
    expect(downloads).toEqual(['/storage/v1/b/drop-bucket/o/shots/fake.jpg']);
    expect(again.totals.images).toBe(fixture.summary.succeeded);
  });

  it("downloads each output's thumbnail from the bucket, never the output itself", async () => {
    server.requests.length = 0;
    const out = join(root, 'fresh', 'report.html');
    await writeReport({ target: 'gs://out-bucket', out, gcs: async () => store });
    const fromOutputs = server.requests
      .filter((r) => r.query.alt === 'media')
      .map((r) => decodeURIComponent(r.path))
      .filter((path) => path.startsWith('/storage/v1/b/out-bucket/') && !path.endsWith('.json'));
    expect(fromOutputs.length).toBeGreaterThanOrEqual(fixture.summary.succeeded);
    expect(fromOutputs.filter((path) => !path.endsWith('.thumb.webp'))).toEqual([]);
  });

  it('through the CLI (STORAGE_EMULATOR_HOST), a prefix holds only its own records', async () => {
    const cli = capture();
    const out = join(root, 'shots.html');
    const env = { ...OFFLINE_ENV, STORAGE_EMULATOR_HOST: server.url };
    expect(
      await main(['report', 'gs://out-bucket/shots', '--out', out, '--json'], env, cli.io),
    ).toBe(0);
    const written = JSON.parse(cli.out());
    expect(written.totals).toMatchObject({
      jobs: 2,
      images: 1,
      failedByCode: { INPUT_NOT_IMAGE: 1 },
    });
  });

  it('a bucket prefix with no records: a clear message, exit 2', async () => {
    const cli = capture();
    const env = { ...OFFLINE_ENV, STORAGE_EMULATOR_HOST: server.url };
    expect(await main(['report', 'gs://out-bucket/nothing-here/'], env, cli.io)).toBe(2);
    expect(cli.err()).toContain('holds no bananaflow records');
  });
});
