import sharp from 'sharp';

/**
 * Realistic inputs, generated at bench start (nothing is read from disk): photo-like content, a
 * smooth gradient with low-frequency "objects" and per-pixel noise, so the encoders face what a
 * camera gives them rather than a flat colour that compresses to nothing.
 */

export interface Fixture {
  /** File name in the drop. */
  name: string;
  label: string;
  bytes: Buffer;
  width: number;
  height: number;
}

/** xorshift32: fast, deterministic noise. */
function noiseSource(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/**
 * Raw pixels: a diagonal colour gradient, a few soft blobs (low-frequency structure like objects
 * in a scene) and uniform noise of ±`noise` levels per channel. With `alpha`, a radial alpha falloff
 * (a cut-out subject on a transparent background).
 */
export function photoPixels(
  width: number,
  height: number,
  options: { channels: 3 | 4; noise: number; seed: number },
): Buffer {
  const { channels, noise, seed } = options;
  const random = noiseSource(seed);
  const pixels = Buffer.allocUnsafe(width * height * channels);
  const blobs = Array.from({ length: 6 }, () => ({
    x: random() * width,
    y: random() * height,
    r: (0.08 + random() * 0.2) * Math.min(width, height),
    c: [random() * 120 - 60, random() * 120 - 60, random() * 120 - 60],
  }));
  const cx = width / 2;
  const cy = height / 2;
  const maxR = Math.hypot(cx, cy);
  let i = 0;
  for (let y = 0; y < height; y++) {
    const fy = y / height;
    // Blob influence changes slowly: computed per row for each blob, per pixel only as distance.
    for (let x = 0; x < width; x++) {
      const fx = x / width;
      let r = 40 + 160 * fx + 30 * fy;
      let g = 60 + 120 * fy + 20 * fx;
      let b = 180 - 120 * fx * fy;
      for (const blob of blobs) {
        const dx = x - blob.x;
        const dy = y - blob.y;
        const d2 = (dx * dx + dy * dy) / (blob.r * blob.r);
        if (d2 < 1) {
          const w = 1 - d2;
          r += (blob.c[0] ?? 0) * w;
          g += (blob.c[1] ?? 0) * w;
          b += (blob.c[2] ?? 0) * w;
        }
      }
      const n = noise * 2;
      pixels[i++] = clamp(r + (random() - 0.5) * n);
      pixels[i++] = clamp(g + (random() - 0.5) * n);
      pixels[i++] = clamp(b + (random() - 0.5) * n);
      if (channels === 4) {
        const d = Math.hypot(x - cx, y - cy) / maxR;
        pixels[i++] = clamp(d < 0.5 ? 255 : 255 * (1 - (d - 0.5) / 0.5) * 1.2);
      }
    }
  }
  return pixels;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** A 12 MP camera JPEG (4000x3000, quality 92, EXIF orientation 6 as a phone held upright writes). */
export async function cameraJpeg(seed = 1): Promise<Fixture> {
  const width = 4000;
  const height = 3000;
  const bytes = await sharp(photoPixels(width, height, { channels: 3, noise: 14, seed }), {
    raw: { width, height, channels: 3 },
  })
    .jpeg({ quality: 92 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  return { name: `photo-${seed}.jpg`, label: '12 MP JPEG (EXIF 6)', bytes, width, height };
}

/** A 4K PNG with alpha (3840x2160 RGBA): a product cut-out with mild sensor noise. */
export async function alphaPng(seed = 2): Promise<Fixture> {
  const width = 3840;
  const height = 2160;
  const bytes = await sharp(photoPixels(width, height, { channels: 4, noise: 2, seed }), {
    raw: { width, height, channels: 4 },
  })
    .png()
    .toBuffer();
  return { name: `cutout-${seed}.png`, label: '4K PNG with alpha', bytes, width, height };
}

/** A small WebP (800x600, quality 80), the size a web page or a thumbnail pipeline sends. */
export async function smallWebp(seed = 3): Promise<Fixture> {
  const width = 800;
  const height = 600;
  const bytes = await sharp(photoPixels(width, height, { channels: 3, noise: 10, seed }), {
    raw: { width, height, channels: 3 },
  })
    .webp({ quality: 80 })
    .toBuffer();
  return { name: `thumb-${seed}.webp`, label: 'small WebP (800x600)', bytes, width, height };
}

/** A ~1 MP JPEG, for rows about concurrency rather than pixels. */
export async function mediumJpeg(seed = 4): Promise<Fixture> {
  const width = 1024;
  const height = 768;
  const bytes = await sharp(photoPixels(width, height, { channels: 3, noise: 12, seed }), {
    raw: { width, height, channels: 3 },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
  return { name: `medium-${seed}.jpg`, label: '1 MP JPEG', bytes, width, height };
}
