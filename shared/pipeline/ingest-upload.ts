import { posix } from 'node:path';
import { chainStarts } from '../planning/frame-jobs.ts';
import type { Job } from '../planning/job.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import { classifyDropFile, folderOf, OUTPUT_TAG } from '../sidecar/drop-files.ts';
import { type IngestTarget, targetsOf } from './ingest-targets.ts';
import { writePlanRecord } from './plan-record.ts';
import { indexObjects, type PlannerDeps, planSidecar, type SidecarPlan } from './plan-sidecar.ts';
import { WaitingIndex } from './waiting-index.ts';

export interface IngestDeps extends PlannerDeps {
  queue: JobQueue;
  maxEventAgeMs: number;
}

/** The object a storage "finalized" event is about. */
export interface UploadedObject {
  bucket: string;
  name: string;
  generation: string;
  metadata?: Record<string, string>;
  /** When the event happened (CloudEvent time); old events are dropped. */
  eventTime?: string;
}

export type IngestResult =
  | { status: 'skipped'; reason: string }
  | { status: 'planned'; published: number; plans: SidecarPlan[]; waitingFor: string[] };

type Log = PlannerDeps['log'];

/**
 * The ingest use case: one uploaded object. Uploads arrive in any order, so whichever upload
 * completes a pair (image + its sidecar, folder sidecar + images, manifest + its inputs) plans the
 * jobs. Publishing the same job twice is harmless: the worker does a finished job only once.
 */
export async function ingestUpload(
  deps: IngestDeps,
  object: UploadedObject,
): Promise<IngestResult> {
  const log = deps.log.child({ object: object.name, generation: object.generation });
  const notOurs = skipReason(deps, object);
  if (notOurs) return skipped(log, notOurs);
  const file = classifyDropFile(object.name);
  if (file.kind === 'ignored') return skipped(log, file.reason);
  const waiting = new WaitingIndex(deps.store, deps.outputBucket);
  const { targets, markers } = await targetsOf(deps, waiting, file, object.generation);
  if (targets.length === 0) return skipped(log, 'no sidecar covers this image (yet)');

  const runId = `ingest-${object.generation}-${posix.basename(object.name).slice(0, 40)}`;
  const plans: SidecarPlan[] = [];
  const stillWaiting = new Set<string>();
  for (const target of targets) {
    const plan = await planSettled(deps, waiting, target, { runId, log });
    if (!plan) continue;
    plans.push(plan);
    if (plan.waitingFor.includes(object.name)) stillWaiting.add(plan.sidecar);
  }
  const jobs = await publishPlans(deps, plans, runId);
  // Published (or the sidecar is gone or invalid now): this input is no longer awaited.
  for (const m of markers) if (!stillWaiting.has(m.sidecar)) await waiting.forget(m.marker);
  return planned(log, runId, jobs, plans);
}

/** Why an event is none of ingest's business: another bucket, our own output, or too old. */
function skipReason(deps: IngestDeps, object: UploadedObject): string | undefined {
  if (object.bucket !== deps.inputBucket) {
    return `bucket ${object.bucket} is not the input bucket ${deps.inputBucket}`;
  }
  if (object.metadata?.[OUTPUT_TAG]) {
    return 'written by bananaflow itself (an output): never processed again';
  }
  if (!object.eventTime) return undefined;
  const age = deps.now().getTime() - Date.parse(object.eventTime);
  return age > deps.maxEventAgeMs
    ? `event is ${Math.round(age / 1000)} s old, over the maximum event age`
    : undefined;
}

function skipped(log: Log, reason: string): IngestResult {
  log.info(`skipped: ${reason}`);
  return { status: 'skipped', reason };
}

/**
 * Plans a target and remembers what it waits for. An awaited input whose upload was ingested
 * between our listing and our marker found no marker, so it planned nothing: once the marker is
 * written, look for such inputs and replan (a few rounds at most).
 */
async function planSettled(
  deps: IngestDeps,
  waiting: WaitingIndex,
  target: IngestTarget,
  run: { runId: string; log: Log },
): Promise<SidecarPlan | undefined> {
  let plan = await planTarget(deps, target, run);
  for (let round = 1; plan && plan.waitingFor.length > 0; round++) {
    await waiting.remember(plan.sidecar, target.kind, plan.waitingFor);
    if (round > 3) break;
    const arrived = await Promise.all(
      plan.waitingFor.map((name) => deps.store.stat(deps.inputBucket, name)),
    );
    if (!arrived.some(Boolean)) break;
    plan = await planTarget(deps, target, run);
  }
  return plan;
}

/** Plans the target's current version, or nothing when it is gone or a newer one exists. */
async function planTarget(
  deps: IngestDeps,
  target: IngestTarget,
  { runId, log }: { runId: string; log: Log },
): Promise<SidecarPlan | undefined> {
  const objects = await indexObjects(deps.store, deps.inputBucket, folderOf(target.name), log);
  // The sidecar may have been replaced since this event: its newer event plans the newer version.
  const current = objects.get(target.name);
  if (!current) return undefined;
  if (target.generation && current.generation !== target.generation) {
    log.info('a newer version of this sidecar exists; its own event plans it', {
      sidecar: target.name,
    });
    return undefined;
  }
  const plan = () =>
    planSidecar(
      deps,
      { ...target, generation: current.generation },
      { runId, objects, missingInputs: 'wait' },
    );
  const first = await plan();
  // A path with ".." may name an object outside the sidecar's folder, which the listing missed.
  const outside = first.waitingFor.filter((name) => !name.startsWith(folderOf(target.name)));
  let found = 0;
  for (const name of outside) {
    const info = await deps.store.stat(deps.inputBucket, name);
    if (info) objects.set(name, { name, generation: info.generation });
    if (info) found++;
  }
  return found > 0 ? plan() : first;
}

/** Publishes the plans' jobs, then writes their plan records; returns the jobs published. */
async function publishPlans(deps: IngestDeps, plans: SidecarPlan[], runId: string): Promise<Job[]> {
  // A keyframe sequence starts with its first frame; the worker publishes each next one.
  const jobs = chainStarts(plans.flatMap((p) => p.jobs));
  await deps.queue.publishJobs(jobs);
  // After publishing: `bananaflow status` counts a drop's jobs from these records.
  for (const plan of plans) {
    await writePlanRecord(
      deps.store,
      deps.outputBucket,
      { ...plan, runId, by: 'ingest' },
      deps.now(),
    );
  }
  return jobs;
}

function planned(log: Log, runId: string, jobs: Job[], plans: SidecarPlan[]): IngestResult {
  const waitingFor = [...new Set(plans.flatMap((p) => p.waitingFor))];
  log.info('planned', {
    runId,
    published: jobs.length,
    sidecars: plans.map((p) => p.sidecar),
    problems: plans.reduce((n, p) => n + p.problems.length, 0),
    estimatedCostUsd: plans.reduce((s, p) => s + p.estimatedCostUsd, 0),
    ...(waitingFor.length > 0 ? { waitingFor } : {}),
  });
  return { status: 'planned', published: jobs.length, plans, waitingFor };
}
