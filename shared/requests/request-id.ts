import { createHash } from 'node:crypto';
import type { EditRequest } from './request-schema.ts';

/** JSON with object keys sorted at every level, so the same content always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The identity of a request's content: everything but its id and `$schema`. It stands in for a
 * sidecar's generation in the job ids, so the same request published twice plans the same jobs.
 */
export function requestContentHash(request: EditRequest): string {
  const { requestId: _id, $schema: _schema, ...content } = request;
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 20);
}

/** The id of a request that names none: `req-` + its content hash (the CLI prints the same). */
export function defaultRequestId(request: EditRequest): string {
  return `req-${requestContentHash(request)}`;
}
