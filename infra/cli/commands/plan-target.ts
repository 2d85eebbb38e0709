import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ModelCatalog } from '../../../shared/catalog/model-catalog.ts';
import type { Config } from '../../../shared/config.ts';
import { type DropPlan, planDrop } from '../../../shared/pipeline/plan-drop.ts';
import { planSidecar } from '../../../shared/pipeline/plan-sidecar.ts';
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

/**
 * Plans a drop folder, or one sidecar in it, the way `run` would, without running anything or
 * writing outside a scratch folder: for `validate` and `estimate`.
 */
export async function planTarget(
  target: string,
  deps: { config: Config; catalog: ModelCatalog; drop?: string | undefined },
): Promise<DropPlan> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new UsageError(`${target} does not exist.`);
  const dropDir = info.isDirectory() ? target : (deps.drop ?? dirname(target));
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
  const scratch = await mkdtemp(join(tmpdir(), 'bananaflow-plan-'));
  try {
    const { planner, store } = localPipeline({
      dropDir,
      outDir: scratch,
      catalog: deps.catalog,
      config: deps.config,
      log: silentLogger,
    });
    const runId = newRunId();
    const listing = await store.list(INPUT_BUCKET, '');
    const sizes = await readDropImageSizes(
      resolve(dropDir),
      listing.map((o) => o.name),
      deps.config.BANANAFLOW_MAX_INPUT_BYTES,
    );
    const imageSize = (name: string) => sizes.get(name);
    let plan: DropPlan;
    if (!kind) {
      plan = await planDrop(planner, { runId, imageSize });
    } else {
      const objects = new Map(
        listing.map((o) => [o.name, { name: o.name, generation: o.generation }]),
      );
      const sidecar = await planSidecar(
        planner,
        { name, kind },
        { runId, objects, missingInputs: 'error', imageSize },
      );
      plan = {
        jobs: sidecar.jobs,
        sidecars: [sidecar],
        uncovered: [],
        estimatedCostUsd: sidecar.estimatedCostUsd,
        standardCostUsd: sidecar.standardCostUsd,
      };
    }
    return await inspectPlannedInputs(plan, {
      store,
      catalog: deps.catalog,
      maxInputBytes: deps.config.BANANAFLOW_MAX_INPUT_BYTES,
      maxPixels: deps.config.BANANAFLOW_MAX_INPUT_PIXELS,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
