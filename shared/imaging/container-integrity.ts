/**
 * Cheap structural checks that catch truncated files without decoding their pixels.
 *
 * Why: an input that needs no change is passed to the model byte for byte, so sharp never decodes
 * it and its `failOn` never fires. An interrupted upload (the common kind of damage) cuts the file
 * short; walking the container's segments finds that in microseconds. Damage inside the
 * compressed data of a complete file is not detected here (that needs a full decode).
 */

/** JPEG: walk the marker segments to the End Of Image marker, skipping entropy-coded scans. */
function jpegComplete(b: Buffer): boolean {
  const n = b.length;
  if (n < 4 || b[0] !== 0xff || b[1] !== 0xd8) return false;
  let p = 2;
  while (p + 1 < n) {
    if (b[p] !== 0xff) return false;
    const marker = b[p + 1] ?? 0;
    if (marker === 0xff) {
      p += 1; // fill byte before a marker
      continue;
    }
    if (marker === 0xd9) return true; // EOI: anything after it (trailers, motion photos) is extra
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2; // markers without a length
      continue;
    }
    if (p + 4 > n) return false;
    const length = b.readUInt16BE(p + 2);
    if (length < 2) return false;
    p += 2 + length;
    if (p > n) return false;
    if (marker !== 0xda) continue;
    // Start Of Scan: compressed data follows until the next marker that is neither a stuffed
    // 0xFF00 nor a restart marker (progressive files have many scans, so keep walking).
    for (;;) {
      const ff = b.indexOf(0xff, p);
      if (ff < 0 || ff + 1 >= n) return false;
      const next = b[ff + 1] ?? 0;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
        p = ff + 2;
      } else if (next === 0xff) {
        p = ff + 1;
      } else {
        p = ff;
        break;
      }
    }
  }
  return false;
}

/** PNG: walk the chunks (length, type, data, CRC) to IEND. */
function pngComplete(b: Buffer): boolean {
  let p = 8;
  while (p + 12 <= b.length) {
    const length = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    p += 12 + length;
    if (p > b.length) return false;
    if (type === 'IEND') return true;
  }
  return false;
}

/** WebP: the RIFF header states the size of the rest of the file. */
function webpComplete(b: Buffer): boolean {
  return b.length >= 12 && b.readUInt32LE(4) + 8 <= b.length;
}

/** HEIF/AVIF (ISO BMFF): every top-level box must fit inside the file. */
function isoBmffComplete(b: Buffer): boolean {
  let p = 0;
  while (p + 8 <= b.length) {
    let size = b.readUInt32BE(p);
    if (size === 0) return true; // box runs to the end of the file
    if (size === 1) {
      if (p + 16 > b.length) return false;
      size = Number(b.readBigUInt64BE(p + 8));
    }
    if (size < 8) return false;
    p += size;
  }
  return p === b.length;
}

/**
 * False when the file's container structure shows it was cut short (or is malformed).
 * `format` is sharp's format name; formats without a check here (gif, tiff) count as complete.
 */
export function isContainerComplete(bytes: Buffer, format: string): boolean {
  switch (format) {
    case 'jpeg':
      return jpegComplete(bytes);
    case 'png':
      return pngComplete(bytes);
    case 'webp':
      return webpComplete(bytes);
    case 'heif':
      return isoBmffComplete(bytes);
    default:
      return true;
  }
}
