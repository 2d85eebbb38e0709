import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BananaError, type ErrorCode } from '../../shared/errors.ts';
import { type PrepareInputOptions, prepareInput } from '../../shared/imaging/prepare-input.ts';
import {
  animated,
  bmp,
  encoded,
  heic,
  jpegBomb,
  pixelAt,
  pngBomb,
  truncate,
} from './generated-images.ts';

const FLASH_MIME_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
const PRO_MIME_TYPES = [...FLASH_MIME_TYPES, 'image/heic', 'image/heif'] as const;

function options(overrides: Partial<PrepareInputOptions> = {}): PrepareInputOptions {
  return {
    name: 'drop/photo.jpg',
    maxPixels: 50_000_000,
    longEdgePx: 1536,
    acceptedMimeTypes: FLASH_MIME_TYPES,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<BananaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BananaError);
  return error as BananaError;
}

describe('prepareInput: images the model accepts as they are', () => {
  const cases: { label: string; make: () => Promise<Buffer>; mimeType: string }[] = [
    { label: 'sRGB JPEG', make: () => encoded(64, 48, (i) => i.jpeg()), mimeType: 'image/jpeg' },
    { label: 'PNG', make: () => encoded(64, 48, (i) => i.png()), mimeType: 'image/png' },
    {
      label: 'PNG with alpha',
      make: () => encoded(64, 48, (i) => i.png(), true),
      mimeType: 'image/png',
    },
    { label: 'WebP', make: () => encoded(64, 48, (i) => i.webp()), mimeType: 'image/webp' },
    {
      label: 'greyscale PNG',
      make: () => encoded(64, 48, (i) => i.toColourspace('b-w').png()),
      mimeType: 'image/png',
    },
    {
      label: 'JPEG with EXIF orientation 1',
      make: () => encoded(64, 48, (i) => i.withMetadata({ orientation: 1 }).jpeg()),
      mimeType: 'image/jpeg',
    },
  ];

  it.each(cases)('passes a small $label through byte for byte', async ({ make, mimeType }) => {
    const bytes = await make();
    const prepared = await prepareInput(bytes, options());
    expect(prepared.conversions).toEqual([]);
    expect(prepared.image.mimeType).toBe(mimeType);
    expect(prepared.image.bytes.equals(bytes)).toBe(true);
    expect([prepared.width, prepared.height]).toEqual([64, 48]);
    expect(prepared.original.bytes).toBe(bytes.length);
  });
});

interface ConversionCase {
  label: string;
  make: () => Promise<Buffer>;
  options?: Partial<PrepareInputOptions>;
  mimeType: string;
  size: [number, number];
  conversions: string[];
  /** Checked on what is sent, as sharp reads it back. */
  hasAlpha?: boolean;
  original?: Record<string, unknown>;
}

describe('prepareInput: conversions', () => {
  const cases: ConversionCase[] = [
    {
      label: 'AVIF (not accepted) becomes JPEG',
      make: () => encoded(64, 48, (i) => i.avif()),
      mimeType: 'image/jpeg',
      size: [64, 48],
      conversions: ['re-encoded avif as jpeg (the model does not accept image/avif)'],
      hasAlpha: false,
      original: { format: 'avif', mimeType: 'image/avif' },
    },
    {
      label: 'AVIF with alpha becomes PNG with alpha',
      make: () => encoded(64, 48, (i) => i.avif(), true),
      mimeType: 'image/png',
      size: [64, 48],
      conversions: ['re-encoded avif as png (the model does not accept image/avif)'],
      hasAlpha: true,
    },
    {
      label: 'TIFF becomes JPEG',
      make: () => encoded(64, 48, (i) => i.tiff({ compression: 'lzw' })),
      mimeType: 'image/jpeg',
      size: [64, 48],
      conversions: ['re-encoded tiff as jpeg (the model does not accept image/tiff)'],
      hasAlpha: false,
    },
    {
      label: 'TIFF with alpha becomes PNG with alpha',
      make: () => encoded(64, 48, (i) => i.tiff({ compression: 'lzw' }), true),
      mimeType: 'image/png',
      size: [64, 48],
      conversions: ['re-encoded tiff as png (the model does not accept image/tiff)'],
      hasAlpha: true,
    },
    {
      label: 'animated GIF becomes its first frame as PNG',
      make: () => animated('gif'),
      mimeType: 'image/png',
      size: [20, 10],
      conversions: [
        'first frame of an animated GIF (3 frames)',
        're-encoded gif as png (the model does not accept image/gif)',
      ],
      original: { pages: 3, format: 'gif' },
    },
    {
      label: 'animated WebP (accepted) becomes its first frame as WebP',
      make: () => animated('webp'),
      mimeType: 'image/webp',
      size: [20, 10],
      conversions: ['first frame of an animated WEBP (3 frames)'],
      original: { pages: 3 },
    },
    {
      label: 'CMYK JPEG becomes sRGB JPEG',
      make: () => encoded(64, 48, (i) => i.toColourspace('cmyk').jpeg()),
      mimeType: 'image/jpeg',
      size: [64, 48],
      conversions: ['converted CMYK to sRGB'],
      original: { space: 'cmyk' },
    },
    {
      label: '16-bit PNG becomes 8-bit PNG',
      make: () => encoded(64, 48, (i) => i.toColourspace('rgb16').png()),
      mimeType: 'image/png',
      size: [64, 48],
      conversions: ['16-bit reduced to 8-bit'],
      hasAlpha: false,
      original: { depth: 'ushort', space: 'rgb16' },
    },
    {
      label: '16-bit PNG with alpha keeps alpha',
      make: () => encoded(64, 48, (i) => i.toColourspace('rgb16').png(), true),
      mimeType: 'image/png',
      size: [64, 48],
      conversions: ['16-bit reduced to 8-bit'],
      hasAlpha: true,
    },
    {
      label: 'EXIF orientation 6 is applied (dimensions swap)',
      make: () => encoded(64, 48, (i) => i.withMetadata({ orientation: 6 }).jpeg()),
      mimeType: 'image/jpeg',
      size: [48, 64],
      conversions: ['auto-oriented from EXIF 6'],
      original: { width: 64, height: 48, orientation: 6 },
    },
    {
      label: 'oversize JPEG is downscaled, aspect kept',
      make: () => encoded(3000, 2000, (i) => i.jpeg()),
      mimeType: 'image/jpeg',
      size: [1536, 1024],
      conversions: ['downscaled 3000x2000 -> 1536x1024'],
    },
    {
      label: 'oversize PNG with alpha stays PNG with alpha',
      make: () => encoded(400, 100, (i) => i.png(), true),
      options: { longEdgePx: 200 },
      mimeType: 'image/png',
      size: [200, 50],
      conversions: ['downscaled 400x100 -> 200x50'],
      hasAlpha: true,
    },
    {
      label: 'rotation then downscale, on the displayed size',
      make: () => encoded(400, 100, (i) => i.withMetadata({ orientation: 6 }).jpeg()),
      options: { longEdgePx: 200 },
      mimeType: 'image/jpeg',
      size: [50, 200],
      conversions: ['auto-oriented from EXIF 6', 'downscaled 100x400 -> 50x200'],
    },
  ];

  it.each(cases)('$label', async (c) => {
    const bytes = await c.make();
    const prepared = await prepareInput(bytes, options(c.options));
    expect(prepared.conversions).toEqual(c.conversions);
    expect(prepared.image.mimeType).toBe(c.mimeType);
    expect([prepared.width, prepared.height]).toEqual(c.size);
    expect(prepared.image.bytes.equals(bytes)).toBe(false);
    if (c.original !== undefined) expect(prepared.original).toMatchObject(c.original);

    // What is sent really is what the result says: read it back.
    const sent = await sharp(prepared.image.bytes).metadata();
    expect(sent.mediaType).toBe(c.mimeType);
    expect([sent.width, sent.height]).toEqual(c.size);
    expect(sent.depth).toBe('uchar');
    expect(['srgb', 'b-w']).toContain(sent.space);
    expect(sent.pages ?? 1).toBe(1);
    expect(sent.orientation ?? 1).toBe(1);
    if (c.hasAlpha !== undefined) expect(sent.hasAlpha).toBe(c.hasAlpha);
  });

  it('rotates pixels, not only dimensions: the top-left marker ends top-right for EXIF 6', async () => {
    const bytes = await encoded(64, 48, (i) => i.withMetadata({ orientation: 6 }).jpeg());
    const prepared = await prepareInput(bytes, options());
    const [r, g, b] = await pixelAt(prepared.image.bytes, 48 - 4, 4);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(60);
  });

  it('keeps the first frame of an animated GIF (red), not a later one', async () => {
    const prepared = await prepareInput(await animated('gif'), options());
    const [r, g, b] = await pixelAt(prepared.image.bytes, 10, 5);
    expect([r, g, b]).toEqual([255, 0, 0]);
  });

  it('never upscales: a small image with a large long-edge limit keeps its size', async () => {
    const bytes = await encoded(64, 48, (i) => i.tiff({ compression: 'lzw' }));
    const prepared = await prepareInput(bytes, options({ longEdgePx: 4096 }));
    expect([prepared.width, prepared.height]).toEqual([64, 48]);
  });
});

interface ErrorCase {
  label: string;
  make: () => Promise<Buffer> | Buffer;
  options?: Partial<PrepareInputOptions>;
  code: ErrorCode;
  details?: Record<string, unknown>;
}

describe('prepareInput: refusals', () => {
  const cases: ErrorCase[] = [
    { label: 'zero bytes', make: () => Buffer.alloc(0), code: 'INPUT_EMPTY' },
    {
      label: 'text named .jpg',
      make: () => Buffer.from('this is a text file, not a JPEG\n'),
      code: 'INPUT_NOT_IMAGE',
    },
    {
      label: 'an SVG drawing',
      make: () =>
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'),
      code: 'INPUT_NOT_IMAGE',
      details: { format: 'svg' },
    },
    {
      label: 'a BMP (an image, but not a format we read)',
      make: bmp,
      code: 'INPUT_NOT_IMAGE',
      details: { format: 'bmp' },
    },
    {
      label: 'HEIC for a model that does not accept it (no HEVC decoder)',
      make: () => heic(),
      code: 'INPUT_NOT_IMAGE',
      details: { format: 'heic', reason: 'heic-decoder-unavailable' },
    },
    {
      label: 'HEIC that must be downscaled for a model that accepts it',
      make: () => heic(),
      options: { acceptedMimeTypes: PRO_MIME_TYPES, longEdgePx: 32 },
      code: 'INPUT_NOT_IMAGE',
      details: { format: 'heic' },
    },
    {
      label: 'PNG decompression bomb (30000x30000 declared in 90 bytes)',
      make: () => pngBomb(30_000, 30_000),
      code: 'INPUT_TOO_MANY_PIXELS',
      details: { width: 30_000, height: 30_000, maxPixels: 50_000_000, format: 'png' },
    },
    {
      label: 'JPEG decompression bomb (60000x60000 declared)',
      make: () => jpegBomb(60_000, 60_000),
      code: 'INPUT_TOO_MANY_PIXELS',
      details: { width: 60_000, height: 60_000 },
    },
    {
      label: 'an honest image just over maxPixels',
      make: () => encoded(101, 100, (i) => i.png()),
      options: { maxPixels: 10_000 },
      code: 'INPUT_TOO_MANY_PIXELS',
      details: { pixels: 10_100 },
    },
    {
      label: 'truncated JPEG that would pass through untouched',
      make: async () => truncate(await encoded(64, 48, (i) => i.jpeg()), 0.6),
      code: 'INPUT_CORRUPT',
      details: { format: 'jpeg' },
    },
    {
      label: 'truncated JPEG that must be decoded (downscaled)',
      make: async () => truncate(await encoded(300, 200, (i) => i.jpeg()), 0.6),
      options: { longEdgePx: 100 },
      code: 'INPUT_CORRUPT',
    },
    {
      label: 'truncated JPEG that must be decoded (rotated)',
      make: async () =>
        truncate(await encoded(64, 48, (i) => i.withMetadata({ orientation: 6 }).jpeg()), 0.7),
      code: 'INPUT_CORRUPT',
    },
    {
      label: 'truncated PNG',
      make: async () => truncate(await encoded(64, 48, (i) => i.png()), 0.6),
      code: 'INPUT_CORRUPT',
    },
    {
      label: 'truncated WebP',
      make: async () => truncate(await encoded(64, 48, (i) => i.webp()), 0.6),
      code: 'INPUT_CORRUPT',
    },
    {
      label: 'truncated TIFF (converted, so decoded)',
      make: async () => truncate(await encoded(64, 48, (i) => i.tiff({ compression: 'lzw' })), 0.6),
      code: 'INPUT_CORRUPT',
    },
    {
      label: 'PNG signature followed by garbage',
      make: async () => {
        const png = await encoded(64, 48, (i) => i.png());
        return Buffer.concat([png.subarray(0, 8), Buffer.alloc(64, 0x41)]);
      },
      code: 'INPUT_CORRUPT',
    },
  ];

  it.each(cases)('$label -> $code', async (c) => {
    const name = 'drop/sub/photo.jpg';
    const error = await rejection(prepareInput(await c.make(), options({ name, ...c.options })));
    expect(error.code).toBe(c.code);
    expect(error.message).toContain(name);
    expect(error.fix).toBeTruthy();
    expect(error.retryable).toBe(false);
    expect(error.details).toMatchObject({ file: name, ...c.details });
  });

  it('sends HEIC untouched to a model that accepts it when nothing needs changing', async () => {
    const bytes = await heic(64, 48);
    const prepared = await prepareInput(bytes, options({ acceptedMimeTypes: PRO_MIME_TYPES }));
    expect(prepared.image).toEqual({ mimeType: 'image/heic', bytes });
    expect(prepared.conversions).toEqual([]);
    expect(prepared.original).toMatchObject({ format: 'heic', width: 64, height: 48 });
  });

  it('a header that claims more pixels than its data holds fails as corrupt when decoded', async () => {
    // Under maxPixels, but the longEdge forces a decode: the 1x1 payload cannot fill 2000x2000.
    const error = await rejection(
      prepareInput(await pngBomb(2000, 2000), options({ longEdgePx: 100 })),
    );
    expect(error.code).toBe('INPUT_CORRUPT');
  });
});
