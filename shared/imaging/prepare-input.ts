import type { Metadata, OutputInfo } from 'sharp';
import { BananaError } from '../errors.ts';
import type { ModelImage } from '../ports/image-model.ts';
import { isContainerComplete } from './container-integrity.ts';
import { FAIL_ON, heicError, isHeic, readImageHeader } from './image-info.ts';
import { loadSharp } from './load-sharp.ts';

/**
 * Turns any input image into bytes a Gemini image model accepts: one decode at most, and none
 * when the file is already acceptable (then its bytes go to the model untouched).
 */

export interface PrepareInputOptions {
  /** The file's name (drop-relative path), used in every error message. */
  name: string;
  /** Refuse images with more pixels than this (width x height, read from the header). */
  maxPixels: number;
  /** Downscale so that the longer edge is at most this (never upscale). */
  longEdgePx: number;
  /** MIME types the target model accepts (catalog `inputMimeTypes`). */
  acceptedMimeTypes: readonly string[];
}

export interface OriginalImageInfo {
  /** jpeg, png, webp, gif, tiff, avif, heic or heif. */
  format: string;
  mimeType?: string;
  /** As stored, before EXIF orientation. */
  width: number;
  height: number;
  /** Size of the file in bytes. */
  bytes: number;
  /** EXIF orientation tag (1-8), when present. */
  orientation?: number;
  /** Frames or pages, when more than one. */
  pages?: number;
  hasAlpha: boolean;
  /** libvips colour space: srgb, b-w, cmyk, rgb16, grey16... */
  space: string;
  /** libvips sample format: uchar (8-bit), ushort (16-bit), float... */
  depth: string;
}

export interface PreparedInput {
  /** What to send to the model. */
  image: ModelImage;
  /** Size of what is sent. */
  width: number;
  height: number;
  original: OriginalImageInfo;
  /** Human notes on every change made, empty when the original bytes are sent untouched. */
  conversions: string[];
}

/** JPEG/WebP quality when an input must be re-encoded lossily. */
const REENCODE_QUALITY = 90;
/** Formats we can re-encode in their own format (keeping a JPEG a JPEG, a PNG lossless). */
const SAME_FORMAT_OUTPUTS = ['jpeg', 'png', 'webp'] as const;
type SendFormat = (typeof SAME_FORMAT_OUTPUTS)[number];
const MIME_BY_SEND_FORMAT: Readonly<Record<SendFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};
/** 8-bit colour spaces sent as they are. */
const PLAIN_SPACES: readonly string[] = ['srgb', 'b-w'];
/** Colour spaces that differ from a plain one only by depth (the depth note covers them). */
const WIDE_SPACES: Readonly<Record<string, string>> = { rgb16: 'srgb', grey16: 'b-w' };
const BITS_BY_DEPTH: Readonly<Record<string, number>> = {
  char: 8,
  uchar: 8,
  short: 16,
  ushort: 16,
  int: 32,
  uint: 32,
  float: 32,
  double: 64,
};

function isSendFormat(format: string): format is SendFormat {
  return (SAME_FORMAT_OUTPUTS as readonly string[]).includes(format);
}

function describeOriginal(
  metadata: Metadata,
  format: string,
  mimeType: string | undefined,
  size: number,
) {
  const original: OriginalImageInfo = {
    format,
    width: metadata.width,
    height: metadata.height,
    bytes: size,
    hasAlpha: metadata.hasAlpha,
    space: metadata.space,
    depth: metadata.depth,
  };
  if (mimeType !== undefined) original.mimeType = mimeType;
  if (metadata.orientation !== undefined) original.orientation = metadata.orientation;
  if (metadata.pages !== undefined && metadata.pages > 1) original.pages = metadata.pages;
  return original;
}

function framesNote(format: string, pages: number): string {
  return format === 'gif' || format === 'webp'
    ? `first frame of an animated ${format.toUpperCase()} (${pages} frames)`
    : `first page of a ${pages}-page ${format.toUpperCase()}`;
}

/** The header, once it is known to describe an image within the pixel limit. */
async function readCheckedHeader(
  bytes: Buffer,
  options: Pick<PrepareInputOptions, 'name' | 'maxPixels' | 'longEdgePx'>,
) {
  const { name, maxPixels, longEdgePx } = options;
  const header = await readImageHeader(bytes, name);
  const { width, height } = header.metadata;
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new BananaError({
      code: 'INPUT_TOO_MANY_PIXELS',
      message: `"${name}" is ${width}x${height} (${(pixels / 1e6).toFixed(1)} MP), over the limit of ${(maxPixels / 1e6).toFixed(1)} MP.`,
      fix: `Downscale it (e.g. to ${longEdgePx} px on the long edge) before dropping it; the model never sees more than that.`,
      details: { file: name, format: header.format, width, height, pixels, maxPixels },
    });
  }
  return header;
}

/**
 * The checks `prepareInput` makes before decoding, without decoding (for `validate`): refuses an
 * empty file, a non-image, an image over `maxPixels`, and a file whose container is cut short.
 */
export async function inspectInput(
  bytes: Buffer,
  options: Pick<PrepareInputOptions, 'name' | 'maxPixels' | 'longEdgePx'>,
): Promise<void> {
  const { metadata, format } = await readCheckedHeader(bytes, options);
  if (!isContainerComplete(bytes, metadata.format)) {
    throw truncated(
      options.name,
      { file: options.name, format, width: metadata.width, height: metadata.height },
      undefined,
    );
  }
}

/**
 * Prepares one input image for the model. Reads the header first and refuses empty files,
 * non-images, damaged files and images over `maxPixels` (before any pixel is decoded). Then, only
 * if needed, decodes once to: apply the EXIF orientation, keep the first frame of an animation,
 * convert to 8-bit sRGB, downscale to `longEdgePx`, and re-encode (same format when the model
 * accepts it, else PNG when there is alpha and JPEG otherwise). An image that needs none of that
 * is sent byte for byte.
 */
export async function prepareInput(
  bytes: Buffer,
  options: PrepareInputOptions,
): Promise<PreparedInput> {
  const { name } = options;
  const { metadata, format, mimeType } = await readCheckedHeader(bytes, options);
  const original = describeOriginal(metadata, format, mimeType, bytes.length);
  const details = { file: name, format, width: metadata.width, height: metadata.height };
  const changes = changesFor(metadata, mimeType, options);
  if (mimeType !== undefined && changes.none) {
    // Nothing to change: send the original (cheaper and lossless). It is never decoded, so check
    // its structure instead: a truncated file must not reach the model.
    if (!isContainerComplete(bytes, metadata.format)) throw truncated(name, details, undefined);
    const image = { mimeType, bytes };
    return { image, width: metadata.width, height: metadata.height, original, conversions: [] };
  }
  const conversions = changeNotes(changes, metadata, format);
  const sendFormat: SendFormat =
    changes.accepted && isSendFormat(metadata.format)
      ? metadata.format
      : metadata.hasAlpha
        ? 'png'
        : 'jpeg';
  let output: { data: Buffer; info: OutputInfo };
  try {
    output = await reencode(bytes, changes, sendFormat, metadata, options);
  } catch (cause) {
    if (isHeic(format)) throw heicError(name, details, cause);
    throw truncated(name, details, cause);
  }
  const { data, info } = output;
  if (changes.downscale) {
    const { width, height } = changes.shown;
    conversions.push(`downscaled ${width}x${height} -> ${info.width}x${info.height}`);
  }
  if (sendFormat !== format) {
    const why = changes.accepted ? '' : ` (the model does not accept ${mimeType ?? format})`;
    conversions.push(`re-encoded ${format} as ${sendFormat}${why}`);
  }
  const image = { mimeType: MIME_BY_SEND_FORMAT[sendFormat], bytes: data };
  return { image, width: info.width, height: info.height, original, conversions };
}

/** What an input needs before it goes to the model, read from its header alone. */
function changesFor(
  metadata: Metadata,
  mimeType: string | undefined,
  options: Pick<PrepareInputOptions, 'longEdgePx' | 'acceptedMimeTypes'>,
) {
  const orientation = metadata.orientation ?? 1;
  const orient = orientation >= 2 && orientation <= 8;
  const pages = metadata.pages ?? 1;
  const reduceDepth = metadata.depth !== 'uchar';
  const convertSpace = !PLAIN_SPACES.includes(metadata.space) && !(metadata.space in WIDE_SPACES);
  const shown = metadata.autoOrient;
  const downscale = Math.max(shown.width, shown.height) > options.longEdgePx;
  const accepted = mimeType !== undefined && options.acceptedMimeTypes.includes(mimeType);
  const none = accepted && !orient && pages === 1 && !reduceDepth && !convertSpace && !downscale;
  return {
    orientation,
    orient,
    pages,
    reduceDepth,
    convertSpace,
    shown,
    downscale,
    accepted,
    none,
  };
}
type InputChanges = ReturnType<typeof changesFor>;

/** The conversions known before decoding, for the record. */
function changeNotes(changes: InputChanges, metadata: Metadata, format: string): string[] {
  const notes: string[] = [];
  if (changes.orient) notes.push(`auto-oriented from EXIF ${changes.orientation}`);
  if (changes.pages > 1) notes.push(framesNote(format, changes.pages));
  if (changes.convertSpace) {
    notes.push(`converted ${metadata.space === 'cmyk' ? 'CMYK' : metadata.space} to sRGB`);
  }
  const bits = BITS_BY_DEPTH[metadata.depth] ?? 8;
  if (changes.reduceDepth) notes.push(`${bits}-bit reduced to 8-bit`);
  return notes;
}

/** Decodes once and applies the changes, encoding as `sendFormat`. */
async function reencode(
  bytes: Buffer,
  changes: InputChanges,
  sendFormat: SendFormat,
  metadata: Metadata,
  options: Pick<PrepareInputOptions, 'maxPixels' | 'longEdgePx'>,
): Promise<{ data: Buffer; info: OutputInfo }> {
  const { maxPixels, longEdgePx } = options;
  // pages: 1 keeps the first frame; the pixel limit is sharp's own guard should a header lie.
  const sharp = await loadSharp();
  let pipeline = sharp(bytes, {
    failOn: FAIL_ON,
    limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
    autoOrient: changes.orient,
    pages: 1,
  });
  if (changes.downscale) {
    pipeline = pipeline.resize({
      width: longEdgePx,
      height: longEdgePx,
      fit: 'inside',
      withoutEnlargement: true,
    });
  }
  if (changes.convertSpace || changes.reduceDepth) {
    // Grey stays grey (smaller, and the model does not need three equal channels).
    const greyish = metadata.space === 'b-w' || metadata.space === 'grey16';
    pipeline = pipeline.toColourspace(greyish ? 'b-w' : 'srgb');
  }
  pipeline =
    sendFormat === 'png'
      ? pipeline.png()
      : sendFormat === 'jpeg'
        ? pipeline.jpeg({ quality: REENCODE_QUALITY })
        : pipeline.webp({ quality: REENCODE_QUALITY });
  return pipeline.toBuffer({ resolveWithObject: true });
}

function truncated(name: string, details: Record<string, unknown>, cause: unknown): BananaError {
  return new BananaError({
    code: 'INPUT_CORRUPT',
    message: `"${name}" is damaged: its header reads but its image data is truncated or broken.`,
    fix: 'Upload the original file again (the copy here was probably cut off during transfer) or re-export it.',
    details,
    cause,
  });
}
