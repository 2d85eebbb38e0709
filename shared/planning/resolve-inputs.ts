import {
  classifyDropFile,
  IMAGE_SIDECAR_SUFFIX,
  isImageName,
  leavesDrop,
  PIPELINE_PREFIX,
} from '../sidecar/drop-files.ts';
import { closest } from '../text/did-you-mean.ts';
import type { ObjectRef } from './job.ts';
import type { JobSpec, PlanContext, SidecarToPlan } from './plan-context.ts';
import type { AddProblem } from './spec-checks.ts';

/**
 * A spec's inputs and references as object refs (with the generation planned), each path checked:
 * inside the drop, an image, present (or, in the cloud, awaited: `waitingFor`).
 */
export function resolveInputs(
  sidecar: SidecarToPlan,
  spec: JobSpec,
  ctx: PlanContext,
  add: AddProblem,
): { inputs: ObjectRef[]; references: ObjectRef[]; waitingFor: string[] } {
  const waitingFor: string[] = [];
  const resolve = (names: string[], field: string) =>
    names.flatMap((name, index) => {
      const at = { name, where: field === '(image)' ? field : `${field}[${index}]`, field };
      const ref = resolveInput(sidecar.name, at, ctx, add, waitingFor);
      return ref ? [ref] : [];
    });
  const inputField = sidecar.parsed.kind === 'manifest' ? 'inputs' : '(image)';
  const inputs = resolve(spec.inputs, inputField);
  const references = resolve(spec.references, 'references');
  return { inputs, references, waitingFor };
}

/** One named input: its ref, or undefined after adding its problem (or awaiting it). */
function resolveInput(
  file: string,
  at: { name: string; where: string; field: string },
  ctx: PlanContext,
  add: AddProblem,
  waitingFor: string[],
): ObjectRef | undefined {
  const { name, where } = at;
  if (leavesDrop(name)) {
    add(
      'INPUT_PATH_OUTSIDE_DROP',
      where,
      `the path resolves to "${name}", outside the drop (".." may only move within it).`,
      'Put the file inside the drop and give its path relative to the sidecar.',
    );
    return undefined;
  }
  if (!isImageName(name) || name.startsWith(PIPELINE_PREFIX)) {
    notAnImage(file, at, ctx, add);
    return undefined;
  }
  const object = ctx.objects.get(name);
  if (object) return { bucket: ctx.inputBucket, name: object.name, generation: object.generation };
  if (ctx.missingInputs === 'wait') {
    waitingFor.push(name);
    return undefined;
  }
  const near = closest(name, imagesOf(ctx));
  add(
    'INPUT_MISSING',
    where,
    `"${name}" does not exist in the drop.${near ? ` Did you mean "${near}"?` : ''}`,
    'Upload the file, or correct the path (it is relative to the sidecar).',
    { input: name },
  );
  return undefined;
}

/** A sidecar, output or pipeline file named as an input; a misnamed per-image sidecar says so. */
function notAnImage(
  file: string,
  at: { name: string; where: string; field: string },
  ctx: PlanContext,
  add: AddProblem,
): void {
  const { name, where, field } = at;
  const meant = field === '(image)' ? sidecarMeant(file, ctx) : undefined;
  add(
    'INPUT_NOT_IMAGE',
    where,
    meant
      ? `"${name}" is not an image: this sidecar names no image. Did you mean "${meant}"?`
      : `"${name}" is not an image (sidecars, outputs and pipeline files cannot be inputs).`,
    meant
      ? `Rename ${file} to ${meant} (IMAGE.edit.json keeps the image's extension).`
      : 'Name an image file (.jpg, .png, .webp, .gif, .avif, .heic, .tif).',
    { input: name },
  );
}

function imagesOf(ctx: PlanContext): string[] {
  return [...ctx.objects.keys()].filter((name) => classifyDropFile(name).kind === 'image');
}

/** `anna.edit.json` beside `anna.jpg`: the per-image sidecar name that was probably meant. */
function sidecarMeant(sidecarName: string, ctx: PlanContext): string | undefined {
  const stem = sidecarName.slice(0, -IMAGE_SIDECAR_SUFFIX.length);
  const image = imagesOf(ctx)
    .filter((name) => name.startsWith(`${stem}.`) && !name.slice(stem.length + 1).includes('/'))
    .sort()[0];
  return image ? `${image}${IMAGE_SIDECAR_SUFFIX}` : undefined;
}
