import sharp, { type Sharp } from 'sharp';

/**
 * Tiny test images, generated with sharp (or patched byte by byte where sharp cannot write the
 * awkward thing: a decompression bomb, a HEIC). Nothing is read from disk.
 */

export const RED = { r: 255, g: 0, b: 0 } as const;
export const GREEN = { r: 0, g: 255, b: 0 } as const;
export const BLUE = { r: 0, g: 0, b: 255 } as const;

type Rgb = { r: number; g: number; b: number };

/**
 * A grey canvas with a red square in the top-left corner, so orientation and cropping can be
 * checked by reading pixels. `alpha` makes the canvas half transparent (the square stays opaque).
 */
export function canvas(width: number, height: number, alpha = false): Sharp {
  const marker = Math.max(1, Math.floor(Math.min(width, height) / 4));
  return sharp({
    create: {
      width,
      height,
      channels: alpha ? 4 : 3,
      background: alpha ? { r: 128, g: 128, b: 128, alpha: 0.5 } : { r: 128, g: 128, b: 128 },
    },
  }).composite([
    {
      input: {
        create: { width: marker, height: marker, channels: 4, background: { ...RED, alpha: 1 } },
      },
      top: 0,
      left: 0,
    },
  ]);
}

/** Encodes a canvas; sharp applies composites only at output, so build in two steps. */
export async function encoded(
  width: number,
  height: number,
  to: (image: Sharp) => Sharp,
  alpha = false,
): Promise<Buffer> {
  const flat = await canvas(width, height, alpha).png().toBuffer();
  // Compositing adds an alpha channel; drop it again for an opaque image.
  const base = alpha ? sharp(flat) : sharp(flat).removeAlpha();
  return to(base).toBuffer();
}

export function solid(width: number, height: number, colour: Rgb): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/** An animated image of three solid frames: red, green, blue. */
export async function animated(format: 'gif' | 'webp', width = 20, height = 10): Promise<Buffer> {
  const frames = await Promise.all([RED, GREEN, BLUE].map((c) => solid(width, height, c)));
  const joined = sharp(frames, { join: { animated: true } });
  return (format === 'gif' ? joined.gif() : joined.webp({ lossless: true })).toBuffer();
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A valid 1x1 PNG whose IHDR then claims width x height (CRC fixed): a decompression bomb. */
export async function pngBomb(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await solid(1, 1, RED));
  // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4) ... CRC after 13 data bytes.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

/** A small baseline JPEG whose SOF0 header claims width x height. */
export async function jpegBomb(width: number, height: number): Promise<Buffer> {
  const jpeg = Buffer.from(
    await sharp(await solid(8, 8, RED))
      .jpeg()
      .toBuffer(),
  );
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  if (sof < 0) throw new Error('no SOF0 marker in the generated JPEG');
  jpeg.writeUInt16BE(height, sof + 5);
  jpeg.writeUInt16BE(width, sof + 7);
  return jpeg;
}

/**
 * A HEIC file: an AVIF whose AV1 item is relabelled HEVC ('hvc1' with an 'hvcC' config box),
 * boxes resized to match. The header is a valid HEIC; the payload is not HEVC, which does not
 * matter here because the prebuilt libvips has no HEVC decoder to try it.
 */
export async function heic(width = 64, height = 48): Promise<Buffer> {
  const avif = await sharp(await solid(width, height, RED))
    .avif()
    .toBuffer();
  return relabelAvifAsHeic(avif);
}

function findBox(bytes: Buffer, type: string, from: number, to: number): number {
  let p = from;
  while (p + 8 <= to) {
    if (bytes.toString('latin1', p + 4, p + 8) === type) return p;
    p += bytes.readUInt32BE(p);
  }
  throw new Error(`box ${type} not found`);
}

function relabelAvifAsHeic(avif: Buffer): Buffer {
  const meta = findBox(avif, 'meta', 0, avif.length);
  const metaEnd = meta + avif.readUInt32BE(meta);
  const iprp = findBox(avif, 'iprp', meta + 12, metaEnd);
  const ipco = findBox(avif, 'ipco', iprp + 8, iprp + avif.readUInt32BE(iprp));
  const av1C = findBox(avif, 'av1C', ipco + 8, ipco + avif.readUInt32BE(ipco));
  const av1CSize = avif.readUInt32BE(av1C);
  // HEVCDecoderConfigurationRecord: 23 bytes, version 1, Main profile, no parameter-set arrays.
  const record = [
    [1, 0x01], // version, profile space/tier/idc (Main)
    [0x60, 0, 0, 0], // profile compatibility flags
    [0x90, 0, 0, 0, 0, 0], // constraint flags
    [0x5a, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8], // level, segmentation, parallelism, 4:2:0, 8-bit
    [0, 0, 0x0f, 0], // frame rate, length size, no arrays
  ].flat();
  const hvcC = Buffer.concat([Buffer.alloc(4), Buffer.from('hvcC', 'latin1'), Buffer.from(record)]);
  hvcC.writeUInt32BE(hvcC.length, 0);
  const delta = hvcC.length - av1CSize;
  const out = Buffer.concat([avif.subarray(0, av1C), hvcC, avif.subarray(av1C + av1CSize)]);
  for (const box of [meta, iprp, ipco]) out.writeUInt32BE(avif.readUInt32BE(box) + delta, box);
  // The iloc extent offset points into mdat, which moved by delta (sharp writes 4-byte offsets).
  const iloc = findBox(out, 'iloc', meta + 12, metaEnd + delta);
  const ilocEnd = iloc + out.readUInt32BE(iloc);
  out.writeUInt32BE(out.readUInt32BE(ilocEnd - 8) + delta, ilocEnd - 8);
  // Brands and item type.
  const ftypSize = out.readUInt32BE(0);
  out.write(out.toString('latin1', 0, ftypSize).replaceAll('avif', 'heic'), 0, 'latin1');
  const item = out.indexOf('av01', meta, 'latin1');
  out.write('hvc1', item, 'latin1');
  return out;
}

/** A 2x2 24-bit BMP: a real image format that this pipeline does not read. */
export function bmp(): Buffer {
  const rowBytes = 8; // 2 pixels x 3 bytes, padded to 4
  const pixels = Buffer.alloc(rowBytes * 2, 0x80);
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + pixels.length, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(2, 18);
  header.writeInt32LE(2, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeUInt32LE(pixels.length, 34);
  return Buffer.concat([header, pixels]);
}

/** The first `fraction` of the bytes: an upload cut short. */
export function truncate(bytes: Buffer, fraction: number): Buffer {
  return Buffer.from(bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

/** RGB(A) of one pixel, decoded by sharp. */
export async function pixelAt(bytes: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const start = (y * info.width + x) * info.channels;
  return [...data.subarray(start, start + info.channels)];
}
