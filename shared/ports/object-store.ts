import { z } from 'zod';
import { BananaError, hasErrorCode } from '../errors.ts';

/**
 * Port: a bucket-like object store. Cloud Storage in the cloud, a folder on disk locally.
 * Every object has a generation that changes on every write; create-only writes are how the
 * pipeline claims jobs and commits results without paying twice.
 */

export interface ObjectInfo {
  bucket: string;
  name: string;
  /** Changes on every write of the object (Cloud Storage generation; a file's mtime in ns locally). */
  generation: string;
  size: number;
  contentType?: string;
  /** Custom metadata (Cloud Storage `metadata`); bananaflow tags its own writes here. */
  metadata: Record<string, string>;
  updated: string;
}

export interface WriteOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /**
   * '0' = create only: fail with STORAGE_ALREADY_EXISTS when the object exists.
   * Any other value: write only if the current generation equals it (STORAGE_PRECONDITION_FAILED).
   * Absent: unconditional overwrite.
   */
  ifGenerationMatch?: string;
}

export interface ReadOptions {
  /** Refuse (INPUT_TOO_LARGE) to read an object bigger than this many bytes into memory. */
  maxBytes?: number;
  /** Read this exact generation (STORAGE_NOT_FOUND when it is gone). */
  generation?: string;
}

export interface ObjectStore {
  /** Metadata of an object, or undefined when it does not exist. */
  stat(bucket: string, name: string): Promise<ObjectInfo | undefined>;
  /** The object's bytes; STORAGE_NOT_FOUND when it does not exist. */
  read(
    bucket: string,
    name: string,
    options?: ReadOptions,
  ): Promise<{ bytes: Buffer; info: ObjectInfo }>;
  write(bucket: string, name: string, bytes: Buffer, options?: WriteOptions): Promise<ObjectInfo>;
  /** Objects whose names start with prefix, sorted by name. With delimiter '/', only one level. */
  list(bucket: string, prefix: string, options?: { delimiter?: '/' }): Promise<ObjectInfo[]>;
  /** Deletes; a missing object is not an error. */
  delete(bucket: string, name: string, options?: { ifGenerationMatch?: string }): Promise<void>;
}

/** Create-only write that treats "already exists" as success and returns whether it created. */
export async function writeIfAbsent(
  store: ObjectStore,
  bucket: string,
  name: string,
  bytes: Buffer,
  options: Omit<WriteOptions, 'ifGenerationMatch'> = {},
): Promise<boolean> {
  try {
    await store.write(bucket, name, bytes, { ...options, ifGenerationMatch: '0' });
    return true;
  } catch (error) {
    if (hasErrorCode(error, 'STORAGE_ALREADY_EXISTS')) return false;
    throw error;
  }
}

/** A stored JSON object as read: its generation, and its value or why it is not one. */
export type StoredJson<T> = { generation: string } & (
  | { ok: true; value: T }
  | { ok: false; problem: string }
);

/**
 * A stored JSON object checked against `schema` (zod's way: a value, never a throw, when it does
 * not match), with its generation for a conditional write back; undefined when it does not exist.
 */
export async function readJsonWithGeneration<T>(
  store: ObjectStore,
  bucket: string,
  name: string,
  schema: z.ZodType<T>,
  options: ReadOptions = {},
): Promise<StoredJson<T> | undefined> {
  let read: { bytes: Buffer; info: ObjectInfo };
  try {
    read = await store.read(bucket, name, { maxBytes: 8 << 20, ...options });
  } catch (error) {
    if (hasErrorCode(error, 'STORAGE_NOT_FOUND')) return undefined;
    throw error;
  }
  const { generation } = read.info;
  let value: unknown;
  try {
    value = JSON.parse(read.bytes.toString('utf8'));
  } catch (error) {
    return { generation, ok: false, problem: (error as Error).message };
  }
  const parsed = schema.safeParse(value);
  return parsed.success
    ? { generation, ok: true, value: parsed.data }
    : { generation, ok: false, problem: z.prettifyError(parsed.error) };
}

/**
 * A stored JSON object checked against `schema`, or undefined when the object does not exist.
 * Stored state is a boundary like any other: a file that does not match is an error naming it,
 * never a silently wrong cast.
 */
export async function readJsonIfExists<T>(
  store: ObjectStore,
  bucket: string,
  name: string,
  schema: z.ZodType<T>,
  options: ReadOptions = {},
): Promise<T | undefined> {
  const found = await readJsonWithGeneration(store, bucket, name, schema, options);
  if (found && !found.ok) throw storedStateError(bucket, name, found.problem);
  return found?.value;
}

function storedStateError(bucket: string, name: string, problem: string): BananaError {
  return new BananaError({
    code: 'INTERNAL',
    message: `Stored object ${bucket}/${name} is not what bananaflow wrote: ${problem}`,
    fix: 'Delete the object (it is bananaflow working state or a record) and run the job again.',
    details: { file: name },
  });
}
