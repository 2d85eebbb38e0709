import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { BananaError, toBananaError } from '../../shared/errors.ts';
import { toThumbnail } from '../../shared/imaging/thumbnail.ts';
import { mapLimit } from '../../shared/map-limit.ts';
import { thumbnailNameOf } from '../../shared/planning/output-names.ts';
import type { ObjectInfo } from '../../shared/ports/object-store.ts';
import type { ImageSource, ReportJob } from './report-jobs.ts';
import type { ReportLocation } from './report-location.ts';
import { fileHref } from './report-location.ts';
import { readStepImages } from './step-images.ts';
import { removeUnreferenced, THUMBNAIL_FILE } from './thumbnail-files.ts';

/** A thumbnail written beside the report, and the link that opens the full image. */
export interface Thumbnail {
  /** Relative to the report's folder. */
  src: string;
  width: number;
  height: number;
  href?: string;
}
export type ThumbnailResult = Thumbnail | { missing: string };

const MAX_IMAGE_BYTES = 64 << 20;
/** A worker's thumbnail is a few KiB; anything far bigger is not one. */
const MAX_THUMBNAIL_BYTES = 4 << 20;
/**
 * Thumbnails in the making at once. sharp runs each pipeline on one libvips thread here (its
 * default on glibc), so two per core keep the cores busy while the next image is read.
 */
const CONCURRENCY = 4;

export function sourceKey(source: ImageSource): string {
  if (source.kind === 'object') return `object:${source.name}`;
  if (source.kind === 'uri') return `uri:${source.uri}`;
  return `step:${source.jobId}:${source.step}`;
}

interface ThumbnailContext {
  location: ReportLocation;
  reportDir: string;
  filesDir: string;
  /** The location's objects by name (its listing): versions, and which outputs have a thumbnail. */
  objects: ReadonlyMap<string, ObjectInfo>;
  /** Names of the files already in `filesDir`. */
  existing: Set<string>;
  /** Thumbnails already in `filesDir`, by key: reports of the same folder reuse them. */
  thumbnailsByKey: Map<string, string>;
  /** Files of `filesDir` this report links to; the others are removed when it is written. */
  used: Set<string>;
  steps: (jobId: string) => Promise<Buffer[]>;
}

export interface ThumbnailOptions {
  location: ReportLocation;
  reportDir: string;
  filesDir: string;
  /** The location's listing, when the caller has it (a stat per image otherwise). */
  objects?: readonly ObjectInfo[];
}

/**
 * Makes a thumbnail of every image the jobs show (each distinct source once, however many jobs
 * share it) into `filesDir`, and removes the files there that the report no longer links to.
 * Thumbnails are named by a hash of the image's identity and version (see `identify`), so a
 * second report into the same folder reads and decodes nothing it did before. An output the
 * worker wrote a thumbnail beside is not decoded: that thumbnail is copied. An image that cannot
 * be read or decoded gets a reason instead, which the page shows as a placeholder.
 */
export async function makeThumbnails(
  jobs: readonly ReportJob[],
  options: ThumbnailOptions,
): Promise<Map<string, ThumbnailResult>> {
  const ctx = await thumbnailContext(options);
  const sources = new Map<string, ImageSource>();
  for (const job of jobs) {
    for (const slot of [...job.before, ...job.after])
      sources.set(sourceKey(slot.source), slot.source);
  }
  const keys = [...sources.keys()];
  const results = await mapLimit(keys, CONCURRENCY, (key) =>
    thumbnailOf(sources.get(key) as ImageSource, ctx),
  );
  await removeUnreferenced(ctx.filesDir, ctx.existing, ctx.used);
  return new Map(keys.map((key, i) => [key, results[i] as ThumbnailResult]));
}

async function thumbnailContext(options: ThumbnailOptions): Promise<ThumbnailContext> {
  await mkdir(options.filesDir, { recursive: true });
  const existing = new Set(await readdir(options.filesDir));
  const thumbnailsByKey = new Map<string, string>();
  for (const name of existing) {
    const match = THUMBNAIL_FILE.exec(name);
    if (match) thumbnailsByKey.set(match[1] as string, name);
  }
  const stepCache = new Map<string, Promise<Buffer[]>>();
  const { store, bucket } = options.location;
  return {
    ...options,
    objects: new Map((options.objects ?? []).map((info) => [info.name, info])),
    existing,
    thumbnailsByKey,
    used: new Set(),
    steps: (jobId) => {
      let images = stepCache.get(jobId);
      if (!images) {
        images = readStepImages(store, bucket, jobId);
        stepCache.set(jobId, images);
      }
      return images;
    },
  };
}

async function thumbnailOf(source: ImageSource, ctx: ThumbnailContext): Promise<ThumbnailResult> {
  try {
    const image = await identify(source, ctx);
    let href = hrefOf(source, ctx);
    if (source.kind === 'step' && image.bytes) {
      // A step's image lives only inside the job's checkpoint: keep a copy the link can open.
      const full = `${image.key}.full.png`;
      if (!ctx.existing.has(full)) await writeFile(join(ctx.filesDir, full), image.bytes);
      ctx.used.add(full);
      href = fileHref(join(ctx.filesDir, full), ctx.reportDir);
    }
    const cached = ctx.thumbnailsByKey.get(image.key);
    const size = cached && THUMBNAIL_FILE.exec(cached);
    if (cached && size) return thumbnail(cached, Number(size[2]), Number(size[3]), href, ctx);
    const copied = await copyWorkerThumbnail(source, image.key, href, ctx);
    if (copied) return copied;
    const bytes = image.bytes ?? (await readSource(source, ctx));
    return await encodeThumbnail(bytes, image.key, href, ctx);
  } catch (error) {
    return {
      missing: `missing: ${notFound(error) ? 'the file is gone' : toBananaError(error).message}`,
    };
  }
}

const hashOf = (data: string | Buffer) =>
  createHash('sha256').update(data).digest('hex').slice(0, 24);

/**
 * The name a source's thumbnail gets: from the object's version (generation or mtime, and size)
 * where there is one, so a report whose thumbnails exist reads no image at all; a step's image
 * is in memory already and is named by its content.
 */
async function identify(
  source: ImageSource,
  ctx: ThumbnailContext,
): Promise<{ key: string; bytes?: Buffer }> {
  const { location } = ctx;
  if (source.kind === 'object') {
    const info =
      ctx.objects.get(source.name) ?? (await location.store.stat(location.bucket, source.name));
    if (!info) throw new BananaError({ code: 'STORAGE_NOT_FOUND', message: source.name });
    return { key: hashOf(`object:${source.name}:${info.generation}:${info.size}`) };
  }
  if (source.kind === 'uri') {
    return { key: hashOf(`uri:${source.uri}:${await location.versionOfUri(source.uri)}`) };
  }
  const bytes = await readSource(source, ctx);
  return { key: hashOf(bytes), bytes };
}

/**
 * The thumbnail the worker wrote beside an output (thumbnailNameOf), copied into `filesDir`:
 * a few KiB read instead of a full image decoded. Undefined when there is none (an output of an
 * older version, or one small enough to be its own) or it cannot be read: the report makes one.
 */
async function copyWorkerThumbnail(
  source: ImageSource,
  key: string,
  href: string | undefined,
  ctx: ThumbnailContext,
): Promise<Thumbnail | undefined> {
  if (source.kind !== 'object') return undefined;
  const name = thumbnailNameOf(source.name);
  if (ctx.objects.size > 0 && !ctx.objects.has(name)) return undefined;
  const { store, bucket } = ctx.location;
  try {
    const { bytes } = await store.read(bucket, name, { maxBytes: MAX_THUMBNAIL_BYTES });
    const { width, height, format } = await sharp(bytes).metadata();
    if (format !== 'webp' || !width || !height) return undefined;
    const file = `${key}.${width}x${height}.webp`;
    await writeFile(join(ctx.filesDir, file), bytes);
    return thumbnail(file, width, height, href, ctx);
  } catch {
    return undefined;
  }
}

async function encodeThumbnail(
  bytes: Buffer,
  key: string,
  href: string | undefined,
  ctx: ThumbnailContext,
): Promise<ThumbnailResult> {
  try {
    // autoOrient before the resize; JPEG and WebP shrink on load (fastShrinkOnLoad, the default).
    const image = sharp(bytes, { failOn: 'none', autoOrient: true, sequentialRead: true });
    const { data, info } = await toThumbnail(image).toBuffer({ resolveWithObject: true });
    const name = `${key}.${info.width}x${info.height}.webp`;
    await writeFile(join(ctx.filesDir, name), data);
    return thumbnail(name, info.width, info.height, href, ctx);
  } catch (error) {
    return { missing: `not an image that can be shown: ${(error as Error).message}` };
  }
}

function thumbnail(
  name: string,
  width: number,
  height: number,
  href: string | undefined,
  ctx: ThumbnailContext,
): Thumbnail {
  ctx.used.add(name);
  const src = fileHref(join(ctx.filesDir, name), ctx.reportDir);
  return { src, width, height, ...(href ? { href } : {}) };
}

async function readSource(source: ImageSource, ctx: ThumbnailContext): Promise<Buffer> {
  const { location } = ctx;
  if (source.kind === 'object') {
    const name = source.name;
    return (await location.store.read(location.bucket, name, { maxBytes: MAX_IMAGE_BYTES })).bytes;
  }
  if (source.kind === 'uri') return location.readUri(source.uri, MAX_IMAGE_BYTES);
  const image = (await ctx.steps(source.jobId))[source.step - 1];
  if (!image) throw new Error(`step ${source.step}'s image was not kept`);
  return image;
}

function hrefOf(source: ImageSource, ctx: ThumbnailContext): string | undefined {
  if (source.kind === 'object') return ctx.location.hrefOfObject(source.name, ctx.reportDir);
  if (source.kind === 'uri') return ctx.location.hrefOfUri(source.uri, ctx.reportDir);
  return undefined;
}

function notFound(error: unknown): boolean {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  return code === 'ENOENT' || code === 'STORAGE_NOT_FOUND';
}
