import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The stand-in's Files API (the slice the Batch API uses), speaking the REST protocol of
 * @google/genai's `files.upload` / `files.download`:
 *   POST {base}/upload/v1beta/files   X-Goog-Upload-Protocol: resumable, -Command: start, body {file}
 *        → header x-goog-upload-url
 *   POST {upload url}                  X-Goog-Upload-Command: upload[, finalize], -Offset: n, bytes
 *        → x-goog-upload-status: active | final (+ {file} when final)
 *   GET  {base}/v1beta/files/{id}:download?alt=media → the bytes
 *   GET  {base}/v1beta/files/{id}      → the file's metadata
 * Files live in memory until the stand-in closes.
 */

export interface StoredFile {
  name: string;
  displayName?: string;
  mimeType: string;
  sizeBytes: string;
  createTime: string;
  state: 'ACTIVE';
  uri: string;
  bytes: Buffer;
}

interface PendingUpload {
  meta: { displayName?: string; mimeType: string };
  chunks: Buffer[];
  received: number;
}

/** 2 GB per file, as the real Files API. */
const MAX_FILE_BYTES = 2 * 1024 ** 3;

export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private readonly uploads = new Map<string, PendingUpload>();

  constructor(private readonly baseUrl: () => string) {}

  /** Adds a file the stand-in wrote itself (a batch's responses file). */
  put(bytes: Buffer, mimeType: string, displayName?: string): StoredFile {
    const id = randomBytes(6).toString('hex');
    const file: StoredFile = {
      name: `files/${id}`,
      ...(displayName ? { displayName } : {}),
      mimeType,
      sizeBytes: String(bytes.length),
      createTime: new Date().toISOString(),
      state: 'ACTIVE',
      uri: `${this.baseUrl()}/v1beta/files/${id}`,
      bytes,
    };
    this.files.set(file.name, file);
    return file;
  }

  get(name: string): StoredFile | undefined {
    return this.files.get(name.startsWith('files/') ? name : `files/${name}`);
  }

  /** Starts a resumable upload; answers with the URL to send the bytes to. */
  startUpload(req: IncomingMessage, body: Buffer, res: ServerResponse) {
    if (header(req, 'x-goog-upload-protocol') !== 'resumable') {
      return sendError(res, 400, 'Only resumable uploads are supported.');
    }
    let file: { mimeType?: string; displayName?: string } = {};
    try {
      file = (JSON.parse(body.toString('utf8') || '{}') as { file?: typeof file }).file ?? {};
    } catch {
      return sendError(res, 400, 'Invalid JSON payload received.');
    }
    const mimeType = file.mimeType ?? header(req, 'x-goog-upload-header-content-type');
    if (!mimeType) return sendError(res, 400, 'Missing mimeType.');
    const id = randomBytes(8).toString('hex');
    this.uploads.set(id, {
      meta: { mimeType, ...(file.displayName ? { displayName: file.displayName } : {}) },
      chunks: [],
      received: 0,
    });
    const url = `${this.baseUrl()}/upload/v1beta/files?upload_id=${id}&upload_protocol=resumable`;
    res.writeHead(200, { 'x-goog-upload-url': url, 'content-type': 'application/json' });
    res.end('{}');
  }

  /** Takes one chunk of a resumable upload; `finalize` makes the file. */
  continueUpload(req: IncomingMessage, id: string, chunk: Buffer, res: ServerResponse) {
    const upload = this.uploads.get(id);
    if (!upload) return sendError(res, 404, `No upload ${id}.`);
    const offset = Number(header(req, 'x-goog-upload-offset') ?? '0');
    if (offset !== upload.received) {
      return sendError(res, 400, `Upload offset ${offset}, expected ${upload.received}.`);
    }
    upload.chunks.push(chunk);
    upload.received += chunk.length;
    if (upload.received > MAX_FILE_BYTES) {
      this.uploads.delete(id);
      return sendError(res, 400, `Files are limited to ${MAX_FILE_BYTES} bytes.`);
    }
    const command = header(req, 'x-goog-upload-command') ?? '';
    if (!command.includes('finalize')) {
      res.writeHead(200, { 'x-goog-upload-status': 'active', 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    this.uploads.delete(id);
    const { bytes: _bytes, ...file } = this.put(
      Buffer.concat(upload.chunks),
      upload.meta.mimeType,
      upload.meta.displayName,
    );
    const text = JSON.stringify({ file });
    res.writeHead(200, { 'x-goog-upload-status': 'final', 'content-type': 'application/json' });
    res.end(text);
  }

  /** GET files/{id}:download?alt=media (the bytes) or files/{id} (the metadata). */
  serve(name: string, download: boolean, res: ServerResponse) {
    const file = this.get(name);
    if (!file) return sendError(res, 404, `File ${name} not found.`);
    if (download) {
      res.writeHead(200, { 'content-type': file.mimeType, 'content-length': file.bytes.length });
      res.end(file.bytes);
      return;
    }
    const { bytes: _bytes, ...meta } = file;
    const text = JSON.stringify(meta);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(text);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendError(res: ServerResponse, code: number, message: string): void {
  const status = code === 404 ? 'NOT_FOUND' : 'INVALID_ARGUMENT';
  const text = JSON.stringify({ error: { code, message, status } });
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(text);
}
