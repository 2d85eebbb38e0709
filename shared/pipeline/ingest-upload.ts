import { posix } from 'node:path';
import { chainStarts } from '../planning/frame-jobs.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import {
  classifyDropFile,
  FOLDER_SIDECAR_NAME,
  folderOf,
  IMAGE_SIDECAR_SUFFIX,
  MANIFEST_SUFFIX,
  OUTPUT_TAG,
} from '../sidecar/drop-files.ts';
import { writePlanRecord } from './plan-record.ts';
import {
  indexObjects,
  type PlannerDeps,
  planSidecar,
  type SidecarKind,
  type SidecarPlan,
} from './plan-sidecar.ts';
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
  if (object.bucket !== deps.inputBucket) {
    return skipped(log, `bucket ${object.bucket} is not the input bucket ${deps.inputBucket}`);
  }
  if (object.metadata?.[OUTPUT_TAG]) {
    return skipped(log, 'written by bananaflow itself (an output): never processed again');
  }
  if (object.eventTime) {
    const age = deps.now().getTime() - Date.parse(object.eventTime);
    if (age > deps.maxEventAgeMs) {
      return skipped(log, `event is ${Math.round(age / 1000)} s old, over the maximum event age`);
    }
  }
  const file = classifyDropFile(object.name);
  const waiting = new WaitingIndex(deps.store, deps.outputBucket);
  const markers: Array<{ sidecar: string; marker: string }> = [];
  const runId = `ingest-${object.generation}-${posix.basename(object.name).slice(0, 40)}`;
  const targets: Array<{
    name: string;
    generation?: string;
    kind: SidecarKind;
    onlyInvolving?: string;
  }> = [];

  switch (file.kind) {
    case 'ignored':
      return skipped(log, file.reason);
    case 'image-sidecar':
      targets.push({ name: file.name, generation: object.generation, kind: 'image' });
      break;
    case 'folder-sidecar':
      targets.push({ name: file.name, generation: object.generation, kind: 'folder' });
      break;
    case 'manifest':
      targets.push({ name: file.name, generation: object.generation, kind: 'manifest' });
      break;
    case 'image': {
      const own = `${file.name}${IMAGE_SIDECAR_SUFFIX}`;
      const folderSidecar = `${folderOf(file.name)}${FOLDER_SIDECAR_NAME}`;
      if (await deps.store.stat(deps.inputBucket, own)) {
        targets.push({ name: own, kind: 'image', onlyInvolving: file.name });
      } else if (await deps.store.stat(deps.inputBucket, folderSidecar)) {
        targets.push({ name: folderSidecar, kind: 'folder', onlyInvolving: file.name });
      }
      for (const manifest of await manifestsAbove(deps, file.name)) {
        targets.push({ name: manifest, kind: 'manifest', onlyInvolving: file.name });
      }
      // Sidecars that name this image another way (a reference, a sub-path) and were waiting.
      for (const w of await waiting.waitingFor(file.name)) {
        markers.push(w);
        if (!targets.some((t) => t.name === w.sidecar)) {
          targets.push({ name: w.sidecar, kind: w.kind, onlyInvolving: file.name });
        }
      }
      break;
    }
  }
  if (targets.length === 0) return skipped(log, 'no sidecar covers this image (yet)');

  const plans: SidecarPlan[] = [];
  const stillWaiting = new Set<string>();
  const planTarget = async (target: (typeof targets)[number]) => {
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
  };
  for (const target of targets) {
    let plan = await planTarget(target);
    // An awaited input whose upload was ingested between our listing and our marker found no
    // marker, so it planned nothing: once the marker is written, look for such inputs and replan.
    for (let round = 1; plan && plan.waitingFor.length > 0; round++) {
      await waiting.remember(plan.sidecar, target.kind, plan.waitingFor);
      if (round > 3) break;
      const arrived = await Promise.all(
        plan.waitingFor.map((name) => deps.store.stat(deps.inputBucket, name)),
      );
      if (!arrived.some(Boolean)) break;
      plan = await planTarget(target);
    }
    if (!plan) continue;
    plans.push(plan);
    if (plan.waitingFor.includes(object.name)) stillWaiting.add(plan.sidecar);
  }
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
  // Published (or the sidecar is gone or invalid now): this input is no longer awaited.
  for (const m of markers) if (!stillWaiting.has(m.sidecar)) await waiting.forget(m.marker);
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

function skipped(log: PlannerDeps['log'], reason: string): IngestResult {
  log.info(`skipped: ${reason}`);
  return { status: 'skipped', reason };
}

/** Manifests in the image's folder and every folder above it (they may name it by a sub-path). */
async function manifestsAbove(deps: IngestDeps, imageName: string): Promise<string[]> {
  const found: string[] = [];
  let folder = folderOf(imageName);
  for (;;) {
    for (const info of await deps.store.list(deps.inputBucket, folder, { delimiter: '/' })) {
      if (info.name.endsWith(MANIFEST_SUFFIX)) found.push(info.name);
    }
    if (folder === '') break;
    folder = folderOf(folder.slice(0, -1));
  }
  return found;
}
