import type { ModelCatalog } from '../catalog/model-catalog.ts';
import type { Tier } from '../catalog/tiers.ts';
import { BananaError, serializeError, toBananaError } from '../errors.ts';
import {
  type DropObject,
  type PlanContext,
  type PlanResult,
  planSidecarJobs,
} from '../planning/plan-jobs.ts';
import type { Logger } from '../ports/logger.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { OUTPUT_TAG, PIPELINE_PREFIX } from '../sidecar/drop-files.ts';
import { type ParseResult, parseSidecar } from '../sidecar/parse-sidecar.ts';
import { placeProblems } from '../sidecar/place-problems.ts';
import { type ErrorRecord, toJsonBytes } from './records.ts';

/** What planning needs; shared by the ingest function and the embedded runner. */
export interface PlannerDeps {
  store: ObjectStore;
  catalog: ModelCatalog;
  log: Logger;
  now: () => Date;
  uriOf: (bucket: string, name: string) => string;
  inputBucket: string;
  outputBucket: string;
  /** Model of sidecars that name none (BANANAFLOW_MODEL, --model); unset = the catalog's default. */
  defaultModel?: string | undefined;
  /** Tier of jobs whose sidecar names none (default standard). */
  defaultTier?: Tier | undefined;
  /** Tiers this platform runs (default all); another is refused at planning. */
  availableTiers?: readonly Tier[] | undefined;
  maxSidecarBytes: number;
}

export type SidecarKind = 'image' | 'folder' | 'manifest';

export interface SidecarPlan extends PlanResult {
  sidecar: string;
  generation: string;
}

/** The sidecar to plan: `generation` is the version the event is about (unset = the current). */
export interface SidecarToRead {
  name: string;
  generation?: string;
  kind: SidecarKind;
  onlyInvolving?: string;
}

export interface PlanOptions {
  runId: string;
  objects: ReadonlyMap<string, DropObject>;
  missingInputs: PlanContext['missingInputs'];
  imageSize?: PlanContext['imageSize'];
}

/**
 * Reads, validates and plans one sidecar. Problems never throw: they are returned and written as
 * the sidecar's error record (NAME.error.json in the output), which a valid version removes.
 */
export async function planSidecar(
  deps: PlannerDeps,
  sidecar: SidecarToRead,
  options: PlanOptions,
): Promise<SidecarPlan> {
  const read = await readSidecar(deps, sidecar, options.runId);
  if ('problems' in read) return read;
  const { bytes, generation } = read;
  const parsed = parseSidecar(sidecar.name, sidecar.kind, bytes, deps.maxSidecarBytes);
  const context = planContext(deps, options);
  const text = () => bytes.toString('utf8');
  if (!parsed.ok) {
    const problems = [
      ...parsed.errors,
      ...partialProblems(parsed, sidecar.name, generation, context),
    ];
    const placed = placeProblems(sidecar.name, text(), problems);
    return recordProblems(deps, sidecar.name, generation, options.runId, placed);
  }
  const plan = planSidecarJobs(
    {
      name: sidecar.name,
      generation,
      parsed: parsed.sidecar,
      ...(sidecar.onlyInvolving ? { onlyInvolving: sidecar.onlyInvolving } : {}),
    },
    context,
  );
  if (plan.problems.length > 0) {
    plan.problems = placeProblems(sidecar.name, text(), plan.problems);
    await writeSidecarRecord(deps, sidecar.name, generation, options.runId, plan.problems);
  } else {
    await deps.store.delete(deps.outputBucket, sidecarRecordName(sidecar.name));
  }
  return { ...plan, sidecar: sidecar.name, generation };
}

/** The sidecar's bytes and generation, or its plan of one problem (too large, unreadable). */
async function readSidecar(
  deps: PlannerDeps,
  sidecar: SidecarToRead,
  runId: string,
): Promise<{ bytes: Buffer; generation: string } | SidecarPlan> {
  try {
    const { bytes, info } = await deps.store.read(deps.inputBucket, sidecar.name, {
      maxBytes: deps.maxSidecarBytes,
      ...(sidecar.generation ? { generation: sidecar.generation } : {}),
    });
    return { bytes, generation: info.generation };
  } catch (error) {
    const e = toBananaError(error);
    const problem =
      e.code === 'INPUT_TOO_LARGE'
        ? new BananaError({
            code: 'SIDECAR_TOO_LARGE',
            message: `${sidecar.name} is over the ${deps.maxSidecarBytes}-byte sidecar limit.`,
            fix: 'Split the jobs over several NAME.jobs.json manifests.',
            details: { file: sidecar.name },
          })
        : e;
    if (problem.retryable || problem.code === 'STORAGE_NOT_FOUND') throw problem;
    return recordProblems(deps, sidecar.name, sidecar.generation ?? '', runId, [problem]);
  }
}

function planContext(deps: PlannerDeps, options: PlanOptions): PlanContext {
  return {
    inputBucket: deps.inputBucket,
    outputBucket: deps.outputBucket,
    catalog: deps.catalog,
    defaultModel: deps.defaultModel,
    defaultTier: deps.defaultTier,
    availableTiers: deps.availableTiers,
    runId: options.runId,
    now: deps.now(),
    objects: options.objects,
    missingInputs: options.missingInputs,
    ...(options.imageSize ? { imageSize: options.imageSize } : {}),
  };
}

/**
 * Structural and semantic problems together: plan what was left after setting aside the broken
 * fields, keep its problems, never its jobs.
 */
function partialProblems(
  parsed: Extract<ParseResult, { ok: false }>,
  name: string,
  generation: string,
  context: PlanContext,
): BananaError[] {
  if (!parsed.partial) return [];
  const plan = planSidecarJobs({ name, generation, parsed: parsed.partial.sidecar }, context);
  return semanticProblems(plan.problems, parsed.partial.setAside);
}

/** Problems that depend on the whole job (its mode, image count, cost) are only trustworthy when nothing of its scope was set aside. */
const WHOLE_JOB_CODES = new Set(['SIDECAR_INVALID', 'TOO_MANY_IMAGES', 'COST_CAP_EXCEEDED']);

function semanticProblems(problems: BananaError[], setAside: string[]): BananaError[] {
  const scopeOf = (field: string) => /^jobs\[\d+\]/.exec(field)?.[0] ?? '';
  const scopes = new Set(setAside.map(scopeOf));
  return problems.filter((p) => {
    const field = String(p.details.field ?? '');
    if (setAside.some((f) => field.startsWith(f))) return false;
    const scope = scopeOf(field);
    const touched =
      scopes.has(scope) || scopes.has('') || setAside.some((f) => f.startsWith('defaults'));
    return !(touched && WHOLE_JOB_CODES.has(p.code));
  });
}

/** `shoot/cat.jpg.edit.json` → `shoot/cat.jpg.edit.error.json` in the output bucket. */
export function sidecarRecordName(sidecarName: string): string {
  return `${sidecarName.replace(/\.json$/i, '')}.error.json`;
}

async function recordProblems(
  deps: PlannerDeps,
  name: string,
  generation: string,
  runId: string,
  problems: BananaError[],
): Promise<SidecarPlan> {
  await writeSidecarRecord(deps, name, generation, runId, problems);
  return {
    sidecar: name,
    generation,
    jobs: [],
    problems,
    waitingFor: [],
    warnings: [],
    estimatedCostUsd: 0,
    standardCostUsd: 0,
  };
}

async function writeSidecarRecord(
  deps: PlannerDeps,
  name: string,
  generation: string,
  runId: string,
  problems: BananaError[],
): Promise<void> {
  const [first] = problems;
  if (!first) return;
  const record: ErrorRecord & {
    generation: string;
    problems: ReturnType<typeof serializeError>[];
  } = {
    schemaVersion: 1,
    status: 'failed',
    runId,
    file: deps.uriOf(deps.inputBucket, name),
    generation,
    error: serializeError(first),
    problems: problems.map(serializeError),
    at: deps.now().toISOString(),
  };
  // Overwritten by each new version of the sidecar: the record always describes the latest one.
  await deps.store.write(deps.outputBucket, sidecarRecordName(name), toJsonBytes(record), {
    contentType: 'application/json',
    metadata: { [OUTPUT_TAG]: '1' },
  });
  for (const problem of problems) {
    deps.log.warn(problem.message, { code: problem.code, file: name, fix: problem.fix, runId });
  }
}

/** Objects under a prefix as the planner's index, skipping the pipeline's own files. */
export async function indexObjects(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  log: Logger,
): Promise<Map<string, DropObject>> {
  const objects = new Map<string, DropObject>();
  for (const info of await store.list(bucket, prefix)) {
    if (info.name.startsWith(PIPELINE_PREFIX)) continue;
    if (info.metadata[OUTPUT_TAG]) {
      log.warn('a bananaflow output is in the input bucket; it is never used as input', {
        file: info.name,
      });
      continue;
    }
    objects.set(info.name, { name: info.name, generation: info.generation });
  }
  return objects;
}
