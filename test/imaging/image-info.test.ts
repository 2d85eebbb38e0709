import { describe, expect, it } from 'vitest';
import { BananaError } from '../../shared/errors.ts';
import { isContainerComplete } from '../../shared/imaging/container-integrity.ts';
import { readImageSize } from '../../shared/imaging/image-info.ts';
import { sniffImageType } from '../../shared/imaging/image-signature.ts';
import { animated, bmp, encoded, heic, pngBomb, truncate } from './generated-images.ts';

describe('readImageSize', () => {
  const cases = [
    {
      label: 'JPEG',
      make: () => encoded(64, 48, (i) => i.jpeg()),
      size: { width: 64, height: 48, format: 'jpeg', mimeType: 'image/jpeg' },
    },
    {
      label: 'EXIF-rotated JPEG (displayed size)',
      make: () => encoded(64, 48, (i) => i.withMetadata({ orientation: 6 }).jpeg()),
      size: { width: 48, height: 64, format: 'jpeg' },
    },
    {
      label: 'AVIF',
      make: () => encoded(64, 48, (i) => i.avif()),
      size: { width: 64, height: 48, format: 'avif', mimeType: 'image/avif' },
    },
    {
      label: 'HEIC (header only: readable without a decoder)',
      make: () => heic(64, 48),
      size: { width: 64, height: 48, format: 'heic', mimeType: 'image/heic' },
    },
    {
      label: 'animated GIF (one frame)',
      make: () => animated('gif'),
      size: { width: 20, height: 10, format: 'gif' },
    },
    {
      label: 'decompression bomb (header only, no limit applied)',
      make: () => pngBomb(30_000, 30_000),
      size: { width: 30_000, height: 30_000, format: 'png' },
    },
  ];

  it.each(cases)('$label', async ({ make, size }) => {
    expect(await readImageSize(await make())).toMatchObject(size);
  });

  it.each([
    { label: 'empty', bytes: Buffer.alloc(0), code: 'INPUT_EMPTY' },
    { label: 'text', bytes: Buffer.from('hello'), code: 'INPUT_NOT_IMAGE' },
    { label: 'BMP', bytes: bmp(), code: 'INPUT_NOT_IMAGE' },
  ])('refuses $label with $code naming the file', async ({ bytes, code }) => {
    const error = await readImageSize(bytes, 'in/a.png').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BananaError);
    expect((error as BananaError).code).toBe(code);
    expect((error as BananaError).message).toContain('in/a.png');
  });
});

describe('sniffImageType', () => {
  it.each([
    { label: 'jpeg', make: () => encoded(8, 8, (i) => i.jpeg()), format: 'jpeg', decodable: true },
    { label: 'png', make: () => encoded(8, 8, (i) => i.png()), format: 'png', decodable: true },
    { label: 'webp', make: () => encoded(8, 8, (i) => i.webp()), format: 'webp', decodable: true },
    { label: 'gif', make: () => encoded(8, 8, (i) => i.gif()), format: 'gif', decodable: true },
    { label: 'tiff', make: () => encoded(8, 8, (i) => i.tiff()), format: 'tiff', decodable: true },
    { label: 'avif', make: () => encoded(8, 8, (i) => i.avif()), format: 'avif', decodable: true },
    { label: 'heic', make: () => heic(8, 8), format: 'heic', decodable: false },
    { label: 'bmp', make: async () => bmp(), format: 'bmp', decodable: false },
  ])('$label', async ({ make, format, decodable }) => {
    expect(sniffImageType(await make())).toEqual({ format, decodable });
  });

  it('does not recognise text', () => {
    expect(sniffImageType(Buffer.from('GIF is a nice format'))).toBeUndefined();
  });
});

describe('isContainerComplete', () => {
  const formats = [
    { format: 'jpeg', make: () => encoded(64, 48, (i) => i.jpeg()) },
    { format: 'jpeg', make: () => encoded(64, 48, (i) => i.jpeg({ progressive: true })) },
    {
      format: 'jpeg',
      make: () => encoded(64, 48, (i) => i.withMetadata({ orientation: 3 }).jpeg()),
    },
    { format: 'png', make: () => encoded(64, 48, (i) => i.png()) },
    { format: 'webp', make: () => encoded(64, 48, (i) => i.webp()) },
    { format: 'heif', make: () => encoded(64, 48, (i) => i.avif()) },
  ];

  it.each(formats)('$format: complete, with trailing bytes, and cut at any point', async (c) => {
    const bytes = await c.make();
    expect(isContainerComplete(bytes, c.format)).toBe(true);
    if (c.format === 'jpeg' || c.format === 'png') {
      // Data after the end marker (camera trailers, motion photos) does not make it incomplete.
      expect(isContainerComplete(Buffer.concat([bytes, Buffer.alloc(16, 7)]), c.format)).toBe(true);
    }
    for (const fraction of [0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
      expect(isContainerComplete(truncate(bytes, fraction), c.format), `cut at ${fraction}`).toBe(
        false,
      );
    }
    // The last byte matters too.
    expect(isContainerComplete(bytes.subarray(0, bytes.length - 1), c.format)).toBe(false);
  });
});
