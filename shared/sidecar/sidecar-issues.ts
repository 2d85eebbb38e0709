import type { z } from 'zod';
import { BananaError } from '../errors.ts';
import { didYouMean } from '../text/did-you-mean.ts';
import { locateField } from './json-location.ts';

type Path = ReadonlyArray<PropertyKey>;

/** `jobs[3].output.format`: the one way fields are named in every message. */
export function fieldPath(path: Path): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

/** The zod schema that validates the value at `path`, through optionals, defaults and arrays. */
function schemaAt(schema: z.core.$ZodType, path: Path): z.core.$ZodType | undefined {
  let current: z.core.$ZodType | undefined = schema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.innerType) return unwrap(def.innerType);
    if (def.type === 'pipe' && def.in) return unwrap(def.in);
    return s;
  };
  for (const part of path) {
    if (!current) return undefined;
    const def = unwrap(current)._zod.def as {
      type: string;
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
      valueType?: z.core.$ZodType;
    };
    if (def.type === 'object') current = def.shape?.[String(part)];
    else if (def.type === 'array') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else return undefined;
  }
  return current ? unwrap(current) : undefined;
}

/** Field names the object at `path` accepts (for "did you mean" on unknown fields). */
function keysAt(schema: z.core.$ZodType, path: Path): string[] {
  const def = schemaAt(schema, path)?._zod.def as
    | { type: string; shape?: Record<string, unknown> }
    | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function valueAt(json: unknown, path: Path): unknown {
  let current = json;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/**
 * Zod issues as BananaErrors that name the file, the line and column, the field and the fix,
 * with a "did you mean" for misspelt field names and enum values.
 */
export function issuesToErrors(
  file: string,
  text: string,
  json: unknown,
  schema: z.core.$ZodType,
  issues: readonly z.core.$ZodIssue[],
): BananaError[] {
  const where = (path: Path, key?: string) => {
    const place = locateField(text, path as Array<string | number>, key);
    return place ? { at: `${file}:${place.line}:${place.column}`, place } : { at: file };
  };
  return issues.flatMap((issue) => {
    const at = fieldPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, issue.path);
      return issue.keys.map((key) => {
        const field = at ? `${at}.${key}` : key;
        const hint = didYouMean(key, known);
        const loc = where(issue.path, key);
        return new BananaError({
          code: 'SIDECAR_INVALID',
          message: `${loc.at}: unknown field "${field}".${hint}`,
          fix: hint
            ? `Rename "${key}"${hint.replace(' Did you mean', ' to').replace('?', '.')}`
            : `Remove "${key}"; sidecar v1 accepts ${known.map((k) => `"${k}"`).join(', ')} here (see schema/).`,
          details: { file, field, ...loc.place },
        });
      });
    }
    const field = at || '(root)';
    const loc = where(issue.path);
    const value = valueAt(json, issue.path);
    const options =
      issue.code === 'invalid_value' ? issue.values.filter((v) => typeof v === 'string') : [];
    const hint = typeof value === 'string' && options.length > 0 ? didYouMean(value, options) : '';
    return [
      new BananaError({
        code: 'SIDECAR_INVALID',
        message: `${loc.at}: field "${field}": ${issue.message}.${hint}`,
        fix: hint
          ? `Set "${field}" to${hint.replace(' Did you mean', '').replace('?', '.')}`
          : `Correct "${field}" in ${file}.`,
        details: { file, field, ...loc.place },
      }),
    ];
  });
}
