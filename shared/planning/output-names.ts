import { posix } from 'node:path';
import { OUTPUT_EXTENSIONS, type OutputFormat } from '../sidecar/sidecar-schema.ts';

/**
 * Output names mirror the input folders and stay readable: `shoot/cat.edit.3f2a1b9c.png`.
 * The job id's prefix makes them unique, so an output is never overwritten and a changed
 * input or sidecar gives a new file beside the old one.
 */

const MAX_STEM = 80;
/**
 * Also a byte cap: 80 letters of a non-Latin script are up to 320 bytes of UTF-8, and a file name
 * (one path segment) is limited to 255 bytes locally. With the longest label (64), variant, id and
 * suffix (`.error.json`), a name part of 100 bytes keeps every output name under 200 bytes.
 */
const MAX_STEM_BYTES = 100;

/** Keeps letters and digits of any script; anything else becomes '_'. */
export function safeNamePart(text: string): string {
  const cleaned = text
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}._ -]+/gu, '_')
    .replace(/\s+/g, '-')
    .replace(/_+/g, '_')
    .replace(/^[._-]+/, '');
  return truncate(cleaned, MAX_STEM, MAX_STEM_BYTES) || 'image';
}

/** At most `chars` code points and `bytes` UTF-8 bytes, never splitting a character. */
function truncate(text: string, chars: number, bytes: number): string {
  let out = '';
  let count = 0;
  let size = 0;
  for (const char of text) {
    size += Buffer.byteLength(char);
    if (++count > chars || size > bytes) break;
    out += char;
  }
  return out;
}

export function stemOf(name: string): string {
  const base = posix.basename(name);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

export function outputBase(parts: {
  folder: string;
  stem: string;
  label: string;
  variant: number;
  variants: number;
  jobId: string;
}): string {
  const label = parts.label ? `.${safeNamePart(parts.label)}` : '';
  const variant = parts.variants > 1 ? `.v${parts.variant}` : '';
  return `${parts.folder}${safeNamePart(parts.stem)}${label}${variant}.${parts.jobId.slice(0, 8)}`;
}

/**
 * The small WebP preview written beside an output image (`cat.edit.3f2a1b9c.png.thumb.webp`), so
 * the run report copies a few KiB instead of decoding the full image.
 */
export function thumbnailNameOf(imageName: string): string {
  return `${imageName}.thumb.webp`;
}

/** Names of everything a job writes, derived from its base. */
export function outputNames(base: string, format: OutputFormat) {
  const ext = OUTPUT_EXTENSIONS[format];
  return {
    image: `${base}.${ext}`,
    thumbnail: thumbnailNameOf(`${base}.${ext}`),
    metadata: `${base}.${ext}.json`,
    error: `${base}.error.json`,
    rendition: (width: number) => `${base}.w${width}.${ext}`,
  };
}
