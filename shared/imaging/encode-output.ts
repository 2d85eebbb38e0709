import type { Sharp } from 'sharp';
import { BananaError } from '../errors.ts';
import {
  OUTPUT_EXTENSIONS,
  OUTPUT_MIME_TYPES,
  type OutputFormat,
  type OutputSpec,
} from '../sidecar/sidecar-schema.ts';
import { isContainerComplete } from './container-integrity.ts';
import { FAIL_ON } from './image-info.ts';
import { loadSharp } from './load-sharp.ts';
import { needsThumbnail, toThumbnail } from './thumbnail.ts';

/**
 * Encodes what the model returned into the requested output format, plus downscaled renditions.
 */

const MIME_TYPES = OUTPUT_MIME_TYPES;
const EXTENSIONS = OUTPUT_EXTENSIONS;

export type OutputMimeType = (typeof MIME_TYPES)[OutputFormat];
export type OutputExtension = (typeof EXTENSIONS)[OutputFormat];

/** Background for formats without alpha (JPEG): white, as a page or a product shot expects. */
const JPEG_BACKGROUND = '#ffffff';

export interface EncodedImage {
  bytes: Buffer;
  mimeType: OutputMimeType;
  extension: OutputExtension;
  width: number;
  height: number;
  /** The requested rendition width (absent on the main image). */
  renditionWidth?: number;
}

export interface EncodedOutput {
  main: EncodedImage;
  /** One per distinct requested width below the image's width, in the order requested. */
  renditions: EncodedImage[];
  /** The run report's preview (see thumbnail.ts); absent when the image is that small already. */
  thumbnail?: EncodedImage;
  /** Requested renditions not made, and why (a width at or above the output's is never upscaled). */
  skippedRenditions: SkippedRendition[];
}

export type EncodeSpec = Pick<OutputSpec, 'format' | 'quality' | 'renditions'>;

/** A requested rendition that was not made, recorded with its reason in the metadata record. */
export interface SkippedRendition {
  renditionWidth: number;
  reason: string;
}

export function mimeTypeFor(format: OutputFormat): OutputMimeType {
  return MIME_TYPES[format];
}

/** File extension without the dot ('jpg' for jpeg). */
export function extensionFor(format: OutputFormat): OutputExtension {
  return EXTENSIONS[format];
}

function encoder(image: Sharp, spec: EncodeSpec, hasAlpha: boolean): Sharp {
  // keepMetadata: the model's EXIF/XMP/IPTC/ICC (provenance, "AI generated" markers) are kept.
  const kept = image.keepMetadata();
  switch (spec.format) {
    case 'png':
      return kept.png();
    case 'jpeg':
      return (hasAlpha ? kept.flatten({ background: JPEG_BACKGROUND }) : kept).jpeg({
        quality: spec.quality,
      });
    case 'webp':
      return kept.webp({ quality: spec.quality });
    case 'avif':
      return kept.avif({ quality: spec.quality });
  }
}

async function run(image: Sharp, spec: EncodeSpec, renditionWidth?: number): Promise<EncodedImage> {
  const { data, info } = await image.toBuffer({ resolveWithObject: true });
  return {
    bytes: data,
    mimeType: MIME_TYPES[spec.format],
    extension: EXTENSIONS[spec.format],
    width: info.width,
    height: info.height,
    ...(renditionWidth === undefined ? {} : { renditionWidth }),
  };
}

/** The report's preview, from the same decoded input (no metadata: a few KiB). */
function thumbnailOf(input: Sharp): Promise<EncodedImage> {
  return run(toThumbnail(input.clone()), { format: 'webp', quality: 70, renditions: [] });
}

function undecodable(bytes: number, cause: unknown): BananaError {
  return new BananaError({
    code: 'MODEL_NO_IMAGE',
    message: 'The model returned image data that cannot be decoded (damaged or not an image).',
    fix: 'Run the job again; if it keeps happening, report the model and prompt.',
    details: { bytes },
    cause,
  });
}

/**
 * The biggest image decoded from a model answer: 4x the largest the catalog's models return (4K,
 * about 17 MP), so a damaged or hostile answer cannot make a worker decode a pixel bomb.
 */
export const MAX_MODEL_IMAGE_PIXELS = 4 * 4096 * 4096;

/**
 * Encodes a model image as `spec.format` (quality for jpeg/webp/avif) and makes one downscaled
 * copy per rendition width. A rendition width at or above the image's width is skipped, never
 * upscaled or duplicated; repeated widths are made once. A PNG asked for as PNG is kept byte for
 * byte (re-encoding is lossless anyway, and this keeps every chunk the model wrote).
 */
export async function encodeOutput(modelImage: Buffer, spec: EncodeSpec): Promise<EncodedOutput> {
  // Every output is a clone() of this one input: the buffer and the header parse are shared, and
  // libvips streams each output's decode -> resize -> encode in parallel. Measured on par with
  // bare sharp pipelines; decoding to raw pixels once instead was no faster and drops metadata.
  const sharp = await loadSharp();
  // The pixel limit applies to the header read too, so it also guards a PNG kept byte for byte.
  const input = sharp(modelImage, {
    failOn: FAIL_ON,
    autoOrient: true,
    limitInputPixels: MAX_MODEL_IMAGE_PIXELS,
  });
  let width: number;
  let height: number;
  let keepMain: boolean;
  let hasAlpha: boolean;
  try {
    const metadata = await input.metadata();
    ({ width, height } = metadata.autoOrient);
    hasAlpha = metadata.hasAlpha;
    keepMain =
      spec.format === 'png' &&
      metadata.format === 'png' &&
      (metadata.orientation ?? 1) === 1 &&
      metadata.depth === 'uchar' &&
      isContainerComplete(modelImage, 'png');
  } catch (cause) {
    throw undecodable(modelImage.length, cause);
  }

  const widths = [...new Set(spec.renditions)].filter((w) => w < width);
  const skippedRenditions = [...new Set(spec.renditions)]
    .filter((w) => w >= width)
    .map((w) => ({
      renditionWidth: w,
      reason: `the output is ${width} px wide; a rendition is never upscaled or a copy of it`,
    }));
  try {
    const [thumbnail, main, ...renditions] = await Promise.all([
      needsThumbnail(width, height) ? thumbnailOf(input) : Promise.resolve(undefined),
      keepMain
        ? Promise.resolve<EncodedImage>({
            bytes: modelImage,
            mimeType: MIME_TYPES.png,
            extension: EXTENSIONS.png,
            width,
            height,
          })
        : run(encoder(input.clone(), spec, hasAlpha), spec),
      ...widths.map((w) =>
        run(encoder(input.clone().resize({ width: w }), spec, hasAlpha), spec, w),
      ),
    ]);
    if (main === undefined) throw new Error('unreachable: main output missing');
    return { main, renditions, skippedRenditions, ...(thumbnail ? { thumbnail } : {}) };
  } catch (cause) {
    throw undecodable(modelImage.length, cause);
  }
}
