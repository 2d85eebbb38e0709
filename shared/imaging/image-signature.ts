/**
 * Recognises image files by their first bytes ("magic numbers"). sharp tells us what it can
 * decode; this tells us what a file claims to be when sharp cannot, so that an error can say
 * "a damaged PNG" or "a BMP, which is not supported" instead of "not an image", without ever
 * reading sharp's error text.
 */

export const SNIFFED_FORMATS = [
  'jpeg',
  'png',
  'gif',
  'webp',
  'tiff',
  'avif',
  'heic',
  'heif',
  'bmp',
  'psd',
  'jxl',
  'jp2',
] as const;
export type SniffedFormat = (typeof SNIFFED_FORMATS)[number];

/** Formats this pipeline decodes with the prebuilt sharp (HEIC is listed apart: see heic). */
const DECODABLE: ReadonlySet<SniffedFormat> = new Set([
  'jpeg',
  'png',
  'gif',
  'webp',
  'tiff',
  'avif',
]);

export interface SniffedType {
  format: SniffedFormat;
  /** True when the format is one this pipeline reads, so a failure to read it means damage. */
  decodable: boolean;
}

// ISO BMFF brands (ftyp box) of the HEIF family; AVIF is HEIF with AV1 inside.
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2']);

function startsWith(bytes: Buffer, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((byte, i) => bytes[offset + i] === byte);
}

function ascii(bytes: Buffer, start: number, end: number): string {
  return bytes.length >= end ? bytes.toString('latin1', start, end) : '';
}

/** The ftyp brands (major first, then compatible ones) of an ISO BMFF file, or none. */
function ftypBrands(bytes: Buffer): string[] {
  if (ascii(bytes, 4, 8) !== 'ftyp' || bytes.length < 16) return [];
  const boxSize = Math.min(bytes.readUInt32BE(0), bytes.length);
  const brands = [ascii(bytes, 8, 12)];
  for (let p = 16; p + 4 <= boxSize; p += 4) brands.push(ascii(bytes, p, p + 4));
  return brands;
}

function sniffFormat(bytes: Buffer): SniffedFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  const head6 = ascii(bytes, 0, 6);
  if (head6 === 'GIF87a' || head6 === 'GIF89a') return 'gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return 'tiff';
  }
  const brands = ftypBrands(bytes);
  if (brands.some((b) => AVIF_BRANDS.has(b))) return 'avif';
  if (brands.some((b) => HEIC_BRANDS.has(b))) return 'heic';
  if (brands.some((b) => HEIF_BRANDS.has(b))) return 'heif';
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 26) return 'bmp';
  if (ascii(bytes, 0, 4) === '8BPS') return 'psd';
  if (startsWith(bytes, [0xff, 0x0a]) || ascii(bytes, 4, 8) === 'JXL ') return 'jxl';
  if (ascii(bytes, 4, 8) === 'jP  ' || startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) return 'jp2';
  return undefined;
}

/** What the first bytes say the file is, or undefined when they match no known image format. */
export function sniffImageType(bytes: Buffer): SniffedType | undefined {
  const format = sniffFormat(bytes);
  return format === undefined ? undefined : { format, decodable: DECODABLE.has(format) };
}
