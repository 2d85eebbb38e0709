import type { DropFile } from '../sidecar/drop-files.ts';
import {
  FOLDER_SIDECAR_NAME,
  folderOf,
  IMAGE_SIDECAR_SUFFIX,
  MANIFEST_SUFFIX,
} from '../sidecar/drop-files.ts';
import type { PlannerDeps, SidecarKind } from './plan-sidecar.ts';
import type { WaitingIndex, WaitingSidecar } from './waiting-index.ts';

/** A sidecar an upload makes worth planning (again). */
export interface IngestTarget {
  name: string;
  /** The sidecar version the event is about; unset when an image's upload triggered it. */
  generation?: string;
  kind: SidecarKind;
  /** Plan only the jobs that use this image (the upload). */
  onlyInvolving?: string;
}

/** The sidecar kind of each sidecar file kind. */
const SIDECAR_KINDS = {
  'image-sidecar': 'image',
  'folder-sidecar': 'folder',
  manifest: 'manifest',
} as const satisfies Record<string, SidecarKind>;

/**
 * The sidecars to plan for one uploaded file: a sidecar itself, or for an image every sidecar that
 * may cover it, plus the waiting markers that name it (to forget once it is planned).
 */
export async function targetsOf(
  deps: Pick<PlannerDeps, 'store' | 'inputBucket'>,
  waiting: WaitingIndex,
  file: Exclude<DropFile, { kind: 'ignored' }>,
  generation: string,
): Promise<{ targets: IngestTarget[]; markers: WaitingSidecar[] }> {
  if (file.kind !== 'image') {
    return {
      targets: [{ name: file.name, generation, kind: SIDECAR_KINDS[file.kind] }],
      markers: [],
    };
  }
  const targets = await sidecarsCovering(deps, file.name);
  // Sidecars that name this image another way (a reference, a sub-path) and were waiting.
  const markers = await waiting.waitingFor(file.name);
  for (const w of markers) {
    if (!targets.some((t) => t.name === w.sidecar)) {
      targets.push({ name: w.sidecar, kind: w.kind, onlyInvolving: file.name });
    }
  }
  return { targets, markers };
}

/** The image's own sidecar (else its folder's) and the manifests above it. */
async function sidecarsCovering(
  deps: Pick<PlannerDeps, 'store' | 'inputBucket'>,
  image: string,
): Promise<IngestTarget[]> {
  const targets: IngestTarget[] = [];
  const own = `${image}${IMAGE_SIDECAR_SUFFIX}`;
  const folderSidecar = `${folderOf(image)}${FOLDER_SIDECAR_NAME}`;
  if (await deps.store.stat(deps.inputBucket, own)) {
    targets.push({ name: own, kind: 'image', onlyInvolving: image });
  } else if (await deps.store.stat(deps.inputBucket, folderSidecar)) {
    targets.push({ name: folderSidecar, kind: 'folder', onlyInvolving: image });
  }
  for (const manifest of await manifestsAbove(deps, image)) {
    targets.push({ name: manifest, kind: 'manifest', onlyInvolving: image });
  }
  return targets;
}

/** Manifests in the image's folder and every folder above it (they may name it by a sub-path). */
async function manifestsAbove(
  deps: Pick<PlannerDeps, 'store' | 'inputBucket'>,
  imageName: string,
): Promise<string[]> {
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
