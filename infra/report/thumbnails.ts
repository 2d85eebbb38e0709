import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { BananaError, toBananaError } from '../../shared/errors.ts';
import { mapLimit } from '../../shared/map-limit.ts';
import type { ImageSource, ReportJob } from './report-jobs.ts';
import type { ReportLocation } from './report-location.ts';
import { fileHref } from './report-location.ts';
import { readStepImages } from './step-images.ts';

/** A thumbnail written beside the report, and the link that opens the full image. */
export interface Thumbnail {
  /** Relative to the report's folder. */
  src: string;
  width: number;
  height: number;
  href?: string;
}
export type ThumbnailResult = Thumbnail | { missing: string };

/** Longest side of a thumbnail: sharp on a card about half as wide, at twice the pixel density. */
const THUMB_BOX = 320;
const MAX_IMAGE_BYTES = 64 << 20;

export function sourceKey(source: ImageSource): string {
  if (source.kind === 'object') return `object:${source.name}`;
  if (source.kind === 'uri') return `uri:${source.uri}`;
  return `step:${source.jobId}:${source.step}`;
}

interface ThumbnailContext {
  location: ReportLocation;
  reportDir: string;
  filesDir: string;
  /** Names of the files already in `filesDir`. */
  existing: Set<string>;
  /** Thumbnails already in `filesDir`, by content hash: reports of the same folder reuse them. */
  thumbnailsByHash: Map<string, string>;
  steps: (jobId: string) => Promise<Buffer[]>;
}

/**
 * Makes a thumbnail of every image the jobs show (each distinct source once), into `filesDir`.
 * Thumbnails are named by a hash of the image's identity and version (see `identify`) and their
 * size, so a second report into the same folder reads and decodes nothing it did before. An image that cannot be read or decoded
 * gets a reason instead, which the page shows as a placeholder.
 */
export async function makeThumbnails(
  jobs: readonly ReportJob[],
  options: { location: ReportLocation; reportDir: string; filesDir: string },
): Promise<Map<string, ThumbnailResult>> {
  await mkdir(options.filesDir, { recursive: true });
  const existing = new Set(await readdir(options.filesDir));
  const thumbnailsByHash = new Map<string, string>();
  for (const name of existing) {
    if (name.endsWith('.webp')) thumbnailsByHash.set(name.split('.')[0] ?? '', name);
  }
  const stepCache = new Map<string, Promise<Buffer[]>>();
  const { store, bucket } = options.location;
  const ctx: ThumbnailContext = {
    ...options,
    existing,
    thumbnailsByHash,
    steps: (jobId) => {
      let images = stepCache.get(jobId);
      if (!images) {
        images = readStepImages(store, bucket, jobId);
        stepCache.set(jobId, images);
      }
      return images;
    },
  };
  const sources = new Map<string, ImageSource>();
  for (const job of jobs) {
    for (const slot of [...job.before, ...job.after])
      sources.set(sourceKey(slot.source), slot.source);
  }
  const keys = [...sources.keys()];
  const results = await mapLimit(keys, Math.max(2, availableParallelism()), (key) =>
    thumbnailOf(sources.get(key) as ImageSource, ctx),
  );
  return new Map(keys.map((key, i) => [key, results[i] as ThumbnailResult]));
}

async function thumbnailOf(source: ImageSource, ctx: ThumbnailContext): Promise<ThumbnailResult> {
  try {
    const image = await identify(source, ctx);
    let href = hrefOf(source, ctx);
    if (source.kind === 'step' && image.bytes) {
      // A step's image lives only inside the job's checkpoint: keep a copy the link can open.
      const full = `${image.key}.full.png`;
      if (!ctx.existing.has(full)) await writeFile(join(ctx.filesDir, full), image.bytes);
      href = fileHref(join(ctx.filesDir, full), ctx.reportDir);
    }
    const cached = ctx.thumbnailsByHash.get(image.key);
    const size = cached && /\.(\d+)x(\d+)\.webp$/.exec(cached);
    if (cached && size) return thumbnail(cached, Number(size[1]), Number(size[2]), href, ctx);
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
    const info = await location.store.stat(location.bucket, source.name);
    if (!info) throw new BananaError({ code: 'STORAGE_NOT_FOUND', message: source.name });
    return { key: hashOf(`object:${source.name}:${info.generation}:${info.size}`) };
  }
  if (source.kind === 'uri') {
    return { key: hashOf(`uri:${source.uri}:${await location.versionOfUri(source.uri)}`) };
  }
  const bytes = await readSource(source, ctx);
  return { key: hashOf(bytes), bytes };
}

async function encodeThumbnail(
  bytes: Buffer,
  key: string,
  href: string | undefined,
  ctx: ThumbnailContext,
): Promise<ThumbnailResult> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'none' })
      .rotate()
      // Decoding the full image is most of the cost; a linear kernel and the fastest WebP effort
      // trim the rest, with no visible difference at thumbnail size.
      .resize({
        width: THUMB_BOX,
        height: THUMB_BOX,
        fit: 'inside',
        withoutEnlargement: true,
        kernel: 'linear',
      })
      .webp({ quality: 70, effort: 0 })
      .toBuffer({ resolveWithObject: true });
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
