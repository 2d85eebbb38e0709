import type { Sharp } from 'sharp';

/**
 * The preview the run report shows for an image: at most 320 px on its longest side (a card about
 * half as wide, at twice the pixel density), WebP. The worker makes one beside every output it
 * writes (it has the image in hand); the report makes the rest (inputs, older outputs) the same way.
 */
export const THUMBNAIL_BOX_PX = 320;

/** Whether an image of this size gets a thumbnail of its own (a smaller one is its own preview). */
export function needsThumbnail(width: number, height: number): boolean {
  return Math.max(width, height) > THUMBNAIL_BOX_PX;
}

/**
 * Adds the thumbnail steps to a sharp pipeline (already auto-oriented). A linear kernel and the
 * fastest WebP effort: decoding is most of the cost, and at this size they look the same.
 */
export function toThumbnail(image: Sharp): Sharp {
  return image
    .resize({
      width: THUMBNAIL_BOX_PX,
      height: THUMBNAIL_BOX_PX,
      fit: 'inside',
      withoutEnlargement: true,
      kernel: 'linear',
    })
    .webp({ quality: 70, effort: 0 });
}
