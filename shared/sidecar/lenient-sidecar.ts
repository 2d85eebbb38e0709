import type { z } from 'zod';
import { fieldPath } from './sidecar-issues.ts';

type Path = ReadonlyArray<PropertyKey>;
type Bag = Record<PropertyKey, unknown>;

const PLACEHOLDER_PROMPT = '(placeholder for a sidecar with structural problems)';

function containerAt(json: unknown, path: Path): Bag | undefined {
  let current = json;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Bag)[part];
  }
  return current !== null && typeof current === 'object' ? (current as Bag) : undefined;
}

/**
 * Takes out what one issue complains about; returns the field it removed. An unknown key goes;
 * a bad array element takes its whole array with it (so later indexes keep their numbers), except
 * a manifest job, which is emptied in place; a missing prompt gets a placeholder.
 */
function setAside(json: unknown, issue: z.core.$ZodIssue): string | undefined {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const bag = containerAt(json, path);
    for (const key of issue.keys) if (bag) delete bag[key];
    return fieldPath(path) || '(root)';
  }
  const last = path.at(-1);
  if (last === undefined) return undefined;
  const isJob = path.length === 2 && path[0] === 'jobs' && typeof last === 'number';
  if (issue.code === 'custom' && last === 'prompt') {
    const bag = containerAt(json, path.slice(0, -1));
    if (bag) bag.prompt = PLACEHOLDER_PROMPT;
    return fieldPath(path);
  }
  if (isJob) {
    const jobs = containerAt(json, ['jobs']);
    if (jobs) jobs[last] = {};
    return fieldPath(path);
  }
  const target = typeof last === 'number' ? path.slice(0, -1) : path;
  const key = target.at(-1);
  const bag = containerAt(json, target.slice(0, -1));
  if (!bag || key === undefined) return undefined;
  delete bag[key];
  return fieldPath(target);
}

/**
 * The sidecar with its structurally broken fields set aside, so the planner can still report the
 * semantic problems of the rest (unknown model, missing input, …) in the same pass: one round of
 * fixes instead of several. Undefined when nothing sensible is left. Never used to plan jobs.
 */
export function lenientSpec<T>(
  json: unknown,
  schema: z.ZodType<T>,
  issues: readonly z.core.$ZodIssue[],
): { spec: T; setAside: string[] } | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const clone = structuredClone(json);
  const removed: string[] = [];
  let pending = issues;
  for (let pass = 0; pass < 5; pass++) {
    for (const issue of pending) {
      const field = setAside(clone, issue);
      if (field) removed.push(field);
    }
    const result = schema.safeParse(clone);
    if (result.success) return { spec: result.data, setAside: removed };
    pending = result.error.issues;
  }
  return undefined;
}
