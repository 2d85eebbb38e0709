import { unzipSync, type Zippable, zipSync } from 'fflate';

/**
 * Deterministic ZIP archives through fflate: entries in name order, a fixed timestamp and fixed
 * permissions, so the same files always give the same bytes and the archive's hash is a content
 * hash. `readZip` is for tests and checks.
 */

export interface ZipEntry {
  name: string;
  data: Buffer;
}

/** 1980-01-01 00:00 local time, the earliest DOS date: no build time leaks into the archive. */
const FIXED_MTIME = new Date(1980, 0, 1);
/** Regular file, rw-r--r--, made on Unix. */
const ATTRIBUTES = { os: 3, attrs: (0o100644 << 16) >>> 0 };

function checkName(name: string): void {
  if (!name || name.startsWith('/') || name.includes('\\') || name.split('/').includes('..')) {
    throw new Error(`Invalid zip entry name: ${JSON.stringify(name)}`);
  }
}

/** Builds a ZIP archive; entries are sorted by name, duplicates are rejected. */
export function createZip(entries: readonly ZipEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: Zippable = {};
  for (const entry of sorted) {
    checkName(entry.name);
    if (Object.hasOwn(files, entry.name)) {
      throw new Error(`Duplicate zip entry: ${entry.name}`);
    }
    files[entry.name] = [
      new Uint8Array(entry.data),
      { level: 9, mtime: FIXED_MTIME, ...ATTRIBUTES },
    ];
  }
  return Buffer.from(zipSync(files));
}

/** The entries of an archive, in archive order. */
export function readZip(archive: Buffer): ZipEntry[] {
  return Object.entries(unzipSync(new Uint8Array(archive))).map(([name, data]) => ({
    name,
    data: Buffer.from(data),
  }));
}
