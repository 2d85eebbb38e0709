import type { z } from 'zod';

/**
 * "Did you mean" for unknown fields: the known field closest to a misspelt one, by edit distance
 * (at most a third of its length, and at least 2 edits allowed).
 */
export function closestField(unknown: string, known: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(unknown.length / 3));
  let best: { field: string; distance: number } | undefined;
  for (const field of known) {
    const distance = editDistance(unknown.toLowerCase(), field.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { field, distance };
  }
  return best?.field;
}

/** Levenshtein distance, one row at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The field names an object schema accepts at `path` (through optional, default, array, pipe). */
export function knownFieldsAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    const def = s._zod.def as unknown as {
      type: string;
      innerType?: z.core.$ZodType;
      in?: z.core.$ZodType;
    };
    if (
      (def.type === 'optional' || def.type === 'default' || def.type === 'nullable') &&
      def.innerType
    )
      return unwrap(def.innerType);
    if (def.type === 'pipe' && def.in) return unwrap(def.in);
    return s;
  };
  for (const part of path) {
    if (!current) return [];
    const def = unwrap(current)._zod.def as unknown as {
      type: string;
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
    };
    if (def.type === 'array' && typeof part === 'number') current = def.element;
    else if (def.type === 'object' && typeof part === 'string') current = def.shape?.[part];
    else return [];
  }
  if (!current) return [];
  const def = unwrap(current)._zod.def as unknown as { type: string; shape?: object };
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}
