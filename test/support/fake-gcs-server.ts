import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

/**
 * A small Cloud Storage JSON API server for wire-level tests of the GCS adapter: the requests the
 * @google-cloud/storage client really sends, answered the way Cloud Storage answers them
 * (object resources, Google's JSON error bodies, 404/412, generations, list pages with prefixes).
 * No Cloud Storage emulator is installable here; this is the substitute. Buckets spring into
 * existence on first use. Not a general emulator: only what the adapter calls.
 */

export const FAULT_KINDS = ['503', 'hang'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

export interface FakeGcsServer {
  /** Base URL for `new Storage({ apiEndpoint: url })`. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** The next `count` requests answer 503 (Google's backendError body) or never answer at all. */
  injectFault(kind: FaultKind, count?: number): void;
  /** Drops faults not yet consumed (so one test's leftovers cannot hit the next). */
  clearFaults(): void;
  /** Closes the server and every open connection (hung requests included). */
  stop(): Promise<void>;
}

export interface FakeGcsServerOptions {
  /** Caps a list page below the client's maxResults so paging is exercised with few objects. */
  maxPageSize?: number;
}

interface StoredObject {
  bytes: Buffer;
  generation: bigint;
  contentType: string;
  metadata: Record<string, string>;
  timeCreated: string;
  updated: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const OBJECT_PATH = /^\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/;
const UPLOAD_PATH = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/;

export async function startFakeGcsServer(
  options: FakeGcsServerOptions = {},
): Promise<FakeGcsServer> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const requests: RecordedRequest[] = [];
  const faults: FaultKind[] = [];
  // Real generations are microsecond timestamps; any strictly increasing number will do.
  let lastGeneration = BigInt(Date.now()) * 1000n;
  const maxPageSize = options.maxPageSize ?? 1000;

  const bucketOf = (name: string) => {
    let objects = buckets.get(name);
    if (objects === undefined) {
      objects = new Map();
      buckets.set(name, objects);
    }
    return objects;
  };

  const resource = (bucket: string, name: string, object: StoredObject) => ({
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    name,
    bucket,
    generation: object.generation.toString(),
    metageneration: '1',
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.bytes.length),
    md5Hash: createHash('md5').update(object.bytes).digest('base64'),
    crc32c: crc32c(object.bytes),
    etag: `${object.generation}`,
    timeCreated: object.timeCreated,
    updated: object.updated,
    ...(Object.keys(object.metadata).length === 0 ? {} : { metadata: object.metadata }),
  });

  const find = (bucket: string, name: string, generation: string | undefined) => {
    const object = bucketOf(bucket).get(name);
    if (
      object === undefined ||
      (generation !== undefined && generation !== object.generation.toString())
    ) {
      throw new HttpError(404, 'notFound', `No such object: ${bucket}/${name}`);
    }
    return object;
  };

  const checkGeneration = (
    current: StoredObject | undefined,
    ifGenerationMatch: string | undefined,
  ) => {
    if (ifGenerationMatch === undefined) return;
    const actual = current === undefined ? '0' : current.generation.toString();
    if (actual !== ifGenerationMatch) {
      throw new HttpError(
        412,
        'conditionNotMet',
        'At least one of the pre-conditions you specified did not hold.',
      );
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer) => {
    const query = Object.fromEntries(url.searchParams);
    const upload = UPLOAD_PATH.exec(url.pathname);
    if (upload !== null && req.method === 'POST') {
      const bucket = decodeURIComponent(upload[1] ?? '');
      const { metadata, media, mediaType } = parseUpload(req, query, body);
      const name = query.name ?? (typeof metadata.name === 'string' ? metadata.name : undefined);
      if (name === undefined || name === '')
        throw new HttpError(400, 'required', 'Required object name');
      const objects = bucketOf(bucket);
      const current = objects.get(name);
      checkGeneration(current, query.ifGenerationMatch);
      const now = new Date().toISOString();
      lastGeneration += 1n;
      const stored: StoredObject = {
        bytes: media,
        generation: lastGeneration,
        contentType:
          typeof metadata.contentType === 'string'
            ? metadata.contentType
            : (mediaType ?? 'application/octet-stream'),
        metadata: stringRecord(metadata.metadata),
        timeCreated: now,
        updated: now,
      };
      objects.set(name, stored);
      return sendJson(res, 200, resource(bucket, name, stored));
    }
    const match = OBJECT_PATH.exec(url.pathname);
    if (match === null)
      throw new HttpError(404, 'notFound', `Not Found: ${req.method} ${url.pathname}`);
    const bucket = decodeURIComponent(match[1] ?? '');
    const encodedName = match[2];
    if (encodedName === undefined) {
      if (req.method !== 'GET') throw new HttpError(405, 'methodNotAllowed', 'Method not allowed');
      return sendJson(res, 200, listPage(bucket, query));
    }
    const name = decodeURIComponent(encodedName);
    if (req.method === 'GET') {
      const object = find(bucket, name, query.generation);
      if (query.alt === 'media') {
        res.writeHead(200, {
          'content-type': object.contentType,
          'content-length': String(object.bytes.length),
          'x-goog-generation': object.generation.toString(),
          'x-goog-metageneration': '1',
          'x-goog-stored-content-encoding': 'identity',
          'x-goog-stored-content-length': String(object.bytes.length),
          // With these the client validates what it downloaded, as against Cloud Storage.
          'x-goog-hash': `crc32c=${crc32c(object.bytes)},md5=${createHash('md5').update(object.bytes).digest('base64')}`,
        });
        res.end(object.bytes);
        return;
      }
      return sendJson(res, 200, resource(bucket, name, object));
    }
    if (req.method === 'DELETE') {
      const object = find(bucket, name, query.generation);
      checkGeneration(object, query.ifGenerationMatch);
      bucketOf(bucket).delete(name);
      res.writeHead(204).end();
      return;
    }
    throw new HttpError(405, 'methodNotAllowed', 'Method not allowed');
  };

  const listPage = (bucket: string, query: Record<string, string>) => {
    const prefix = query.prefix ?? '';
    const delimiter = query.delimiter;
    const pageSize = Math.min(Number(query.maxResults ?? 1000) || 1000, maxPageSize);
    // One ordered sequence of objects and (deduplicated) prefixes, paged by the last key returned.
    const entries = new Map<
      string,
      { kind: 'object'; name: string } | { kind: 'prefix'; prefix: string }
    >();
    for (const name of bucketOf(bucket).keys()) {
      if (!name.startsWith(prefix)) continue;
      const cut =
        delimiter === undefined || delimiter === '' ? -1 : name.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const group = name.slice(0, cut + (delimiter?.length ?? 0));
        entries.set(group, { kind: 'prefix', prefix: group });
      } else {
        entries.set(name, { kind: 'object', name });
      }
    }
    const after =
      query.pageToken === undefined
        ? undefined
        : Buffer.from(query.pageToken, 'base64url').toString('utf8');
    const keys = [...entries.keys()]
      .sort(compareUtf8)
      .filter((key) => after === undefined || compareUtf8(key, after) > 0);
    const page = keys.slice(0, pageSize);
    const items = [];
    const prefixes = [];
    for (const key of page) {
      const entry = entries.get(key);
      if (entry?.kind === 'object') {
        const object = bucketOf(bucket).get(entry.name);
        if (object !== undefined) items.push(resource(bucket, entry.name, object));
      } else if (entry?.kind === 'prefix') {
        prefixes.push(entry.prefix);
      }
    }
    const last = page.at(-1);
    return {
      kind: 'storage#objects',
      ...(items.length === 0 ? {} : { items }),
      ...(prefixes.length === 0 ? {} : { prefixes }),
      ...(keys.length > page.length && last !== undefined
        ? { nextPageToken: Buffer.from(last, 'utf8').toString('base64url') }
        : {}),
    };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake-gcs');
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
      });
      const fault = faults.shift();
      if (fault === 'hang') return; // never answered; stop() destroys the connection
      if (fault === '503') {
        return sendError(
          res,
          new HttpError(503, 'backendError', 'We encountered an internal error. Please try again.'),
        );
      }
      handle(req, res, url, Buffer.concat(chunks)).catch((error: unknown) => {
        sendError(
          res,
          error instanceof HttpError ? error : new HttpError(500, 'backendError', String(error)),
        );
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    injectFault(kind, count = 1) {
      for (let i = 0; i < count; i++) faults.push(kind);
    },
    clearFaults() {
      faults.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Splits a `multipart/related` upload into its JSON metadata part and its media part. */
function parseUpload(
  req: IncomingMessage,
  query: Record<string, string>,
  body: Buffer,
): { metadata: Record<string, unknown>; media: Buffer; mediaType: string | undefined } {
  const contentType = req.headers['content-type'] ?? '';
  if (query.uploadType === 'media') {
    return { metadata: {}, media: body, mediaType: contentType || undefined };
  }
  if (query.uploadType !== 'multipart') {
    throw new HttpError(400, 'invalid', `Unsupported uploadType ${query.uploadType ?? '(none)'}`);
  }
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (boundary === undefined)
    throw new HttpError(400, 'invalid', 'Multipart upload without a boundary');
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    let partStart = start + delimiter.length;
    if (body.subarray(partStart, partStart + 2).toString() === '--') break; // closing delimiter
    partStart += 2; // CRLF after the delimiter
    const next = body.indexOf(delimiter, partStart);
    if (next < 0) break;
    const part = body.subarray(partStart, next - 2); // drop the CRLF before the next delimiter
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0)
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: part.subarray(headerEnd + 4) });
    start = next;
  }
  const [meta, media] = parts;
  if (meta === undefined || media === undefined) {
    throw new HttpError(400, 'invalid', `Multipart upload with ${parts.length} parts, expected 2`);
  }
  return {
    metadata: JSON.parse(meta.body.toString('utf8')) as Record<string, unknown>,
    media: Buffer.from(media.body),
    mediaType: media.headers['content-type'],
  };
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [key, entry] of Object.entries(value)) {
    if (entry !== null && entry !== undefined) out[key] = String(entry);
  }
  return out;
}

function crc32c(bytes: Buffer): string {
  const crc = new CRC32C();
  crc.update(bytes);
  return crc.toString();
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(text);
}

/** Google's JSON error shape, which the client turns into an ApiError with `code` = status. */
function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, {
    error: {
      code: error.status,
      message: error.message,
      errors: [{ message: error.message, domain: 'global', reason: error.reason }],
    },
  });
}
