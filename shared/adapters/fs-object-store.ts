import { createHash, randomUUID } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rmdir,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { BananaError } from '../errors.ts';
import { mapLimit } from '../map-limit.ts';
import type { ObjectInfo, ObjectStore, ReadOptions, WriteOptions } from '../ports/object-store.ts';

/**
 * Hidden folder at each bucket root holding contentType and custom metadata. `list` never returns it.
 * One file per object *version*: `<sha256(name)>-<generation>-<inode>.json`. Keying by version
 * (not by name) lets a write put its metadata in place BEFORE its data becomes visible, so a reader
 * never sees new bytes with old metadata, and a losing create-only write cannot clobber the winner's.
 */
export const FS_META_DIR = '.bananaflow-meta';

/** Temp files live next to their target (same filesystem, so link/rename are atomic). */
const TEMP_MARKER = '.bananaflow-tmp-';
const TEMP_PATTERN = /\.bananaflow-tmp-[0-9a-f-]{36}$/;

/** Files dropped by hand have no metadata file: their content type comes from the extension. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.gif': 'image/gif',
  '.heic': 'image/heic',
  '.heif': 'image/heif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.bmp': 'image/bmp',
  '.json': 'application/json',
  '.txt': 'text/plain',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Parallelism for stat + metadata reads while listing (bounded so big folders do not hit EMFILE). */
const LIST_CONCURRENCY = 32;

interface StoredMeta {
  name: string;
  contentType?: string;
  metadata: Record<string, string>;
}

interface Located {
  root: string;
  file: string;
}

/** Content type that a hand-dropped file with this name gets. */
export function contentTypeFromName(name: string): string {
  return CONTENT_TYPES[path.extname(name).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

/**
 * A local folder per bucket, behaving like Cloud Storage where the pipeline relies on it:
 * generations (the file's mtime in ns, strictly increasing per name within this process),
 * atomic create-only writes (temp file + `link`, which fails with EEXIST), conditional overwrites,
 * and complete content for readers (data is always written to a temp file first).
 *
 * Conditional overwrites (ifGenerationMatch other than '0') and deletes compare, then rename or
 * unlink under an in-process lock: they are atomic only within ONE process. That is enough for the
 * embedded runner, which is one process; create-only writes stay atomic across processes.
 */
export class FsObjectStore implements ObjectStore {
  readonly #roots: ReadonlyMap<string, string>;
  /** Last generation this process gave each file: a delete + re-create in the same clock tick still moves forward. */
  readonly #lastGeneration = new Map<string, bigint>();
  readonly #locks = new Map<string, Promise<void>>();

  /** @param buckets bucket name → root directory, e.g. `{ input: '/drop', output: '/out' }`. */
  constructor(buckets: Readonly<Record<string, string>>) {
    this.#roots = new Map(
      Object.entries(buckets).map(([bucket, dir]) => [bucket, path.resolve(dir)]),
    );
  }

  async stat(bucket: string, name: string): Promise<ObjectInfo | undefined> {
    const { root, file } = this.#locate(bucket, name);
    const stats = await statFile(file);
    if (stats === undefined) return undefined;
    return this.#info(bucket, name, root, stats);
  }

  async read(
    bucket: string,
    name: string,
    options: ReadOptions = {},
  ): Promise<{ bytes: Buffer; info: ObjectInfo }> {
    const { root, file } = this.#locate(bucket, name);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (isMissing(error)) throw notFound(bucket, name, options.generation);
      throw ioError(error, 'read', bucket, name);
    }
    try {
      // Stat and read through the same descriptor: a concurrent overwrite renames a new inode into
      // place, so what we read is exactly the version we checked.
      const stats = await handle.stat({ bigint: true });
      if (!stats.isFile()) throw notFound(bucket, name, options.generation);
      const generation = stats.mtimeNs.toString();
      if (options.generation !== undefined && options.generation !== generation) {
        throw notFound(bucket, name, options.generation);
      }
      const size = Number(stats.size);
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw new BananaError({
          code: 'INPUT_TOO_LARGE',
          message: `${bucket}/${name} is ${size} bytes, more than the ${options.maxBytes} allowed.`,
          fix: 'Use a smaller file or raise the size limit in the configuration.',
          details: { bucket, name, size, maxBytes: options.maxBytes },
        });
      }
      const bytes = await handle.readFile();
      return { bytes, info: await this.#info(bucket, name, root, stats) };
    } catch (error) {
      if (error instanceof BananaError) throw error;
      throw ioError(error, 'read', bucket, name);
    } finally {
      await handle.close();
    }
  }

  async write(
    bucket: string,
    name: string,
    bytes: Buffer,
    options: WriteOptions = {},
  ): Promise<ObjectInfo> {
    const { root, file } = this.#locate(bucket, name);
    const dir = path.dirname(file);
    // Fixed length, not derived from the object's name: a name near the file-name limit (255
    // bytes) must not fail on its temp file (ENAMETOOLONG), nor mask the real error when unlinked.
    const temp = path.join(dir, `${TEMP_MARKER}${randomUUID()}`);
    let metaFile: string | undefined;
    let committed = false;
    try {
      await mkdir(path.join(root, FS_META_DIR), { recursive: true });
      // The whole content lands in the temp file before the name points at it: readers never see a
      // partial object, and a failed write leaves nothing behind under the object's name.
      await writeTempFile(dir, temp, bytes);
      return await this.#withLock(file, async () => {
        const previous = await statFile(file);
        checkPrecondition(bucket, name, options.ifGenerationMatch, previous);
        const stats = await this.#advanceGeneration(temp, file, previous);
        const meta: StoredMeta = {
          name,
          ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
          metadata: { ...(options.metadata ?? {}) },
        };
        metaFile = metaPath(root, name, stats);
        await writeFile(metaFile, JSON.stringify(meta));
        if (options.ifGenerationMatch === '0') {
          try {
            // link() refuses to replace an existing file, also against other processes.
            await link(temp, file);
          } catch (error) {
            if (errnoCode(error) === 'EEXIST') throw alreadyExists(bucket, name);
            throw error;
          }
        } else {
          await rename(temp, file);
        }
        committed = true;
        this.#lastGeneration.set(file, stats.mtimeNs);
        if (previous !== undefined) await unlinkQuietly(metaPath(root, name, previous));
        return this.#infoFrom(bucket, name, stats, meta);
      });
    } catch (error) {
      if (!committed && metaFile !== undefined) await unlinkQuietly(metaFile);
      if (error instanceof BananaError) throw error;
      throw ioError(error, 'write', bucket, name);
    } finally {
      // After link() the temp name is a second link to the object; after rename() it is gone.
      await unlinkQuietly(temp);
    }
  }

  async list(
    bucket: string,
    prefix: string,
    options: { delimiter?: '/' } = {},
  ): Promise<ObjectInfo[]> {
    const root = this.#root(bucket);
    // Start at the deepest folder the prefix names; its last partial segment filters the entries.
    const slash = prefix.lastIndexOf('/');
    const folder = slash < 0 ? '' : prefix.slice(0, slash + 1);
    if (folder !== '') {
      try {
        this.#locate(bucket, folder.slice(0, -1));
      } catch (error) {
        // No valid object name can start with such a prefix (".." segments, say): nothing matches.
        if (error instanceof BananaError && error.code === 'INPUT_PATH_OUTSIDE_DROP') return [];
        throw error;
      }
    }
    const names: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(path.join(root, relative), { withFileTypes: true });
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw ioError(error, 'list', bucket, relative);
      }
      for (const entry of entries) {
        if (relative === '' && entry.name === FS_META_DIR) continue;
        if (TEMP_PATTERN.test(entry.name)) continue;
        const name = `${relative}${entry.name}`;
        if (entry.isDirectory()) {
          // Below the start folder the prefix has no '/' left, so a folder can only hold matches
          // when its own path (plus '/') starts with the prefix.
          if (options.delimiter === undefined && `${name}/`.startsWith(prefix)) {
            await walk(`${name}/`);
          }
        } else if ((entry.isFile() || entry.isSymbolicLink()) && name.startsWith(prefix)) {
          names.push(name);
        }
      }
    };
    await walk(folder);
    const infos = await mapLimit(names, LIST_CONCURRENCY, (name) => this.stat(bucket, name));
    return infos
      .filter((info): info is ObjectInfo => info !== undefined)
      .sort((a, b) => compareNames(a.name, b.name));
  }

  async delete(
    bucket: string,
    name: string,
    options: { ifGenerationMatch?: string } = {},
  ): Promise<void> {
    const { root, file } = this.#locate(bucket, name);
    try {
      await this.#withLock(file, async () => {
        const current = await statFile(file);
        if (current === undefined) return;
        if (
          options.ifGenerationMatch !== undefined &&
          options.ifGenerationMatch !== current.mtimeNs.toString()
        ) {
          throw preconditionFailed(
            bucket,
            name,
            options.ifGenerationMatch,
            current.mtimeNs.toString(),
          );
        }
        await unlinkQuietly(file);
        await unlinkQuietly(metaPath(root, name, current));
        await pruneEmptyFolders(path.dirname(file), root);
      });
    } catch (error) {
      if (error instanceof BananaError) throw error;
      throw ioError(error, 'delete', bucket, name);
    }
  }

  #root(bucket: string): string {
    const root = this.#roots.get(bucket);
    if (root === undefined) {
      throw new BananaError({
        code: 'CONFIG_INVALID',
        message: `Unknown bucket "${bucket}": this local store knows ${[...this.#roots.keys()].map((b) => `"${b}"`).join(', ')}.`,
        fix: 'Map the bucket to a folder when creating the FsObjectStore.',
        details: { bucket },
      });
    }
    return root;
  }

  /** Maps an object name to its file, refusing names that could leave the bucket's folder. */
  #locate(bucket: string, name: string): Located {
    const root = this.#root(bucket);
    const segments = name.split('/');
    const bad =
      name === '' ||
      name.includes('\0') ||
      path.isAbsolute(name) ||
      segments.some((s) => s === '' || s === '.' || s === '..' || TEMP_PATTERN.test(s)) ||
      segments[0] === FS_META_DIR;
    const file = path.join(root, ...segments);
    const relative = path.relative(root, file);
    if (bad || relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new BananaError({
        code: 'INPUT_PATH_OUTSIDE_DROP',
        message: `Object name ${JSON.stringify(name)} is not a plain path inside bucket "${bucket}".`,
        fix: 'Use "/"-separated names without empty, "." or ".." segments and without a leading "/".',
        details: { bucket, name },
      });
    }
    return { root, file };
  }

  /**
   * Gives the temp file an mtime strictly above the previous version's (and above the last one this
   * process wrote): file timestamps come from a coarse clock, so two writes in one tick would
   * otherwise share a generation.
   */
  async #advanceGeneration(
    temp: string,
    file: string,
    previous: BigIntStats | undefined,
  ): Promise<BigIntStats> {
    const floor = maxBigInt(previous?.mtimeNs ?? 0n, this.#lastGeneration.get(file) ?? 0n);
    let stats = await stat(temp, { bigint: true });
    // utimes takes seconds as a double (~240 ns resolution today): step by 1 ms, then coarser, in
    // case the filesystem keeps fewer digits.
    for (const step of [1_000_000n, 1_000_000_000n, 2_000_000_000n]) {
      if (stats.mtimeNs > floor) return stats;
      const target = floor + step;
      const seconds = Number(target / 1_000_000_000n) + Number(target % 1_000_000_000n) / 1e9;
      await utimes(temp, new Date(), seconds);
      stats = await stat(temp, { bigint: true });
    }
    if (stats.mtimeNs > floor) return stats;
    throw new BananaError({
      code: 'INTERNAL',
      message: `Could not give ${file} a new generation: the filesystem does not keep modification times precisely.`,
      details: { file },
    });
  }

  async #info(bucket: string, name: string, root: string, stats: BigIntStats): Promise<ObjectInfo> {
    let meta: StoredMeta | undefined;
    try {
      meta = JSON.parse(await readFile(metaPath(root, name, stats), 'utf8')) as StoredMeta;
    } catch {
      // No metadata file: dropped by hand (or written by a crashed process): defaults apply.
      meta = undefined;
    }
    return this.#infoFrom(bucket, name, stats, meta);
  }

  #infoFrom(
    bucket: string,
    name: string,
    stats: BigIntStats,
    meta: StoredMeta | undefined,
  ): ObjectInfo {
    return {
      bucket,
      name,
      generation: stats.mtimeNs.toString(),
      size: Number(stats.size),
      contentType: meta?.contentType ?? contentTypeFromName(name),
      metadata: { ...(meta?.metadata ?? {}) },
      updated: new Date(Number(stats.mtimeNs / 1_000_000n)).toISOString(),
    };
  }

  /** Serialises check-then-commit sections per file so that they are atomic within this process. */
  async #withLock<T>(key: string, section: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(key) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    this.#locks.set(key, tail);
    await before;
    try {
      return await section();
    } finally {
      release();
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }
}

/** Writes the temp file, re-creating its folder if a concurrent delete just pruned it. */
async function writeTempFile(dir: string, temp: string, bytes: Buffer): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dir, { recursive: true });
    try {
      await writeFile(temp, bytes, { flag: 'wx' });
      return;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' || attempt >= 3) throw error;
    }
  }
}

function metaPath(root: string, name: string, stats: BigIntStats): string {
  const digest = createHash('sha256').update(name).digest('hex');
  return path.join(root, FS_META_DIR, `${digest}-${stats.mtimeNs}-${stats.ino}.json`);
}

function checkPrecondition(
  bucket: string,
  name: string,
  ifGenerationMatch: string | undefined,
  previous: BigIntStats | undefined,
): void {
  if (ifGenerationMatch === undefined) return;
  if (ifGenerationMatch === '0') {
    if (previous !== undefined) throw alreadyExists(bucket, name);
    return;
  }
  const current = previous?.mtimeNs.toString();
  if (current !== ifGenerationMatch)
    throw preconditionFailed(bucket, name, ifGenerationMatch, current);
}

async function statFile(file: string): Promise<BigIntStats | undefined> {
  try {
    const stats = await stat(file, { bigint: true });
    return stats.isFile() ? stats : undefined;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Removes folders left empty by a delete (a later object may need the name as a file). */
async function pruneEmptyFolders(dir: string, root: string): Promise<void> {
  let current = dir;
  while (current !== root && current.startsWith(root + path.sep)) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty (or already gone): stop climbing
    }
    current = path.dirname(current);
  }
}

async function unlinkQuietly(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

/** Cloud Storage lists names in UTF-8 byte order; JS string order differs for astral characters. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function maxBigInt(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  // A name too long for the local disk (255 bytes a segment) cannot exist on it either.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENAMETOOLONG';
}

function notFound(bucket: string, name: string, generation: string | undefined): BananaError {
  return new BananaError({
    code: 'STORAGE_NOT_FOUND',
    message:
      generation === undefined
        ? `${bucket}/${name} does not exist.`
        : `${bucket}/${name} generation ${generation} does not exist.`,
    details: { bucket, name, ...(generation === undefined ? {} : { generation }) },
  });
}

function alreadyExists(bucket: string, name: string): BananaError {
  return new BananaError({
    code: 'STORAGE_ALREADY_EXISTS',
    message: `${bucket}/${name} already exists.`,
    details: { bucket, name },
  });
}

function preconditionFailed(
  bucket: string,
  name: string,
  expected: string,
  actual: string | undefined,
): BananaError {
  return new BananaError({
    code: 'STORAGE_PRECONDITION_FAILED',
    message: `${bucket}/${name} is not at generation ${expected} (it is ${actual ?? 'absent'}).`,
    details: { bucket, name, expected, ...(actual === undefined ? {} : { actual }) },
  });
}

/** Disk errors: a full disk or too many open files can pass; a name clash with a folder cannot. */
function ioError(error: unknown, operation: string, bucket: string, name: string): BananaError {
  const code = errnoCode(error);
  const transient = code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY';
  return new BananaError({
    code: transient ? 'STORAGE_TRANSIENT' : 'INTERNAL',
    message: `Local storage ${operation} of ${bucket}/${name} failed: ${error instanceof Error ? error.message : String(error)}`,
    retryable: transient,
    details: { bucket, name, operation, ...(code === undefined ? {} : { errno: code }) },
    cause: error,
  });
}
