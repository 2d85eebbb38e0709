import type { z } from 'zod';
import { BananaError } from '../errors.ts';
import { jsonSyntaxError } from './json-location.ts';
import { lenientSpec } from './lenient-sidecar.ts';
import { issuesToErrors } from './sidecar-issues.ts';
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
  | {
      ok: false;
      errors: BananaError[];
      /**
       * The sidecar with its broken fields set aside (named in `setAside`), for finding its
       * semantic problems in the same pass. Never planned into jobs.
       */
      partial?: { sidecar: ParsedSidecar; setAside: string[] };
    };

/**
 * Parses and validates one sidecar. Every problem is reported, each naming the file, the line
 * and column and the field, so `bananaflow validate` can explain all of them at once.
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
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, errors: [syntaxError(name, text, error as Error)] };
  }
  const schema: z.ZodType<EditSidecar | Manifest> =
    kind === 'manifest' ? manifestSchema : editSidecarSchema;
  const result = schema.safeParse(json);
  const wrap = (spec: EditSidecar | Manifest): ParsedSidecar =>
    kind === 'manifest' ? { kind, spec: spec as Manifest } : { kind, spec: spec as EditSidecar };
  if (result.success) return { ok: true, sidecar: wrap(result.data) };
  const errors = issuesToErrors(name, text, json, schema, result.error.issues);
  const lenient = lenientSpec(json, schema, result.error.issues);
  return {
    ok: false,
    errors,
    ...(lenient ? { partial: { sidecar: wrap(lenient.spec), setAside: lenient.setAside } } : {}),
  };
}

function syntaxError(name: string, text: string, error: Error): BananaError {
  const at = jsonSyntaxError(text);
  const where = at ? `${name}:${at.line}:${at.column}` : name;
  return new BananaError({
    code: 'SIDECAR_INVALID_JSON',
    message: `${where}: not valid JSON: ${at ? `${at.what} at line ${at.line}, column ${at.column}` : error.message}.`,
    fix: at
      ? `Fix the JSON at line ${at.line}, column ${at.column} of ${name} (JSON allows no comments and no trailing commas).`
      : `Fix the JSON syntax of ${name}.`,
    details: { file: name, ...(at ? { line: at.line, column: at.column } : {}) },
  });
}
