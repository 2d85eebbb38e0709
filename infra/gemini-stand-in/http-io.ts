import type { IncomingMessage, ServerResponse } from 'node:http';

/** Google's front end rejects bigger request bodies. */
export const MAX_BODY_BYTES = 20 * 1024 * 1024;

/** The body, or undefined when it is over `limit` bytes (the rest is read and dropped). */
export async function readBody(
  req: IncomingMessage,
  limit = MAX_BODY_BYTES,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= limit) chunks.push(buffer);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The API key from any place Google accepts it; Vertex-style bearer tokens count too. */
export function apiKeyOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-goog-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (key) return key;
  const query = new URL(req.url ?? '/', 'http://stand-in').searchParams.get('key');
  if (query) return query;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') && auth.length > 7 ? auth : undefined;
}

/** The host to put in URLs for a server listening on `host` (a wildcard is reached on loopback). */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
