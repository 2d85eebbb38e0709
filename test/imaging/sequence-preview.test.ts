import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { animatedPreview, contactStrip } from '../../shared/imaging/sequence-preview.ts';
import { BLUE, GREEN, RED, solid } from './generated-images.ts';

/** The animated preview and contact strip of a keyframe sequence, on real sharp. */

const colours = [RED, GREEN, BLUE];
const frames = () => Promise.all(colours.map((c) => solid(64, 36, c)));

/** The colour at the centre of page `page` of an (animated) image. */
async function centre(bytes: Buffer, page: number, left?: number, top?: number) {
  const image = sharp(bytes, { page });
  const meta = await image.metadata();
  const x = left ?? Math.floor((meta.width ?? 1) / 2);
  const y = top ?? Math.floor((meta.pageHeight ?? meta.height ?? 1) / 2);
  const { data } = await image
    .extract({ left: x, top: y, width: 1, height: 1 })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { r: data[0] ?? 0, g: data[1] ?? 0, b: data[2] ?? 0 };
}

type Rgb = { r: number; g: number; b: number };
const near = (actual: Rgb, expected: Rgb) =>
  Math.abs(actual.r - expected.r) +
    Math.abs(actual.g - expected.g) +
    Math.abs(actual.b - expected.b) <
  60;

describe('sequence previews', () => {
  it.each(['webp', 'gif'] as const)(
    'makes an endlessly looping animated %s with one page per frame, in order, at the fps asked',
    async (format) => {
      const preview = await animatedPreview(await frames(), { fps: 4, format });
      const meta = await sharp(preview.bytes).metadata();
      expect(meta.format).toBe(format);
      expect(meta.pages).toBe(3);
      expect(meta.loop).toBe(0);
      expect(meta.delay).toEqual([250, 250, 250]);
      expect([preview.width, preview.height]).toEqual([64, 36]);
      for (const [page, colour] of colours.entries()) {
        expect(near(await centre(preview.bytes, page), colour), `page ${page}`).toBe(true);
      }
    },
  );

  it('scales big frames down to the preview size and fits a frame of another shape into the first one', async () => {
    const big = await solid(2048, 1152, RED);
    const tall = await solid(300, 900, GREEN);
    const preview = await animatedPreview([big, tall], { fps: 0.5, format: 'webp' });
    expect([preview.width, preview.height]).toEqual([512, 288]);
    const meta = await sharp(preview.bytes).metadata();
    expect(meta.delay).toEqual([2000, 2000]);
    // The tall frame is letterboxed: black at the sides, its own colour in the middle.
    expect(near(await centre(preview.bytes, 1), GREEN)).toBe(true);
    expect(near(await centre(preview.bytes, 1, 2), { r: 0, g: 0, b: 0 })).toBe(true);
  });

  it('lays the frames out in order in a contact strip, wrapping after `across`', async () => {
    const strip = await contactStrip(await frames(), { frameHeightPx: 36 });
    expect(strip.mimeType).toBe('image/png');
    expect([strip.width, strip.height]).toEqual([3 * 64 + 2 * 4, 36]);
    for (const [index, colour] of colours.entries()) {
      expect(near(await centre(strip.bytes, 0, index * 68 + 32, 18), colour)).toBe(true);
    }
    const wrapped = await contactStrip(await frames(), { frameHeightPx: 36, across: 2 });
    expect([wrapped.width, wrapped.height]).toEqual([2 * 64 + 4, 2 * 36 + 4]);
    expect(near(await centre(wrapped.bytes, 0, 32, 40 + 18), BLUE)).toBe(true);
  });

  it('refuses an empty sequence', async () => {
    await expect(animatedPreview([], { fps: 2, format: 'webp' })).rejects.toThrow(/at least one/);
  });
});
