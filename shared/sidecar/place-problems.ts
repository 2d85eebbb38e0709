import { BananaError } from '../errors.ts';
import { locateField } from './json-location.ts';

/** `jobs[2].inputs[0]` → ['jobs', 2, 'inputs', 0]. */
function pathOf(field: string): Array<string | number> {
  return [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) =>
    m[2] === undefined ? String(m[1]) : Number(m[2]),
  );
}

/**
 * Gives planning problems the line and column of their field in the sidecar (as the schema
 * problems have), and orders all of a sidecar's problems as they appear in the file.
 */
export function placeProblems(file: string, text: string, problems: BananaError[]): BananaError[] {
  const placed = problems.map((problem) => {
    const field = problem.details.field;
    if (problem.details.line !== undefined || typeof field !== 'string' || field.startsWith('('))
      return problem;
    const place = locateField(text, pathOf(field));
    if (!place || !problem.message.startsWith(`${file}: `)) return problem;
    return new BananaError({
      code: problem.code,
      message: `${file}:${place.line}:${place.column}: ${problem.message.slice(file.length + 2)}`,
      ...(problem.fix === undefined ? {} : { fix: problem.fix }),
      retryable: problem.retryable,
      details: { ...problem.details, ...place },
    });
  });
  const line = (p: BananaError) => Number(p.details.line ?? Number.MAX_SAFE_INTEGER);
  const column = (p: BananaError) => Number(p.details.column ?? 0);
  return placed.sort((a, b) => line(a) - line(b) || column(a) - column(b));
}
