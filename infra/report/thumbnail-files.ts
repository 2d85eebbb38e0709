import { unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The files a report keeps in its `<report>_files/` folder, named by a hash of the image's
 * identity and version: `<key>.<width>x<height>.webp` (a thumbnail) and `<key>.full.png` (a
 * refinement step's full image, which exists nowhere else as a file).
 */
export const THUMBNAIL_FILE = /^([0-9a-f]{24})\.(\d+)x(\d+)\.webp$/;
const REPORT_FILE = /^[0-9a-f]{24}\.(?:\d+x\d+\.webp|full\.png)$/;

/**
 * Removes the report's own files that the page written now no longer links to (images of
 * records since deleted, older versions of an image). Files of any other name are left alone.
 */
export async function removeUnreferenced(
  filesDir: string,
  existing: Iterable<string>,
  used: ReadonlySet<string>,
): Promise<number> {
  let removed = 0;
  for (const name of existing) {
    if (used.has(name) || !REPORT_FILE.test(name)) continue;
    await unlink(join(filesDir, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    removed++;
  }
  return removed;
}
