import type { ModelCatalog } from '../catalog/model-catalog.ts';
import { BananaError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import { type DropObject, planSidecarJobs } from '../planning/plan-jobs.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { isImageName, PIPELINE_PREFIX } from '../sidecar/drop-files.ts';
import type { Manifest } from '../sidecar/sidecar-schema.ts';
import { requestContentHash } from './request-id.ts';
import { type EditRequest, parseObjectName } from './request-schema.ts';

/** What planning a request needs (a subset of the ingest function's deps). */
export interface RequestPlannerDeps {
  store: ObjectStore;
  catalog: ModelCatalog;
  now: () => Date;
  inputBucket: string;
  outputBucket: string;
  /** Model of requests that name none; unset = the catalog's default. */
  defaultModel?: string | undefined;
}

export interface RequestPlan {
  jobs: Job[];
  /** Every problem found; no job is published when there is one. */
  problems: BananaError[];
  estimatedCostUsd: number;
}

/** Where a request's outputs go in the output bucket: `requests/<requestId>/<name>.<id>.png`. */
export const REQUESTS_PREFIX = 'requests/';

/**
 * Plans the jobs of one valid request exactly as a one-job manifest is planned (same catalog checks,
 * caps, estimates and deterministic ids). The request's content hash plays the sidecar generation,
 * so the same request gives the same job ids. Inputs must already exist: a request does not wait
 * for uploads (a missing one is a problem naming it). Throws only retryable storage failures.
 */
export async function planRequest(
  deps: RequestPlannerDeps,
  requestId: string,
  request: EditRequest,
): Promise<RequestPlan> {
  const problems: BananaError[] = [];
  const add: AddProblem = (code, field, message, fix) =>
    problems.push(
      new BananaError({
        code,
        message: `request ${requestId}: field "${field}": ${message}`,
        fix,
        details: { field },
      }),
    );
  const named = [
    ...namedObjects(deps, request, 'inputs', add),
    ...namedObjects(deps, request, 'references', add),
  ];
  const objects = await lookUpObjects(deps, named, add);
  const contentHash = requestContentHash(request);
  const file = `${requestId}.jobs.json`;
  const plan = planSidecarJobs(
    {
      name: file,
      generation: contentHash,
      parsed: { kind: 'manifest', spec: asManifest(request, named) },
    },
    {
      inputBucket: deps.inputBucket,
      outputBucket: deps.outputBucket,
      catalog: deps.catalog,
      defaultModel: deps.defaultModel,
      runId: `request-${requestId}`,
      now: deps.now(),
      objects,
      missingInputs: 'error',
    },
  );
  problems.push(...plan.problems.map((p) => asRequestProblem(p, file, requestId)));
  if (problems.length > 0) return { jobs: [], problems, estimatedCostUsd: 0 };
  const sidecar = {
    bucket: deps.inputBucket,
    name: `${REQUESTS_PREFIX}${requestId}`,
    generation: contentHash,
    kind: 'request' as const,
  };
  const jobs = plan.jobs.map(
    (job): Job => ({
      ...job,
      requestId,
      sidecar,
      output: { ...job.output, base: `${REQUESTS_PREFIX}${job.output.base}` },
    }),
  );
  return { jobs, problems, estimatedCostUsd: plan.estimatedCostUsd };
}

type AddProblem = (code: BananaError['code'], field: string, message: string, fix: string) => void;

/** An object a request names, by field; `elsewhere` when it is in another bucket (refused). */
interface NamedObject {
  field: string;
  name: string;
  elsewhere: boolean;
}

/** The objects a request field names, each in another bucket than the input bucket refused. */
function namedObjects(
  deps: RequestPlannerDeps,
  request: EditRequest,
  field: 'inputs' | 'references',
  add: AddProblem,
): NamedObject[] {
  return (request[field] ?? []).map((value, index) => {
    const { bucket, name } = parseObjectName(value);
    const elsewhere = bucket !== undefined && bucket !== deps.inputBucket;
    if (elsewhere) {
      add(
        'INPUT_PATH_OUTSIDE_DROP',
        `${field}[${index}]`,
        `${value} is in bucket "${bucket}"; requests may only name objects of the input bucket "${deps.inputBucket}".`,
        `Copy the image to gs://${deps.inputBucket}/ and name it there.`,
      );
    }
    return { field: `${field}[${index}]`, name, elsewhere };
  });
}

/**
 * The named images as the planner's objects, looked up in the input bucket. A missing one is a
 * problem (a request does not wait for uploads); it and a refused one are listed anyway, so that
 * the planner checks the rest as if they were there.
 */
async function lookUpObjects(
  deps: RequestPlannerDeps,
  named: readonly NamedObject[],
  add: AddProblem,
): Promise<Map<string, DropObject>> {
  const objects = new Map<string, DropObject>();
  await Promise.all(
    named.map(async ({ field, name, elsewhere }) => {
      // Not an image (or a pipeline file): the planner says so; no need to look it up.
      if (!isImageName(name) || name.startsWith(PIPELINE_PREFIX)) return;
      const info = elsewhere ? undefined : await deps.store.stat(deps.inputBucket, name);
      objects.set(name, { name, generation: info?.generation ?? '0' });
      if (info || elsewhere) return;
      add(
        'INPUT_MISSING',
        field,
        `"${name}" does not exist in the input bucket "${deps.inputBucket}" (yet).`,
        'Upload it first and publish the request once the upload has finished: a request does not wait for uploads.',
      );
    }),
  );
  return objects;
}

/** The request as a one-job manifest at the bucket's root (so names resolve as given). */
function asManifest(
  request: EditRequest,
  named: ReadonlyArray<{ field: string; name: string }>,
): Manifest {
  const { $schema: _s, version: _v, requestId: _id, inputs, references, ...job } = request;
  const namesOf = (field: string) =>
    named.filter((n) => n.field.startsWith(`${field}[`)).map((n) => n.name);
  return {
    jobs: [
      {
        ...job,
        ...(inputs ? { inputs: namesOf('inputs') } : {}),
        ...(references ? { references: namesOf('references') } : {}),
      },
    ],
  };
}

/** A manifest planner's problem, reworded for a request: no file, no `jobs[0].` prefix. */
function asRequestProblem(error: BananaError, file: string, requestId: string): BananaError {
  const field =
    typeof error.details.field === 'string'
      ? error.details.field.replace(/^jobs\[0\]\./, '')
      : undefined;
  const { file: _file, ...details } = error.details;
  return new BananaError({
    code: error.code,
    message: error.message
      .replaceAll(`${file}: `, `request ${requestId}: `)
      .replaceAll('field "jobs[0].', 'field "')
      .replace(/job 1 is|its jobs are/, 'it is'),
    ...(error.fix ? { fix: error.fix } : {}),
    details: { ...details, ...(field ? { field } : {}) },
  });
}
