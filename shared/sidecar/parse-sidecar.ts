import type { z } from 'zod';
import { BananaError } from '../errors.ts';
import {
  type EditSidecar,
  editSidecarSchema,
  type Manifest,
  manifestSchema,
} from './sidecar-schema.ts';

export type ParsedSidecar =
  | { kind: 'image' | 'folder'; spec: EditSidecar }
  | { kind: 'manifest'; spec: Manifest };

export type ParseResult =
  | { ok: true; sidecar: ParsedSidecar }
  | { ok: false; errors: BananaError[] };

/**
 * Parses and validates one sidecar. Every problem is reported, each naming the file and the
 * field, so `bananaflow validate` can explain all of them at once.
 */
export function parseSidecar(
  name: string,
  kind: 'image' | 'folder' | 'manifest',
  bytes: Buffer,
  maxBytes: number,
): ParseResult {
  if (bytes.length > maxBytes) {
    return {
      ok: false,
      errors: [
        new BananaError({
          code: 'SIDECAR_TOO_LARGE',
          message: `${name} is ${bytes.length} bytes; sidecars are limited to ${maxBytes} bytes.`,
          fix: 'Split the jobs over several NAME.jobs.json manifests.',
          details: { file: name, bytes: bytes.length, maxBytes },
        }),
      ],
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    return {
      ok: false,
      errors: [
        new BananaError({
          code: 'SIDECAR_INVALID_JSON',
          message: `${name} is not valid JSON: ${(error as Error).message}`,
          fix: 'Fix the JSON syntax (a validator or `bananaflow validate` shows where).',
          details: { file: name },
        }),
      ],
    };
  }
  const schema = kind === 'manifest' ? manifestSchema : editSidecarSchema;
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, errors: issuesToErrors(name, result.error.issues) };
  return kind === 'manifest'
    ? { ok: true, sidecar: { kind, spec: result.data as Manifest } }
    : { ok: true, sidecar: { kind, spec: result.data as EditSidecar } };
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

function issuesToErrors(file: string, issues: readonly z.core.$ZodIssue[]): BananaError[] {
  return issues.flatMap((issue) => {
    const at = fieldPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const field = at ? `${at}.${key}` : key;
        return new BananaError({
          code: 'SIDECAR_INVALID',
          message: `${file}: unknown field "${field}".`,
          fix: `Remove "${key}" or correct its spelling; see schema/ for the fields sidecar v1 accepts.`,
          details: { file, field },
        });
      });
    }
    const field = at || '(root)';
    return [
      new BananaError({
        code: 'SIDECAR_INVALID',
        message: `${file}: field "${field}": ${issue.message}.`,
        fix: `Correct "${field}" in ${file}.`,
        details: { file, field },
      }),
    ];
  });
}
