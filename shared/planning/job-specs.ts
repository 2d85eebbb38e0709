import { posix } from 'node:path';
import {
  classifyDropFile,
  folderOf,
  IMAGE_SIDECAR_SUFFIX,
  MANIFEST_SUFFIX,
  resolveDropPath,
} from '../sidecar/drop-files.ts';
import type { EditSidecar, Manifest, ManifestJob } from '../sidecar/sidecar-schema.ts';
import { stemOf } from './output-names.ts';
import type { JobSpec, PlanContext, SidecarToPlan } from './plan-context.ts';

/**
 * A sidecar's jobs as specs: a manifest's jobs merged with its defaults, or one spec per target
 * image of a per-image or folder sidecar. Paths are resolved against the sidecar's folder.
 */
export function jobSpecsOf(sidecar: SidecarToPlan, ctx: PlanContext): JobSpec[] {
  const { parsed, name } = sidecar;
  if (parsed.kind === 'manifest') {
    const { defaults = {}, jobs } = parsed.spec;
    return jobs.map((job, index) => manifestJobSpec(name, defaults, job, index));
  }
  const common = singleSpec(name, parsed.spec);
  const targets =
    parsed.kind === 'image'
      ? [name.slice(0, -IMAGE_SIDECAR_SUFFIX.length)]
      : folderTargets(name, common.references, ctx);
  return targets.map((target) => ({
    ...common,
    inputs: [target],
    folder: folderOf(target),
    stem: stemOf(target),
  }));
}

function turnsOf(spec: { prompt?: string | undefined; steps?: string[] | undefined }) {
  return spec.steps ?? (spec.prompt === undefined ? [] : [spec.prompt]);
}

/** Job `index` of a manifest, each field its own or the defaults'. */
function manifestJobSpec(
  name: string,
  defaults: NonNullable<Manifest['defaults']>,
  job: ManifestJob,
  index: number,
): JobSpec {
  const manifestStem = posix.basename(name).slice(0, -MANIFEST_SUFFIX.length);
  const turns = job.frames ? job.frames.slice(0, 1) : turnsOf(job);
  const stem = job.name ?? defaults.name ?? `job-${String(index + 1).padStart(3, '0')}`;
  const paths = (list: string[] | undefined) => (list ?? []).map((p) => resolveDropPath(name, p));
  return {
    jobIndex: index,
    at: `jobs[${index}].`,
    inputs: paths(job.inputs ?? defaults.inputs),
    references: paths(job.references ?? defaults.references),
    turns: turns.length > 0 ? turns : turnsOf(defaults),
    model: job.model ?? defaults.model,
    aspectRatio: job.aspectRatio ?? defaults.aspectRatio,
    imageSize: job.imageSize ?? defaults.imageSize,
    thinkingLevel: job.thinkingLevel ?? defaults.thinkingLevel,
    grounding: job.grounding ?? defaults.grounding,
    variants: job.variants ?? defaults.variants ?? 1,
    output: { ...defaults.output, ...job.output },
    tags: { ...defaults.tags, ...job.tags },
    mode: job.mode ?? defaults.mode,
    tier: job.tier ?? defaults.tier,
    maxCostUsd: job.maxCostUsd ?? defaults.maxCostUsd,
    // A sequence's frames and files get a folder of their own, named after the job.
    folder: `${folderOf(name)}${manifestStem}/${job.frames ? `${stem}/` : ''}`,
    stem,
    label: '',
    ...(job.frames ? { frames: job.frames, preview: job.preview ?? {} } : {}),
  } satisfies JobSpec;
}

/** What every target of a per-image or folder sidecar shares (all but its input and names). */
function singleSpec(name: string, spec: EditSidecar) {
  return {
    jobIndex: 0,
    at: '',
    references: (spec.references ?? []).map((p) => resolveDropPath(name, p)),
    turns: turnsOf(spec),
    model: spec.model,
    aspectRatio: spec.aspectRatio,
    imageSize: spec.imageSize,
    thinkingLevel: spec.thinkingLevel,
    grounding: spec.grounding,
    variants: spec.variants ?? 1,
    output: { ...spec.output },
    tags: { ...spec.tags },
    mode: spec.mode,
    tier: spec.tier,
    label: spec.name ?? 'edit',
  };
}

/** Images directly in the folder sidecar's folder, except those with their own sidecar and the references. */
function folderTargets(sidecarName: string, references: string[], ctx: PlanContext): string[] {
  const folder = folderOf(sidecarName);
  const targets: string[] = [];
  for (const name of ctx.objects.keys()) {
    if (!name.startsWith(folder) || name.slice(folder.length).includes('/')) continue;
    if (classifyDropFile(name).kind !== 'image') continue;
    if (references.includes(name) || ctx.objects.has(`${name}${IMAGE_SIDECAR_SUFFIX}`)) continue;
    targets.push(name);
  }
  return targets.sort();
}
