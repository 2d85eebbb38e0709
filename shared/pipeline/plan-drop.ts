import type { Job } from '../planning/job.ts';
import type { PlanContext } from '../planning/plan-jobs.ts';
import {
  classifyDropFile,
  FOLDER_SIDECAR_NAME,
  folderOf,
  IMAGE_SIDECAR_SUFFIX,
} from '../sidecar/drop-files.ts';
import { indexObjects, type PlannerDeps, planSidecar, type SidecarPlan } from './plan-sidecar.ts';

export interface DropPlan {
  jobs: Job[];
  sidecars: SidecarPlan[];
  /** Images that no sidecar covers (reported, never an error). */
  uncovered: string[];
  estimatedCostUsd: number;
  /** The same jobs at standard (list) prices, whatever their tier. */
  standardCostUsd: number;
}

const KIND = {
  'image-sidecar': 'image',
  'folder-sidecar': 'folder',
  manifest: 'manifest',
} as const;

/**
 * Plans a whole drop at once (the embedded runner, `validate` and `estimate`): every sidecar in
 * the input, with the drop fully known, so a missing input is an error rather than "not yet".
 */
export async function planDrop(
  deps: PlannerDeps,
  options: { runId: string; imageSize?: PlanContext['imageSize'] },
): Promise<DropPlan> {
  const objects = await indexObjects(deps.store, deps.inputBucket, '', deps.log);
  const sidecars: SidecarPlan[] = [];
  for (const [name, object] of objects) {
    const file = classifyDropFile(name);
    if (file.kind === 'image' || file.kind === 'ignored') continue;
    sidecars.push(
      await planSidecar(
        deps,
        { name, generation: object.generation, kind: KIND[file.kind] },
        {
          runId: options.runId,
          objects,
          missingInputs: 'error',
          ...(options.imageSize ? { imageSize: options.imageSize } : {}),
        },
      ),
    );
  }
  const jobs = sidecars.flatMap((s) => s.jobs);
  const used = new Set(jobs.flatMap((j) => j.inputs.map((i) => i.name)));
  const referenced = new Set(
    sidecars.flatMap((s) => s.problems.map((p) => p.details.input).filter(Boolean)),
  );
  // An image whose sidecar (its own or its folder's) is broken is covered: that sidecar's problems say why it did not run.
  const sidecarNames = new Set(sidecars.map((s) => s.sidecar));
  const hasSidecar = (name: string) =>
    sidecarNames.has(`${name}${IMAGE_SIDECAR_SUFFIX}`) ||
    sidecarNames.has(`${folderOf(name)}${FOLDER_SIDECAR_NAME}`);
  const uncovered = [...objects.keys()].filter(
    (name) =>
      classifyDropFile(name).kind === 'image' &&
      !used.has(name) &&
      !referenced.has(name) &&
      !hasSidecar(name),
  );
  return {
    jobs,
    sidecars,
    uncovered,
    estimatedCostUsd: jobs.reduce((sum, j) => sum + j.estimatedCostUsd, 0),
    standardCostUsd: sidecars.reduce((sum, s) => sum + s.standardCostUsd, 0),
  };
}
