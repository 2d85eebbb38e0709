import type { File, FileMetadata, GetFilesOptions, Storage } from '@google-cloud/storage';
import { BananaError, type BananaErrorInit } from '../errors.ts';
import type { ObjectInfo, ObjectStore, ReadOptions, WriteOptions } from '../ports/object-store.ts';

export interface GcsObjectStoreOptions {
  /**
   * Upper bound for every call, our own: the client's retries can take minutes and `file.save`
   * has been seen to hang. A call past it fails with STORAGE_TRANSIENT (retryable).
   */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** Attempts for an unpinned read whose version is replaced between metadata and download. */
const READ_ATTEMPTS = 3;
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_ERRNO = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

type Operation = 'stat' | 'read' | 'write' | 'list' | 'delete';

/** What a storage call was doing: enough to choose between "already exists" and "precondition failed". */
export interface StorageCallContext {
  operation: Operation;
  bucket: string;
  name: string;
  ifGenerationMatch?: string;
  generation?: string;
}

/**
 * ObjectStore on Cloud Storage. Takes a `Storage` client that the caller creates once per
 * function instance (a client per invocation leaks memory). Every client error is mapped to the
 * BananaError model: 412 → STORAGE_ALREADY_EXISTS (create-only) or STORAGE_PRECONDITION_FAILED,
 * 404 → STORAGE_NOT_FOUND, 408/429/5xx, network errors and our timeout → STORAGE_TRANSIENT.
 */
export class GcsObjectStore implements ObjectStore {
  readonly #storage: Storage;
  readonly #timeoutMs: number;

  constructor(storage: Storage, options: GcsObjectStoreOptions = {}) {
    this.#storage = storage;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async stat(bucket: string, name: string): Promise<ObjectInfo | undefined> {
    const context: StorageCallContext = { operation: 'stat', bucket, name };
    try {
      const [metadata] = await this.#call(context, () => this.#file(bucket, name).getMetadata());
      return toInfo(bucket, name, metadata);
    } catch (error) {
      if (error instanceof BananaError && error.code === 'STORAGE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  async read(
    bucket: string,
    name: string,
    options: ReadOptions = {},
  ): Promise<{ bytes: Buffer; info: ObjectInfo }> {
    for (let attempt = 1; ; attempt++) {
      const context: StorageCallContext = {
        operation: 'read',
        bucket,
        name,
        ...(options.generation === undefined ? {} : { generation: options.generation }),
      };
      // Size first, from metadata: an oversized object is refused before any byte is downloaded.
      const [metadata] = await this.#call(context, () =>
        this.#file(bucket, name, options.generation).getMetadata(),
      );
      const info = toInfo(bucket, name, metadata);
      if (options.maxBytes !== undefined && info.size > options.maxBytes) {
        throw new BananaError({
          code: 'INPUT_TOO_LARGE',
          message: `gs://${bucket}/${name} is ${info.size} bytes, more than the ${options.maxBytes} allowed.`,
          fix: 'Use a smaller file or raise the size limit in the configuration.',
          details: { bucket, name, size: info.size, maxBytes: options.maxBytes },
        });
      }
      try {
        // Pinned to the generation we just checked, so bytes and info describe the same version.
        const [bytes] = await this.#call({ ...context, generation: info.generation }, () =>
          this.#file(bucket, name, info.generation).download(),
        );
        return { bytes, info };
      } catch (error) {
        const replaced =
          error instanceof BananaError &&
          error.code === 'STORAGE_NOT_FOUND' &&
          options.generation === undefined;
        // Overwritten between the two calls: the caller asked for the latest, so look again.
        if (!replaced || attempt >= READ_ATTEMPTS) throw error;
      }
    }
  }

  async write(
    bucket: string,
    name: string,
    bytes: Buffer,
    options: WriteOptions = {},
  ): Promise<ObjectInfo> {
    const context: StorageCallContext = {
      operation: 'write',
      bucket,
      name,
      ...(options.ifGenerationMatch === undefined
        ? {}
        : { ifGenerationMatch: options.ifGenerationMatch }),
    };
    const file = this.#file(bucket, name);
    await this.#call(context, () =>
      file.save(bytes, {
        // One request (all or nothing); a resumable session is not worth it for images.
        resumable: false,
        timeout: this.#timeoutMs,
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
        metadata: { metadata: { ...(options.metadata ?? {}) } },
        // With a generation precondition the client may also retry the upload safely.
        ...(options.ifGenerationMatch === undefined
          ? {}
          : { preconditionOpts: { ifGenerationMatch: options.ifGenerationMatch } }),
      }),
    );
    // save() leaves the server's answer (the new object resource) on file.metadata.
    return toInfo(bucket, name, file.metadata);
  }

  async list(
    bucket: string,
    prefix: string,
    options: { delimiter?: '/' } = {},
  ): Promise<ObjectInfo[]> {
    const context: StorageCallContext = { operation: 'list', bucket, name: prefix };
    const infos: ObjectInfo[] = [];
    let pageToken: string | undefined;
    do {
      const query: GetFilesOptions = {
        prefix,
        autoPaginate: false,
        ...(options.delimiter === undefined ? {} : { delimiter: options.delimiter }),
        ...(pageToken === undefined ? {} : { pageToken }),
      };
      // One bounded call per page, rather than one unbounded auto-paginating call.
      const [files, nextQuery] = await this.#call(context, () =>
        this.#storage.bucket(bucket).getFiles(query),
      );
      for (const file of files) infos.push(toInfo(bucket, file.name, file.metadata));
      pageToken =
        nextQuery !== null && typeof nextQuery === 'object' && 'pageToken' in nextQuery
          ? nextQuery.pageToken
          : undefined;
    } while (pageToken !== undefined);
    return infos.sort((a, b) => compareNames(a.name, b.name));
  }

  async delete(
    bucket: string,
    name: string,
    options: { ifGenerationMatch?: string } = {},
  ): Promise<void> {
    const context: StorageCallContext = { operation: 'delete', bucket, name };
    try {
      await this.#call(context, () =>
        this.#file(bucket, name).delete(
          options.ifGenerationMatch === undefined
            ? {}
            : { ifGenerationMatch: options.ifGenerationMatch },
        ),
      );
    } catch (error) {
      if (error instanceof BananaError && error.code === 'STORAGE_NOT_FOUND') return;
      throw error;
    }
  }

  #file(bucket: string, name: string, generation?: string): File {
    return this.#storage.bucket(bucket).file(name, generation === undefined ? {} : { generation });
  }

  /** Runs one client call within our timeout and maps whatever it throws. */
  async #call<T>(context: StorageCallContext, run: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const pending = run();
    // The call may still settle after we gave up on it; its outcome is no longer anyone's concern.
    pending.catch(() => {});
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new BananaError({
            code: 'STORAGE_TRANSIENT',
            message: `Cloud Storage ${context.operation} of gs://${context.bucket}/${context.name} did not finish within ${this.#timeoutMs} ms.`,
            retryable: true,
            details: { ...context, timeoutMs: this.#timeoutMs },
          }),
        );
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (error) {
      throw toStorageError(error, context);
    } finally {
      clearTimeout(timer);
    }
  }
}

function toInfo(bucket: string, name: string, metadata: FileMetadata): ObjectInfo {
  const custom: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.metadata ?? {})) {
    // Cloud Storage keeps custom metadata as strings; null marks a key being removed.
    if (value !== null && value !== undefined) custom[key] = String(value);
  }
  return {
    bucket,
    name: metadata.name ?? name,
    generation: String(metadata.generation ?? ''),
    size: Number(metadata.size ?? 0),
    ...(metadata.contentType === undefined ? {} : { contentType: metadata.contentType }),
    metadata: custom,
    updated: metadata.updated ?? new Date(0).toISOString(),
  };
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const candidate of [record.code, record.status, record.response?.status]) {
    if (typeof candidate === 'number') return candidate;
  }
  return undefined;
}

function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { code?: unknown; type?: unknown; cause?: unknown };
  if (typeof record.code === 'string') return record.code;
  // node-fetch (under the client) reports its own timeouts as type 'request-timeout'.
  if (record.type === 'request-timeout') return 'ETIMEDOUT';
  if (record.cause !== undefined && record.cause !== error) return errnoOf(record.cause);
  return undefined;
}

/** Maps a Cloud Storage client error (or our timeout) to the one error model. */
export function toStorageError(error: unknown, context: StorageCallContext): BananaError {
  if (error instanceof BananaError) return error;
  const { bucket, name, operation } = context;
  const where = `gs://${bucket}/${name}`;
  const message = error instanceof Error ? error.message : String(error);
  const status = statusOf(error);
  const errno = errnoOf(error);
  const details = {
    bucket,
    name,
    operation,
    ...(status === undefined ? {} : { status }),
    ...(errno === undefined ? {} : { errno }),
    ...(context.generation === undefined ? {} : { generation: context.generation }),
    ...(context.ifGenerationMatch === undefined
      ? {}
      : { ifGenerationMatch: context.ifGenerationMatch }),
  };
  const init = storageErrorInit(status, errno, { where, message, context });
  return new BananaError({ ...init, details, cause: error });
}

/** Code, message, fix and retryability of a storage failure, by HTTP status or errno. */
function storageErrorInit(
  status: number | undefined,
  errno: string | undefined,
  { where, message, context }: { where: string; message: string; context: StorageCallContext },
): Omit<BananaErrorInit, 'details' | 'cause'> {
  const { operation } = context;
  if (status === 412) {
    return context.ifGenerationMatch === '0'
      ? { code: 'STORAGE_ALREADY_EXISTS', message: `${where} already exists.` }
      : {
          code: 'STORAGE_PRECONDITION_FAILED',
          message: `${where} is not at generation ${context.ifGenerationMatch ?? '(unknown)'}.`,
        };
  }
  if (status === 404) {
    const generation = context.generation === undefined ? '' : ` generation ${context.generation}`;
    return {
      code: 'STORAGE_NOT_FOUND',
      message: `${where}${generation} does not exist (${message}).`,
    };
  }
  if (
    (status !== undefined && TRANSIENT_STATUS.has(status)) ||
    (errno !== undefined && TRANSIENT_ERRNO.has(errno))
  ) {
    return {
      code: 'STORAGE_TRANSIENT',
      message: `Cloud Storage ${operation} of ${where} failed for now: ${message}`,
      retryable: true,
    };
  }
  if (status === 401 || status === 403) {
    return {
      code: 'CONFIG_INVALID',
      message: `Cloud Storage refused ${operation} of ${where}: ${message}`,
      fix: "Grant the function's service account the bucket-level role it needs (objectViewer / objectCreator / objectUser).",
    };
  }
  return {
    code: 'INTERNAL',
    message: `Cloud Storage ${operation} of ${where} failed: ${message}`,
    // A 4xx other than the above will fail the same way again; anything unknown might not.
    retryable: status === undefined || status >= 500,
  };
}

/** Cloud Storage lists in UTF-8 byte order; sorting again keeps pages merged in that order. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
