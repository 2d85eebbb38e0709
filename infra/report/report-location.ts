import { readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { BananaError } from '../../shared/errors.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';

/**
 * Where a report's records are: a local output folder, or gs://bucket[/prefix]. Both are read
 * through the ObjectStore port; images that records name by uri (inputs in the drop) are read
 * from the disk or from Cloud Storage, whichever the uri says.
 */
export interface ReportLocation {
  /** As the user gave it, for the page's title. */
  label: string;
  store: ObjectStore;
  bucket: string;
  /** Object-name prefix of the records ('' or ending in '/'). */
  prefix: string;
  /** Where the report goes when no --out is given. */
  defaultReportPath: string;
  /** Bytes of an image named by a record's uri. */
  readUri(uri: string, maxBytes: number): Promise<Buffer>;
  /** What changes when that image changes (generation or mtime, and size); throws when it is gone. */
  versionOfUri(uri: string): Promise<string>;
  /** A link that opens the full image, from the report's folder. */
  hrefOfObject(name: string, reportDir: string): string;
  hrefOfUri(uri: string, reportDir: string): string | undefined;
}

/** Creates the Cloud Storage store (Application Default Credentials; a test server in tests). */
export type GcsStoreFactory = () => Promise<ObjectStore>;

const GS = /^gs:\/\/([^/]+)\/?(.*)$/;

/** The relative link from `reportDir` to a local file, percent-encoded per segment. */
export function fileHref(path: string, reportDir: string): string {
  return relative(reportDir, path).split(sep).map(encodeURIComponent).join('/');
}

function gcsHref(bucket: string, name: string): string {
  // The console's authenticated download URL: opens with the user's Google login.
  return `https://storage.cloud.google.com/${bucket}/${name.split('/').map(encodeURIComponent).join('/')}`;
}

async function readGsUri(gcs: GcsStoreFactory | undefined, uri: string, maxBytes: number) {
  const match = GS.exec(uri);
  if (!match || !gcs) {
    throw new BananaError({
      code: 'STORAGE_NOT_FOUND',
      message: `${uri} is in Cloud Storage; a local report cannot read it.`,
    });
  }
  const store = await gcs();
  return (await store.read(match[1] as string, match[2] as string, { maxBytes })).bytes;
}

async function gsVersion(gcs: GcsStoreFactory | undefined, uri: string): Promise<string> {
  const match = GS.exec(uri);
  const info =
    match && gcs ? await (await gcs()).stat(match[1] as string, match[2] as string) : undefined;
  if (!info) throw new BananaError({ code: 'STORAGE_NOT_FOUND', message: `${uri} not found` });
  return `${info.generation}:${info.size}`;
}

async function localVersion(path: string): Promise<string> {
  const info = await stat(path, { bigint: true });
  return `${info.mtimeNs}:${info.size}`;
}

async function readLocal(path: string, maxBytes: number): Promise<Buffer> {
  if ((await stat(path)).size > maxBytes) {
    throw new BananaError({
      code: 'INPUT_TOO_LARGE',
      message: `${path} is over ${maxBytes} bytes: no thumbnail.`,
    });
  }
  return readFile(path);
}

export async function openReportLocation(
  target: string,
  gcs: GcsStoreFactory,
): Promise<ReportLocation> {
  const match = GS.exec(target);
  if (match) {
    const bucket = match[1] as string;
    const raw = match[2] as string;
    const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
    const store = await gcs();
    return {
      label: target,
      store,
      bucket,
      prefix,
      defaultReportPath: resolve(
        `${[bucket, ...prefix.split('/').filter(Boolean)].join('-')}-report.html`,
      ),
      readUri: (uri, maxBytes) =>
        GS.test(uri) ? readGsUri(gcs, uri, maxBytes) : readLocal(uri, maxBytes),
      versionOfUri: (uri) => (GS.test(uri) ? gsVersion(gcs, uri) : localVersion(uri)),
      hrefOfObject: (name) => gcsHref(bucket, name),
      hrefOfUri: (uri) => {
        const m = GS.exec(uri);
        return m ? gcsHref(m[1] as string, m[2] as string) : undefined;
      },
    };
  }
  const dir = resolve(target);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new BananaError({
      code: 'INPUT_MISSING',
      message: `${target} is not a folder.`,
      fix: 'Give the output folder of a run (the --out of `bananaflow run`) or gs://bucket[/prefix].',
    });
  }
  return {
    label: target,
    store: new FsObjectStore({ out: dir }),
    bucket: 'out',
    prefix: '',
    defaultReportPath: join(dir, 'report.html'),
    readUri: (uri, maxBytes) =>
      GS.test(uri) ? readGsUri(undefined, uri, maxBytes) : readLocal(uri, maxBytes),
    versionOfUri: (uri) => (GS.test(uri) ? gsVersion(undefined, uri) : localVersion(uri)),
    hrefOfObject: (name, reportDir) => fileHref(join(dir, name), reportDir),
    hrefOfUri: (uri, reportDir) => (isAbsolute(uri) ? fileHref(uri, reportDir) : undefined),
  };
}

/** The folder of thumbnails beside a report: `report.html` → `report_files/`. */
export function filesDirOf(reportPath: string): string {
  return join(resolve(reportPath, '..'), `${basename(reportPath).replace(/\.html?$/i, '')}_files`);
}
