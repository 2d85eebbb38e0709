import { createHash } from 'node:crypto';
import sharp, { type OverlayOptions } from 'sharp';

/**
 * Renders the stand-in's "edited" image: the conversation's input images side by side (or a
 * gradient for text-to-image), tinted with a colour derived from the prompt, with the prompt
 * stamped on it. Deterministic for the same inputs, and visibly different per prompt.
 *
 * Cheap on purpose (tests make hundreds of calls): everything is drawn on a small canvas and
 * scaled up with nearest-neighbour, which also makes the PNG compress to a few kB even at 4K.
 */

/** Long edge of the canvas the picture is drawn on before it is scaled up. */
const DRAW_LONG_EDGE = 256;
const MAX_STAMP_CHARS = 60;

export interface RenderInput {
  bytes: Buffer;
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** A saturated colour picked from a hash of the text. */
export function promptColour(text: string, salt = ''): Rgb {
  const digest = createHash('sha256').update(salt).update(text).digest();
  const hue = ((digest[0] ?? 0) * 256 + (digest[1] ?? 0)) % 360;
  return hslToRgb(hue, 0.7, 0.5);
}

function hslToRgb(hue: number, saturation: number, lightness: number): Rgb {
  const c = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const x = c * (1 - Math.abs(((hue / 60) % 2) - 1));
  const m = lightness - c / 2;
  const [r, g, b] =
    hue < 60
      ? [c, x, 0]
      : hue < 120
        ? [x, c, 0]
        : hue < 180
          ? [0, c, x]
          : hue < 240
            ? [0, x, c]
            : hue < 300
              ? [x, 0, c]
              : [c, 0, x];
  const to255 = (v: number) => Math.round((v + m) * 255);
  return { r: to255(r), g: to255(g), b: to255(b) };
}

const hex = ({ r, g, b }: Rgb) =>
  `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === "'" ? '&apos;' : '&quot;',
  );
}

/** Drops characters XML 1.0 forbids (control characters) that escaping cannot fix. */
function xmlSafe(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
}

function drawSize(width: number, height: number): [number, number] {
  const scale = Math.min(1, DRAW_LONG_EDGE / Math.max(width, height));
  return [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];
}

function gradientSvg(width: number, height: number, prompt: string): Buffer {
  const from = hex(promptColour(prompt, 'from'));
  const to = hex(promptColour(prompt, 'to'));
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">` +
      `<stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/>` +
      `</linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`,
  );
}

function overlaySvg(width: number, height: number, prompt: string): Buffer {
  const tint = hex(promptColour(prompt));
  const stamp = xmlSafe(prompt).slice(0, MAX_STAMP_CHARS);
  const fontSize = Math.max(8, Math.round(Math.min(width / 20, height / 8)));
  const band = Math.round(fontSize * 1.8);
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<rect width="100%" height="100%" fill="${tint}" fill-opacity="0.35"/>` +
      `<rect y="${height - band}" width="100%" height="${band}" fill="#000" fill-opacity="0.55"/>` +
      `<text x="${Math.round(fontSize / 2)}" y="${height - Math.round(band / 3)}" ` +
      `font-family="sans-serif" font-size="${fontSize}" fill="#fff">${escapeXml(stamp)}</text></svg>`,
  );
}

/** The edited image as PNG at exactly width x height. */
export async function renderEditedImage(options: {
  inputs: readonly RenderInput[];
  prompt: string;
  width: number;
  height: number;
}): Promise<Buffer> {
  const [drawWidth, drawHeight] = drawSize(options.width, options.height);
  const layers: OverlayOptions[] = [];
  const count = options.inputs.length;
  for (const [index, input] of options.inputs.entries()) {
    const left = Math.floor((index * drawWidth) / count);
    const cellWidth = Math.max(1, Math.floor(((index + 1) * drawWidth) / count) - left);
    const cell = await sharp(input.bytes)
      .resize(cellWidth, drawHeight, { fit: 'cover' })
      .removeAlpha()
      .png({ compressionLevel: 0 })
      .toBuffer();
    layers.push({ input: cell, left, top: 0 });
  }
  layers.push({ input: overlaySvg(drawWidth, drawHeight, options.prompt), left: 0, top: 0 });
  const base =
    count === 0
      ? sharp(gradientSvg(drawWidth, drawHeight, options.prompt))
      : sharp({
          create: { width: drawWidth, height: drawHeight, channels: 3, background: '#808080' },
        });
  const drawn = await base
    .composite(layers)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(drawn.data, { raw: drawn.info })
    .resize(options.width, options.height, { kernel: 'nearest', fit: 'fill' })
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

/** A small interim "thought" image, as thinking models send before the final one. */
export async function renderThoughtImage(prompt: string): Promise<Buffer> {
  return sharp({
    create: { width: 64, height: 64, channels: 3, background: promptColour(prompt, 'thought') },
  })
    .png()
    .toBuffer();
}
