import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatchJobs, JsonAnswer } from './batches.ts';
import type { FileStore } from './files.ts';
import { MAX_BODY_BYTES, readBody, sendJson } from './http-io.ts';

/**
 * Routes of the Batch and Files APIs (see batches.ts and files.ts for the shapes). Returns false
 * for any other path, so the server can answer it.
 */

const CREATE = /^\/v1beta\/models\/([^/:]+):batchGenerateContent$/;
const BATCH = /^\/v1beta\/batches\/([^/:]+)(:cancel)?$/;
const FILE = /^\/v1beta\/files\/([^/:]+)(:download)?$/;
const UPLOAD = '/upload/v1beta/files';
const BATCHES = '/v1beta/batches';

export interface BatchApi {
  batches: BatchJobs;
  files: FileStore;
  hasKey: boolean;
}

export async function routeBatchApi(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  api: BatchApi,
): Promise<boolean> {
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const create = CREATE.exec(path);
  const file = FILE.exec(path);
  if (!create && !file && !BATCH.test(path) && path !== UPLOAD && path !== BATCHES) return false;
  if (!api.hasKey) {
    req.resume();
    sendJson(res, 403, {
      error: { code: 403, message: 'No API key.', status: 'PERMISSION_DENIED' },
    });
    return true;
  }
  if (path === UPLOAD && method === 'POST') return upload(req, res, url, api.files);
  if (file?.[1] && method === 'GET') {
    req.resume();
    api.files.serve(file[1], file[2] === ':download', res);
    return true;
  }
  if (create?.[1] && method === 'POST') {
    await createBatch(req, res, decodeURIComponent(create[1]), api.batches);
    return true;
  }
  req.resume();
  const answer = batchAnswer(method, url, api.batches);
  if (answer) sendJson(res, answer.status, answer.body);
  return answer !== undefined;
}

/** The Files API's resumable upload: the start (with the metadata) and its chunks. */
async function upload(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  files: FileStore,
): Promise<true> {
  const id = url.searchParams.get('upload_id');
  const body =
    (await readBody(req, id ? Number.POSITIVE_INFINITY : MAX_BODY_BYTES)) ?? Buffer.alloc(0);
  if (id) files.continueUpload(req, id, body, res);
  else files.startUpload(req, body, res);
  return true;
}

/** POST models/{model}:batchGenerateContent with an inline or a file source. */
async function createBatch(
  req: IncomingMessage,
  res: ServerResponse,
  model: string,
  batches: BatchJobs,
): Promise<void> {
  const body = await readBody(req);
  if (!body) {
    return sendJson(
      res,
      400,
      invalidArgument(`Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`),
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return sendJson(res, 400, invalidArgument('Invalid JSON payload received.'));
  }
  const answer = batches.create(model, parsed);
  sendJson(res, answer.status, answer.body);
}

/** GET batches (paged), GET batches/{id}, POST batches/{id}:cancel; undefined = not one of them. */
function batchAnswer(method: string, url: URL, batches: BatchJobs): JsonAnswer | undefined {
  if (url.pathname === BATCHES && method === 'GET') {
    const pageSize = Number(url.searchParams.get('pageSize') ?? '50') || 50;
    return batches.list(pageSize, url.searchParams.get('pageToken') ?? undefined);
  }
  const batch = BATCH.exec(url.pathname);
  if (!batch?.[1]) return undefined;
  if (batch[2] === ':cancel' && method === 'POST') return batches.cancel(batch[1]);
  return method === 'GET' ? batches.get(batch[1]) : undefined;
}

function invalidArgument(message: string) {
  return { error: { code: 400, message, status: 'INVALID_ARGUMENT' } };
}
