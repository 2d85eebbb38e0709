import { loadSharp } from './load-sharp.ts';

/**
 * A keyframe sequence at a glance: an animated preview (WebP, optionally GIF) and a contact strip,
 * both made with sharp from the frames' output images. Frames are scaled to one size (the first
 * frame's shape), so a frame of another shape is letterboxed rather than distorting the others.
 */

export const PREVIEW_LONG_EDGE_PX = 512;
export const STRIP_FRAME_HEIGHT_PX = 192;
/** Frames per row of the contact strip; a longer sequence wraps onto more rows. */
export const STRIP_ACROSS = 10;
const BACKGROUND = { r: 0, g: 0, b: 0, alpha: 1 };

export interface EncodedImage {
  bytes: Buffer;
  mimeType: string;
  width: number;
  height: number;
}

/** Every frame as PNG bytes of the same size, `height` px high (or the long edge `longEdge`). */
async function sameSize(
  frames: readonly Buffer[],
  fit: { longEdge: number } | { height: number },
): Promise<{ frames: Buffer[]; width: number; height: number }> {
  const sharp = await loadSharp();
  const first = frames[0];
  if (!first) throw new Error('a sequence preview needs at least one frame');
  const meta = await sharp(first).metadata();
  const [w, h] = [meta.autoOrient.width, meta.autoOrient.height];
  const scale = 'height' in fit ? fit.height / h : Math.min(1, fit.longEdge / Math.max(w, h));
  const width = Math.max(1, Math.round(w * scale));
  const height = Math.max(1, Math.round(h * scale));
  const resized = await Promise.all(
    frames.map((bytes) =>
      sharp(bytes)
        .autoOrient()
        .resize(width, height, { fit: 'contain', background: BACKGROUND })
        .removeAlpha()
        .png({ compressionLevel: 1 })
        .toBuffer(),
    ),
  );
  return { frames: resized, width, height };
}

/** A frame scaled down to the preview size (never up), as PNG: what the previews are made from. */
export async function frameThumbnail(
  bytes: Buffer,
  longEdgePx = PREVIEW_LONG_EDGE_PX,
): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(bytes)
    .autoOrient()
    .resize(longEdgePx, longEdgePx, { fit: 'inside', withoutEnlargement: true })
    .png()
    .toBuffer();
}

/** An endlessly looping animation of the frames at `fps` frames per second. */
export async function animatedPreview(
  frames: readonly Buffer[],
  options: { fps: number; format: 'webp' | 'gif'; longEdgePx?: number },
): Promise<EncodedImage> {
  const sharp = await loadSharp();
  const same = await sameSize(frames, { longEdge: options.longEdgePx ?? PREVIEW_LONG_EDGE_PX });
  const perFrame = Math.min(65_535, Math.max(1, Math.round(1000 / options.fps)));
  // One delay per frame: a single number would time only the first.
  const delay = same.frames.map(() => perFrame);
  const animation = sharp(same.frames, { join: { animated: true } });
  const bytes =
    options.format === 'webp'
      ? await animation.webp({ quality: 80, loop: 0, delay }).toBuffer()
      : await animation.gif({ loop: 0, delay }).toBuffer();
  return {
    bytes,
    mimeType: options.format === 'webp' ? 'image/webp' : 'image/gif',
    width: same.width,
    height: same.height,
  };
}

/** The frames side by side in order, `STRIP_ACROSS` to a row, as one PNG. */
export async function contactStrip(
  frames: readonly Buffer[],
  options: { frameHeightPx?: number; across?: number } = {},
): Promise<EncodedImage> {
  const sharp = await loadSharp();
  const same = await sameSize(frames, { height: options.frameHeightPx ?? STRIP_FRAME_HEIGHT_PX });
  const across = Math.min(frames.length, options.across ?? STRIP_ACROSS);
  const { data, info } = await sharp(same.frames, {
    join: { across, shim: 4, background: { r: 255, g: 255, b: 255, alpha: 1 } },
  })
    .png()
    .toBuffer({ resolveWithObject: true });
  return { bytes: data, mimeType: 'image/png', width: info.width, height: info.height };
}
