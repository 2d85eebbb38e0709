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
    if (error instanceof Error && 'code' in error && error.code === 'STORAGE_ALREADY_EXISTS') {
      return false;
    }
    throw error;
  }
}
