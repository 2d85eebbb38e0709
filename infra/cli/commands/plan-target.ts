import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ModelCatalog } from '../../../shared/catalog/model-catalog.ts';
import type { Config } from '../../../shared/config.ts';
import { type DropPlan, planDrop } from '../../../shared/pipeline/plan-drop.ts';
import { planSidecar } from '../../../shared/pipeline/plan-sidecar.ts';
import { type WorkToDo, workStillToDo } from '../../../shared/pipeline/run-policy.ts';
import { silentLogger } from '../../../shared/ports/logger.ts';
import { classifyDropFile } from '../../../shared/sidecar/drop-files.ts';
import {
  INPUT_BUCKET,
  localPipeline,
  newRunId,
  readDropImageSizes,
} from '../../runner/run-drop.ts';
import { inspectPlannedInputs } from '../inspect-inputs.ts';
import { UsageError } from '../usage-error.ts';

const SIDECAR_KINDS = {
  'image-sidecar': 'image',
  'folder-sidecar': 'folder',
  manifest: 'manifest',
} as const;

/** A drop folder, or one sidecar in it (`name`, of `kind`), as `planTarget` plans it. */
export interface Target {
  dropDir: string;
  name: string;
  kind: (typeof SIDECAR_KINDS)[keyof typeof SIDECAR_KINDS] | undefined;
}

/** Where `target` is: a drop folder, or a sidecar inside `drop` (default: its own folder). */
export async function resolveTarget(target: string, drop: string | undefined): Promise<Target> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new UsageError(`${target} does not exist.`);
  const dropDir = info.isDirectory() ? target : (drop ?? dirname(target));
  const name = relative(resolve(dropDir), resolve(target)).split(sep).join('/');
  if (!info.isDirectory() && (name.startsWith('../') || isAbsolute(name))) {
    throw new UsageError(`${target} is not inside the drop ${dropDir} (--drop).`);
  }
  const file = info.isDirectory() ? undefined : classifyDropFile(name);
  const kind =
    file && file.kind in SIDECAR_KINDS
      ? SIDECAR_KINDS[file.kind as keyof typeof SIDECAR_KINDS]
      : undefined;
  if (file && !kind) {
    throw new UsageError(
      `${target} is not a sidecar: name it IMAGE.edit.json (e.g. photo.jpg.edit.json), _edit.json or NAME.jobs.json.`,
    );
  }
  return { dropDir, name, kind };
}

/**
 * Plans a drop folder, or one sidecar in it, the way `run` would, without running anything or
 * writing outside a scratch folder: for `validate` and `estimate`.
 */
export async function planTarget(
  target: string,
  deps: { config: Config; catalog: ModelCatalog; drop?: string | undefined },
): Promise<DropPlan> {
  const where = await resolveTarget(target, deps.drop);
  const scratch = await mkdtemp(join(tmpdir(), 'bananaflow-plan-'));
  try {
    const local = localPipeline({
      dropDir: where.dropDir,
      outDir: scratch,
      catalog: deps.catalog,
      config: deps.config,
      log: silentLogger,
    });
    const plan = await planIn(local, where, deps.config);
    return await inspectPlannedInputs(plan, {
      store: local.store,
      catalog: deps.catalog,
      maxInputBytes: deps.config.BANANAFLOW_MAX_INPUT_BYTES,
      maxPixels: deps.config.BANANAFLOW_MAX_INPUT_PIXELS,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The whole drop's plan, or one sidecar's (its missing inputs are errors). */
async function planIn(
  local: ReturnType<typeof localPipeline>,
  target: Target,
  config: Config,
): Promise<DropPlan> {
  const runId = newRunId();
  const listing = await local.store.list(INPUT_BUCKET, '');
  const sizes = await readDropImageSizes(
    resolve(target.dropDir),
    listing.map((o) => o.name),
    config.BANANAFLOW_MAX_INPUT_BYTES,
  );
  const imageSize = (name: string) => sizes.get(name);
  if (!target.kind) return planDrop(local.planner, { runId, imageSize });
  const objects = new Map(listing.map((o) => [o.name, { name: o.name, generation: o.generation }]));
  const sidecar = await planSidecar(
    local.planner,
    { name: target.name, kind: target.kind },
    { runId, objects, missingInputs: 'error', imageSize },
  );
  return {
    jobs: sidecar.jobs,
    sidecars: [sidecar],
    uncovered: [],
    estimatedCostUsd: sidecar.estimatedCostUsd,
    standardCostUsd: sidecar.standardCostUsd,
  };
}

/** `--out`, or `<drop>-out` beside the drop (the default of `run` and `estimate`). */
export function outFolderFor(dropDir: string, out: string | undefined): string {
  return out ?? join(dirname(resolve(dropDir)), `${basename(resolve(dropDir))}-out`);
}

/**
 * What of a plan an output folder still lacks, as `run` counts it (none done when the folder
 * does not exist yet).
 */
export async function workToDoIn(
  target: Target,
  outDir: string,
  jobs: DropPlan['jobs'],
  deps: { config: Config; catalog: ModelCatalog },
): Promise<WorkToDo> {
  const exists = await stat(outDir).catch(() => undefined);
  if (!exists) {
    const estimatedCostUsd = jobs.reduce((sum, j) => sum + j.estimatedCostUsd, 0);
    return { toRun: [...jobs], finished: 0, estimatedCostUsd };
  }
  const { store } = localPipeline({ dropDir: target.dropDir, outDir, ...deps, log: silentLogger });
  return workStillToDo(store, jobs);
}
