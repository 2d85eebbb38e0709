import { posix } from 'node:path';

/**
 * What a name in the drop is. Names are bucket object names ('/'-separated, relative to the
 * bucket root). The pipeline's own prefix and hidden files are never work.
 */

export const IMAGE_EXTENSIONS = [
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.avif',
  '.heic',
  '.heif',
  '.tif',
  '.tiff',
] as const;

export const IMAGE_SIDECAR_SUFFIX = '.edit.json';
export const FOLDER_SIDECAR_NAME = '_edit.json';
export const MANIFEST_SUFFIX = '.jobs.json';
/** Where the pipeline keeps its own state and run summaries (in the output bucket). */
export const PIPELINE_PREFIX = '_bananaflow/';
/** Custom metadata key on every object the pipeline writes: such objects never trigger work. */
export const OUTPUT_TAG = 'bananaflow-output';

export type DropFile =
  | { kind: 'image'; name: string }
  | { kind: 'image-sidecar'; name: string; target: string }
  | { kind: 'folder-sidecar'; name: string; folder: string }
  | { kind: 'manifest'; name: string; folder: string }
  | { kind: 'ignored'; name: string; reason: string };

export function folderOf(name: string): string {
  const dir = posix.dirname(name);
  return dir === '.' ? '' : `${dir}/`;
}

export function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export function classifyDropFile(name: string): DropFile {
  const base = posix.basename(name);
  if (name.startsWith(PIPELINE_PREFIX)) {
    return { kind: 'ignored', name, reason: 'pipeline state' };
  }
  if (base.startsWith('.') || name.split('/').some((part) => part.startsWith('.'))) {
    return { kind: 'ignored', name, reason: 'hidden file' };
  }
  if (base === FOLDER_SIDECAR_NAME) return { kind: 'folder-sidecar', name, folder: folderOf(name) };
  if (base.endsWith(MANIFEST_SUFFIX) && base.length > MANIFEST_SUFFIX.length) {
    return { kind: 'manifest', name, folder: folderOf(name) };
  }
  if (base.endsWith(IMAGE_SIDECAR_SUFFIX) && base.length > IMAGE_SIDECAR_SUFFIX.length) {
    return { kind: 'image-sidecar', name, target: name.slice(0, -IMAGE_SIDECAR_SUFFIX.length) };
  }
  if (isImageName(name)) return { kind: 'image', name };
  return { kind: 'ignored', name, reason: 'not an image or a sidecar' };
}

/**
 * Resolves a sidecar-relative path to an object name. The schema already refuses absolute paths
 * and URLs; this normalises './', '..' and doubled slashes. A result that leaves the drop starts
 * with '../' (see `leavesDrop`).
 */
export function resolveDropPath(sidecarName: string, relative: string): string {
  return posix.normalize(`${folderOf(sidecarName)}${relative}`).replace(/^\.\//, '');
}

/** True for a resolved path above the drop's root: such a path is refused, never read. */
export function leavesDrop(resolved: string): boolean {
  return resolved === '..' || resolved.startsWith('../');
}
