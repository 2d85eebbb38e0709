import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BananaError } from '../../shared/errors.ts';
import { encodeOutput, extensionFor, mimeTypeFor } from '../../shared/imaging/encode-output.ts';
import { OUTPUT_FORMATS } from '../../shared/sidecar/sidecar-schema.ts';
import { encoded, pixelAt, pngBomb, truncate } from './generated-images.ts';

const EXPECTED = {
  png: { mimeType: 'image/png', extension: 'png' },
  jpeg: { mimeType: 'image/jpeg', extension: 'jpg' },
  webp: { mimeType: 'image/webp', extension: 'webp' },
  avif: { mimeType: 'image/avif', extension: 'avif' },
} as const;

describe('mimeTypeFor / extensionFor', () => {
  it.each(OUTPUT_FORMATS)('%s', (format) => {
    expect(mimeTypeFor(format)).toBe(EXPECTED[format].mimeType);
    expect(extensionFor(format)).toBe(EXPECTED[format].extension);
  });
});

describe('encodeOutput', () => {
  const cases = OUTPUT_FORMATS.flatMap((format) =>
    [false, true].map((alpha) => ({ format, alpha, label: alpha ? 'with alpha' : 'opaque' })),
  );

  it.each(cases)('$format from a $label model PNG, with renditions', async ({ format, alpha }) => {
    const model = await encoded(64, 48, (i) => i.png(), alpha);
    // 32 twice (made once), 16, and 64 / 200 (not below the width: skipped, never upscaled).
    const out = await encodeOutput(model, {
      format,
      quality: 80,
      renditions: [32, 64, 16, 200, 32],
    });

    const all = [out.main, ...out.renditions];
    expect(out.renditions.map((r) => r.renditionWidth)).toEqual([32, 16]);
    expect(all.map((r) => [r.width, r.height])).toEqual([
      [64, 48],
      [32, 24],
      [16, 12],
    ]);
    expect(out.main.renditionWidth).toBeUndefined();
    for (const image of all) {
      expect(image.mimeType).toBe(EXPECTED[format].mimeType);
      expect(image.extension).toBe(EXPECTED[format].extension);
      const meta = await sharp(image.bytes).metadata();
      expect(meta.mediaType).toBe(EXPECTED[format].mimeType);
      expect([meta.width, meta.height]).toEqual([image.width, image.height]);
      // JPEG has no alpha; every other format keeps it.
      expect(meta.hasAlpha).toBe(alpha && format !== 'jpeg');
    }
  });

  it('keeps a PNG asked for as PNG byte for byte (lossless anyway; keeps every chunk)', async () => {
    const model = await encoded(64, 48, (i) => i.png());
    const out = await encodeOutput(model, { format: 'png', quality: 90, renditions: [] });
    expect(out.main.bytes.equals(model)).toBe(true);
    expect(out.renditions).toEqual([]);
  });

  it('re-encodes a JPEG model output asked for as PNG', async () => {
    const model = await encoded(64, 48, (i) => i.jpeg());
    const out = await encodeOutput(model, { format: 'png', quality: 90, renditions: [20] });
    expect((await sharp(out.main.bytes).metadata()).format).toBe('png');
    expect([out.renditions[0]?.width, out.renditions[0]?.height]).toEqual([20, 15]);
  });

  it('flattens transparency onto white for JPEG', async () => {
    const model = await encoded(64, 48, (i) => i.png(), true);
    const out = await encodeOutput(model, { format: 'jpeg', quality: 95, renditions: [] });
    // Bottom-right is the half-transparent grey canvas: over white it is light grey, not dark.
    const [r, g, b] = await pixelAt(out.main.bytes, 60, 44);
    for (const channel of [r, g, b]) expect(channel).toBeGreaterThan(170);
  });

  it('quality changes the lossy output', async () => {
    const model = await encoded(64, 48, (i) => i.png());
    const low = await encodeOutput(model, { format: 'jpeg', quality: 10, renditions: [] });
    const high = await encodeOutput(model, { format: 'jpeg', quality: 100, renditions: [] });
    expect(low.main.bytes.length).toBeLessThan(high.main.bytes.length);
  });

  it('applies an EXIF orientation the model output carries', async () => {
    const model = await encoded(64, 48, (i) => i.withMetadata({ orientation: 6 }).jpeg());
    const out = await encodeOutput(model, { format: 'webp', quality: 80, renditions: [24] });
    expect([out.main.width, out.main.height]).toEqual([48, 64]);
    expect([out.renditions[0]?.width, out.renditions[0]?.height]).toEqual([24, 32]);
  });

  it.each([
    { label: 'not an image', bytes: async () => Buffer.from('no image here') },
    {
      label: 'a truncated PNG',
      bytes: async () => truncate(await encoded(64, 48, (i) => i.png()), 0.5),
    },
    // Kept byte for byte as PNG unless its header is checked: no rendition asked, nothing decoded.
    {
      label: 'a pixel bomb (10000x10000 PNG header: under the default sharp limit, over ours)',
      bytes: () => pngBomb(10_000, 10_000),
    },
  ])('refuses $label from the model with MODEL_NO_IMAGE', async ({ bytes, label }) => {
    const error = await encodeOutput(await bytes(), {
      format: 'png',
      quality: 90,
      renditions: label.includes('bomb') ? [] : [16],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BananaError);
    expect((error as BananaError).code).toBe('MODEL_NO_IMAGE');
  });
});
