import type { FailOnOptions, Metadata } from 'sharp';
import { BananaError } from '../errors.ts';
import { type SniffedType, sniffImageType } from './image-signature.ts';
import { loadSharp } from './load-sharp.ts';

/**
 * Reading an image's header: what it is, how big, how it is stored. Never decodes pixels, so it
 * is cheap and safe on decompression bombs (huge declared dimensions in a tiny file).
 */

/**
 * When sharp aborts on damaged pixel data. 'error' fails on truncated files and on decoder
 * errors (a bad PNG CRC, a JPEG cut short: "premature end") but tolerates warnings, such as
 * "extraneous bytes before marker", that many phone and camera JPEGs carry and that decode fine.
 * ('warning', sharp's default, would reject those real photos; 'none' would let a truncated
 * JPEG through with a grey lower half.)
 */
export const FAIL_ON: FailOnOptions = 'error';

/** sharp's names of the formats this pipeline reads (SVG, PDF, raw... are refused). */
export const READABLE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif'] as const;

const MIME_BY_FORMAT: Readonly<Record<string, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  heic: 'image/heic',
  heif: 'image/heif',
};

const HEIC_FIX =
  'Convert it to JPEG or PNG first (on an iPhone: Settings > Camera > Formats > Most Compatible), or use a model that accepts HEIC and keep the image small enough to pass unchanged.';
const CONVERT_FIX = 'Export it as PNG, JPEG or WebP and drop it again.';

export interface ImageHeader {
  metadata: Metadata;
  /** jpeg, png, webp, gif, tiff, avif, heic or heif (sharp's 'heif' split by codec). */
  format: string;
  mimeType: string | undefined;
}

export interface ImageSize {
  /** Displayed size: EXIF orientation applied (a portrait photo stored landscape is portrait). */
  width: number;
  height: number;
  format: string;
  mimeType?: string;
}

/** The codec-specific name: sharp reports AVIF and HEIC both as 'heif'. */
function formatName(metadata: Metadata): string {
  if (metadata.format !== 'heif') return metadata.format;
  if (metadata.compression === 'av1') return 'avif';
  if (metadata.compression === 'hevc') return 'heic';
  return 'heif';
}

/** True for HEIC (HEVC in HEIF), the format the prebuilt sharp binaries usually cannot decode. */
export function isHeic(format: string): boolean {
  return format === 'heic';
}

/** The error for a HEIC file that could not be read or decoded. */
export function heicError(
  name: string,
  details: Record<string, unknown>,
  cause: unknown,
): BananaError {
  return new BananaError({
    code: 'INPUT_NOT_IMAGE',
    message: `"${name}" is a HEIC photo, which this installation cannot decode (its image library has no HEVC decoder).`,
    fix: HEIC_FIX,
    details: { file: name, format: 'heic', reason: 'heic-decoder-unavailable', ...details },
    cause,
  });
}

function unreadable(name: string, bytes: Buffer, sniffed: SniffedType | undefined, cause: unknown) {
  const details = { file: name, bytes: bytes.length };
  if (sniffed?.format === 'heic' || sniffed?.format === 'heif') {
    return heicError(name, details, cause);
  }
  if (sniffed?.decodable) {
    return new BananaError({
      code: 'INPUT_CORRUPT',
      message: `"${name}" looks like a ${sniffed.format.toUpperCase()} file but its header is damaged.`,
      fix: `Re-export or re-upload the original image; this copy is broken. ${CONVERT_FIX}`,
      details: { ...details, format: sniffed.format },
      cause,
    });
  }
  if (sniffed !== undefined) {
    return new BananaError({
      code: 'INPUT_NOT_IMAGE',
      message: `"${name}" is a ${sniffed.format.toUpperCase()} image, a format this pipeline does not read.`,
      fix: CONVERT_FIX,
      details: { ...details, format: sniffed.format },
      cause,
    });
  }
  return new BananaError({
    code: 'INPUT_NOT_IMAGE',
    message: `"${name}" is not an image (not PNG, JPEG, WebP, GIF, TIFF, AVIF or HEIC), whatever its name says.`,
    fix: `Check that the file really is an image. ${CONVERT_FIX}`,
    details,
    cause,
  });
}

/**
 * Reads the header of an image (dimensions, format, orientation, colour space, frames) without
 * decoding pixels. Throws a BananaError naming `name`: INPUT_EMPTY, INPUT_NOT_IMAGE (not an image,
 * an unsupported format, an undecodable HEIC) or INPUT_CORRUPT (a known format with a damaged
 * header).
 */
export async function readImageHeader(bytes: Buffer, name: string): Promise<ImageHeader> {
  if (bytes.length === 0) {
    throw new BananaError({
      code: 'INPUT_EMPTY',
      message: `"${name}" is empty (0 bytes).`,
      fix: 'Upload the image again; the copy that arrived has no content.',
      details: { file: name, bytes: 0 },
    });
  }
  let metadata: Metadata;
  try {
    // No pixel limit here: the header of a decompression bomb is harmless to read, and we need
    // its dimensions to say how big it is. The caller enforces the limit before any decode.
    const sharp = await loadSharp();
    metadata = await sharp(bytes, { limitInputPixels: false, failOn: FAIL_ON }).metadata();
  } catch (cause) {
    throw unreadable(name, bytes, sniffImageType(bytes), cause);
  }
  const format = formatName(metadata);
  if (!(READABLE_FORMATS as readonly string[]).includes(metadata.format)) {
    throw new BananaError({
      code: 'INPUT_NOT_IMAGE',
      message: `"${name}" is ${metadata.format === 'svg' ? 'an SVG drawing' : `a ${format} file`}, not a photo or raster image this pipeline reads.`,
      fix: CONVERT_FIX,
      details: { file: name, format, bytes: bytes.length },
    });
  }
  return { metadata, format, mimeType: metadata.mediaType ?? MIME_BY_FORMAT[format] };
}

/**
 * Width, height and format from the header only (no pixel decode): for cost estimates before a
 * run. Dimensions are as displayed (EXIF orientation applied) but before any downscaling.
 */
export async function readImageSize(bytes: Buffer, name = 'image'): Promise<ImageSize> {
  const { metadata, format, mimeType } = await readImageHeader(bytes, name);
  return {
    width: metadata.autoOrient.width,
    height: metadata.autoOrient.height,
    format,
    ...(mimeType === undefined ? {} : { mimeType }),
  };
}
