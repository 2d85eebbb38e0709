import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatchJobs } from './batches.ts';
import type { FileStore } from './files.ts';

/**
 * Routes of the Batch and Files APIs (see batches.ts and files.ts for the shapes). Returns false
 * for any other path, so the server can answer it.
 */

const CREATE = /^\/v1beta\/models\/([^/:]+):batchGenerateContent$/;
const BATCH = /^\/v1beta\/batches\/([^/:]+)(:cancel)?$/;
const FILE = /^\/v1beta\/files\/([^/:]+)(:download)?$/;
/** The request size limit of Google's front end: bigger inline batches must go through a file. */
const MAX_BODY_BYTES = 20 * 1024 * 1024;

export async function routeBatchApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  api: { batches: BatchJobs; files: FileStore; hasKey: boolean },
): Promise<boolean> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const create = CREATE.exec(path);
  const batch = BATCH.exec(path);
  const file = FILE.exec(path);
  const upload = path === '/upload/v1beta/files';
  if (!create && !batch && !file && !upload && path !== '/v1beta/batches') return false;
  if (!api.hasKey) {
    req.resume();
    send(res, 403, { error: { code: 403, message: 'No API key.', status: 'PERMISSION_DENIED' } });
    return true;
  }
  if (upload && method === 'POST') {
    const id = url.searchParams.get('upload_id');
    const limit = id ? Number.POSITIVE_INFINITY : MAX_BODY_BYTES;
    const body = await readAll(req, limit);
    if (id) api.files.continueUpload(req, id, body ?? Buffer.alloc(0), res);
    else api.files.startUpload(req, body ?? Buffer.alloc(0), res);
    return true;
  }
  if (file?.[1] && method === 'GET') {
    req.resume();
    api.files.serve(file[1], file[2] === ':download', res);
    return true;
  }
  if (create?.[1] && method === 'POST') {
    const body = await readAll(req, MAX_BODY_BYTES);
    if (!body) {
      send(res, 400, {
        error: {
          code: 400,
          message: `Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`,
          status: 'INVALID_ARGUMENT',
        },
      });
      return true;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      send(res, 400, {
        error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT' },
      });
      return true;
    }
    const answer = api.batches.create(decodeURIComponent(create[1]), parsed);
    send(res, answer.status, answer.body);
    return true;
  }
  req.resume();
  if (path === '/v1beta/batches' && method === 'GET') {
    const pageSize = Number(url.searchParams.get('pageSize') ?? '50') || 50;
    const answer = api.batches.list(pageSize, url.searchParams.get('pageToken') ?? undefined);
    send(res, answer.status, answer.body);
    return true;
  }
  if (batch?.[1]) {
    const id = batch[1];
    const answer =
      batch[2] === ':cancel' && method === 'POST'
        ? api.batches.cancel(id)
        : method === 'GET'
          ? api.batches.get(id)
          : undefined;
    if (answer) {
      send(res, answer.status, answer.body);
      return true;
    }
  }
  return false;
}

/** The body, or undefined when it is over `limit` bytes. */
async function readAll(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
