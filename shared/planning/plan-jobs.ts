import { posix } from 'node:path';
import { costFromUsage, estimateUsage } from '../catalog/cost.ts';
import {
  type ModelCatalog,
  type ModelInfo,
  nearestAspectRatio,
  outputSizeFor,
} from '../catalog/model-catalog.ts';
import { TIERS, type Tier, tierDiscount, tiersOf } from '../catalog/tiers.ts';
import { BananaError } from '../errors.ts';
import {
  classifyDropFile,
  folderOf,
  IMAGE_SIDECAR_SUFFIX,
  isImageName,
  leavesDrop,
  MANIFEST_SUFFIX,
  PIPELINE_PREFIX,
  resolveDropPath,
} from '../sidecar/drop-files.ts';
import type { ParsedSidecar } from '../sidecar/parse-sidecar.ts';
import { type Mode, outputSpec, type PreviewSpec, previewSpec } from '../sidecar/sidecar-schema.ts';
import { closest } from '../text/did-you-mean.ts';
import { plural } from '../text/plural.ts';
import { sequenceJobs, withFrameCaps } from './frame-jobs.ts';
import type { Job, ObjectRef } from './job.ts';
import { jobIdFor, sequenceIdFor } from './job-id.ts';
import { lifecycleWarning, optionProblems, retiredModelError } from './model-checks.ts';
import { outputBase, stemOf } from './output-names.ts';

/** An object of the drop, as listed from the input bucket or folder. */
export interface DropObject {
  name: string;
  generation: string;
}

export interface PlanContext {
  inputBucket: string;
  outputBucket: string;
  catalog: ModelCatalog;
  /** Model of jobs that name none; unset = the catalog's default model. */
  defaultModel?: string | undefined;
  /** Tier of jobs whose sidecar names none (`run --tier`, BANANAFLOW_TIER); default standard. */
  defaultTier?: Tier | undefined;
  /** Tiers this platform can run (default all): the cloud has no batch path yet. */
  availableTiers?: readonly Tier[] | undefined;
  runId: string;
  now: Date;
  /** Objects a sidecar may reference: at least everything under the sidecar's folder. */
  objects: ReadonlyMap<string, DropObject>;
  /** Pixel size of an image when known (read from its header); estimates assume the worst otherwise. */
  imageSize?: (name: string) => { width: number; height: number } | undefined;
  /** 'error' when the whole drop is known (CLI); 'wait' when an input may still be uploading (cloud). */
  missingInputs: 'error' | 'wait';
}

export interface SidecarToPlan {
  name: string;
  generation: string;
  parsed: ParsedSidecar;
  /** Publish only the jobs that use this object (the upload that triggered planning). */
  onlyInvolving?: string;
}

export interface PlanResult {
  jobs: Job[];
  /** Problems that stop a job (or the whole sidecar); each becomes an error record. */
  problems: BananaError[];
  /** Jobs that wait for inputs not uploaded yet (cloud only). */
  waitingFor: string[];
  /** Planned anyway, but worth saying (a deprecated model): also in each job's records. */
  warnings: string[];
  estimatedCostUsd: number;
  /** The same jobs at standard (list) prices, whatever their tier. */
  standardCostUsd: number;
}

/** One job of a sidecar before variants: the spec merged with defaults and its inputs named. */
interface JobSpec {
  jobIndex: number;
  /** Field prefix for error messages, e.g. "jobs[3]." */
  at: string;
  inputs: string[];
  references: string[];
  turns: string[];
  model?: string;
  aspectRatio?: string;
  imageSize?: string;
  thinkingLevel?: string;
  grounding?: string;
  variants: number;
  output: Partial<Job['output']>;
  tags: Record<string, string>;
  mode?: Mode;
  tier?: Tier | undefined;
  maxCostUsd?: number;
  folder: string;
  stem: string;
  label: string;
  /** A keyframe sequence: one prompt per frame (`turns` holds the first). */
  frames?: string[];
  preview?: Partial<PreviewSpec>;
}

/** Turns one parsed sidecar plus the objects around it into jobs. Pure: no I/O. */
export function planSidecarJobs(sidecar: SidecarToPlan, ctx: PlanContext): PlanResult {
  const specs = jobSpecsOf(sidecar, ctx);
  const problems: BananaError[] = [];
  const waitingFor = new Set<string>();
  const warnings = new Set<string>();
  const planned: Array<{ spec: JobSpec; jobs: Job[]; estimate: number; standard: number }> = [];

  for (const spec of specs) {
    const result = planSpec(sidecar, spec, ctx);
    for (const job of 'jobs' in result ? result.jobs : []) {
      for (const warning of job.warnings ?? []) warnings.add(`${sidecar.name}: ${warning}`);
    }
    if ('problems' in result) {
      problems.push(...result.problems);
      for (const name of result.waitingFor) waitingFor.add(name);
      continue;
    }
    const own = spec.maxCostUsd;
    if (own !== undefined && result.estimate > own) {
      // Refused now, before anything is spent, rather than by the worker after publishing.
      problems.push(
        new BananaError({
          code: 'COST_CAP_EXCEEDED',
          message: `${sidecar.name}: ${spec.at ? `jobs[${spec.jobIndex}] is` : 'its jobs are'} estimated at $${result.estimate.toFixed(4)}, over its maxCostUsd $${own}.`,
          fix: 'Raise maxCostUsd, or use fewer variants or steps, or smaller inputs.',
          details: {
            file: sidecar.name,
            field: `${spec.at}maxCostUsd`,
            estimatedCostUsd: result.estimate,
            cap: own,
          },
        }),
      );
      continue;
    }
    planned.push(result);
  }

  const total = planned.reduce((sum, p) => sum + p.estimate, 0);
  const cap = capOf(sidecar.parsed);
  if (cap !== undefined && total > cap) {
    return {
      jobs: [],
      problems: [
        ...problems,
        new BananaError({
          code: 'COST_CAP_EXCEEDED',
          message: `${sidecar.name}: the ${plural(
            planned.reduce((n, p) => n + p.jobs.length, 0),
            'planned job',
          )} are estimated at $${total.toFixed(4)}, over maxCostUsd $${cap}.`,
          fix: 'Raise maxCostUsd, or plan fewer jobs or variants.',
          details: { file: sidecar.name, field: 'maxCostUsd', estimatedCostUsd: total, cap },
        }),
      ],
      waitingFor: [...waitingFor],
      warnings: [...warnings],
      estimatedCostUsd: 0,
      standardCostUsd: 0,
    };
  }

  const jobs: Job[] = [];
  for (const p of planned) {
    const limited = p.jobs.map((job) => {
      const share = cap !== undefined && total > 0 ? (cap * p.estimate) / total : undefined;
      const own = p.spec.maxCostUsd;
      const perJob = [share, own].filter((v): v is number => v !== undefined);
      // Split by estimate: the frames of a sequence cost more or less than one another.
      const part = p.estimate > 0 ? job.estimatedCostUsd / p.estimate : 1 / p.jobs.length;
      const limit = perJob.length > 0 ? Math.min(...perJob) * part : undefined;
      return limit === undefined ? job : { ...job, maxCostUsd: limit };
    });
    jobs.push(...(p.spec.frames ? withFrameCaps(limited) : limited));
  }
  const involved = sidecar.onlyInvolving;
  const selected = involved ? jobs.filter((j) => j.inputs.some((i) => i.name === involved)) : jobs;
  const standardOf = new Map(
    planned.flatMap((p) => p.jobs.map((j) => [j.jobId, p.standard / p.jobs.length])),
  );
  return {
    jobs: selected,
    problems,
    waitingFor: [...waitingFor],
    warnings: [...warnings],
    estimatedCostUsd: selected.reduce((s, j) => s + j.estimatedCostUsd, 0),
    standardCostUsd: selected.reduce((s, j) => s + (standardOf.get(j.jobId) ?? 0), 0),
  };
}

function capOf(parsed: ParsedSidecar): number | undefined {
  return parsed.spec.maxCostUsd;
}

function turnsOf(spec: { prompt?: string | undefined; steps?: string[] | undefined }) {
  return spec.steps ?? (spec.prompt === undefined ? [] : [spec.prompt]);
}

function jobSpecsOf(sidecar: SidecarToPlan, ctx: PlanContext): JobSpec[] {
  const { parsed, name } = sidecar;
  if (parsed.kind === 'manifest') {
    const { defaults = {}, jobs } = parsed.spec;
    const manifestStem = posix.basename(name).slice(0, -MANIFEST_SUFFIX.length);
    return jobs.map((job, index) => {
      const turns = job.frames ? job.frames.slice(0, 1) : turnsOf(job);
      const stem = job.name ?? defaults.name ?? `job-${String(index + 1).padStart(3, '0')}`;
      return {
        jobIndex: index,
        at: `jobs[${index}].`,
        inputs: (job.inputs ?? defaults.inputs ?? []).map((p) => resolveDropPath(name, p)),
        references: (job.references ?? defaults.references ?? []).map((p) =>
          resolveDropPath(name, p),
        ),
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
    });
  }

  const spec = parsed.spec;
  const references = (spec.references ?? []).map((p) => resolveDropPath(name, p));
  const common = {
    jobIndex: 0,
    at: '',
    references,
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
  const targets =
    parsed.kind === 'image'
      ? [name.slice(0, -IMAGE_SIDECAR_SUFFIX.length)]
      : folderTargets(name, references, ctx);
  return targets.map((target) => ({
    ...common,
    inputs: [target],
    folder: folderOf(target),
    stem: stemOf(target),
  }));
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

function deriveMode(spec: JobSpec): Mode {
  const inputs = spec.inputs.length;
  const references = spec.references.length;
  const images = inputs + references;
  const turns = spec.turns.length;
  if (spec.frames) return 'keyframes';
  if (images === 0) return 'text-to-image';
  if (turns > 1) return 'refinement';
  if (inputs >= 1 && references >= 1) return 'style-transfer';
  if (images > 1) return 'composition';
  return references > 0 ? 'character-series' : 'edit';
}

function modeProblem(spec: JobSpec, mode: Mode) {
  const inputs = spec.inputs.length;
  const references = spec.references.length;
  const images = inputs + references;
  const turns = spec.turns.length;
  if (spec.frames && mode !== 'keyframes') return `does not take "frames" (use mode "keyframes")`;
  switch (mode) {
    case 'text-to-image':
      return images > 0 ? 'takes no input images; remove inputs and references' : undefined;
    case 'edit':
      return images < 1 ? 'needs an input image' : undefined;
    case 'composition':
      return images < 2 ? 'needs at least two images (inputs plus references)' : undefined;
    case 'style-transfer':
      return inputs < 1 || references < 1
        ? 'needs an input image and at least one style reference'
        : undefined;
    case 'refinement':
      return turns < 2 ? 'needs at least two "steps"' : undefined;
    case 'character-series':
      return references < 1 ? 'needs the character in "references"' : undefined;
    case 'keyframes':
      return spec.frames ? undefined : 'needs "frames" (one prompt per frame)';
  }
}

type SpecResult =
  | { spec: JobSpec; jobs: Job[]; estimate: number; standard: number }
  | { problems: BananaError[]; waitingFor: string[] };

function planSpec(sidecar: SidecarToPlan, spec: JobSpec, ctx: PlanContext): SpecResult {
  const file = sidecar.name;
  const problems: BananaError[] = [];
  const waitingFor: string[] = [];
  const problem = (
    code: BananaError['code'],
    field: string,
    message: string,
    fix: string,
    more: Record<string, unknown> = {},
  ) =>
    problems.push(
      new BananaError({
        code,
        message: `${file}: field "${spec.at}${field}": ${message}`,
        fix,
        details: { file, field: `${spec.at}${field}`, ...more },
      }),
    );

  let model: ModelInfo | undefined;
  const requestedModel = spec.model ?? ctx.defaultModel ?? ctx.catalog.defaultModel.id;
  try {
    model = ctx.catalog.resolve(requestedModel);
  } catch (error) {
    const e = error as BananaError;
    problem('MODEL_UNKNOWN', 'model', e.message, e.fix ?? '', e.details);
  }
  const retired = model && retiredModelError(model, ctx.catalog, requestedModel);
  if (retired) {
    problem('MODEL_RETIRED', 'model', retired.message, retired.fix ?? '', retired.details);
    model = undefined;
  }

  const inputField = sidecar.parsed.kind === 'manifest' ? 'inputs' : '(image)';
  const inputs: ObjectRef[] = [];
  const references: ObjectRef[] = [];
  const resolve = (names: string[], field: string, into: ObjectRef[]) =>
    names.forEach((name, index) => {
      const where = field === '(image)' ? field : `${field}[${index}]`;
      if (leavesDrop(name)) {
        problem(
          'INPUT_PATH_OUTSIDE_DROP',
          where,
          `the path resolves to "${name}", outside the drop (".." may only move within it).`,
          'Put the file inside the drop and give its path relative to the sidecar.',
        );
        return;
      }
      if (!isImageName(name) || name.startsWith(PIPELINE_PREFIX)) {
        const meant = field === '(image)' ? sidecarMeant(file, ctx) : undefined;
        problem(
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
        return;
      }
      const object = ctx.objects.get(name);
      if (!object) {
        if (ctx.missingInputs === 'wait') waitingFor.push(name);
        else {
          const near = closest(name, imagesOf(ctx));
          problem(
            'INPUT_MISSING',
            where,
            `"${name}" does not exist in the drop.${near ? ` Did you mean "${near}"?` : ''}`,
            'Upload the file, or correct the path (it is relative to the sidecar).',
            { input: name },
          );
        }
        return;
      }
      into.push({ bucket: ctx.inputBucket, name: object.name, generation: object.generation });
    });
  resolve(spec.inputs, inputField, inputs);
  resolve(spec.references, 'references', references);

  if (spec.turns.length === 0) {
    problem('SIDECAR_INVALID', 'prompt', 'no prompt or steps.', 'Give a "prompt" or "steps".');
  }
  const imageCount = spec.inputs.length + spec.references.length;
  if (model) {
    const checks = optionProblems(model, { ...spec, imageCount });
    for (const p of checks) {
      // Name the field that holds the extra images (a manifest may list them all as inputs).
      const field =
        p.code !== 'TOO_MANY_IMAGES' ||
        spec.references.length > 0 ||
        sidecar.parsed.kind !== 'manifest'
          ? p.field
          : 'inputs';
      problem(p.code, field, p.message, p.fix, p.details);
    }
  }
  const tier = spec.tier ?? ctx.defaultTier ?? 'standard';
  if (model) {
    const why = tierProblem(model, tier, ctx.availableTiers ?? TIERS);
    if (why) {
      const from = spec.tier ? '' : ` (the run's default tier, e.g. --tier ${tier})`;
      problem('MODEL_OPTION_UNSUPPORTED', 'tier', `${why.message}${from}`, why.fix, { tier });
    }
  }
  if (spec.frames) sequenceProblems(spec, model, problem);
  if (spec.mode) {
    const why = modeProblem(spec, spec.mode);
    if (why) {
      problem('SIDECAR_INVALID', 'mode', `mode "${spec.mode}" ${why}.`, 'Fix the job or the mode.');
    }
  }
  if (problems.length > 0 || waitingFor.length > 0 || !model) return { problems, waitingFor };

  const mode = spec.mode ?? deriveMode(spec);
  const shape = {
    images: [...spec.inputs, ...spec.references],
    turns: spec.turns,
    aspectRatio: spec.aspectRatio,
    imageSize: spec.imageSize,
    grounding: spec.grounding !== undefined,
  };
  const estimate = estimateJobCost(model, ctx, { ...shape, tier });
  const standard = tier === 'standard' ? estimate : estimateJobCost(model, ctx, shape);
  const warning = lifecycleWarning(model, ctx.catalog, ctx.now);
  const output = outputSpec.parse(spec.output);
  const sidecarRef = {
    bucket: ctx.inputBucket,
    name: sidecar.name,
    generation: sidecar.generation,
  };
  const allInputs = [
    ...inputs.map((ref) => ({ ...ref, role: 'input' as const })),
    ...references.map((ref) => ({ ...ref, role: 'reference' as const })),
  ];
  const jobs: Job[] = [];
  for (let variant = 1; variant <= spec.variants; variant++) {
    const jobId = jobIdFor({
      sidecar: sidecarRef,
      inputs: allInputs,
      jobIndex: spec.jobIndex,
      variant,
    });
    jobs.push({
      schemaVersion: 1,
      jobId,
      runId: ctx.runId,
      mode,
      sidecar: { ...sidecarRef, kind: sidecar.parsed.kind },
      jobIndex: spec.jobIndex,
      variant,
      variants: spec.variants,
      inputs: allInputs,
      turns: spec.turns,
      model: model.id,
      requestedModel,
      ...(tier === 'standard' ? {} : { tier }),
      ...(spec.aspectRatio === undefined ? {} : { aspectRatio: spec.aspectRatio }),
      ...(spec.imageSize === undefined ? {} : { imageSize: spec.imageSize }),
      ...(spec.thinkingLevel === undefined ? {} : { thinkingLevel: spec.thinkingLevel }),
      ...(spec.grounding === undefined ? {} : { grounding: spec.grounding }),
      ...(warning ? { warnings: [warning] } : {}),
      output: {
        bucket: ctx.outputBucket,
        base: outputBase({
          folder: spec.folder,
          stem: spec.stem,
          label: spec.label,
          variant,
          variants: spec.variants,
          jobId,
        }),
        format: output.format,
        quality: output.quality,
        renditions: output.renditions,
      },
      estimatedCostUsd: estimate,
      tags: spec.tags,
      plannedAt: ctx.now.toISOString(),
    });
  }
  if (spec.frames && jobs[0]) {
    const frames = planFrames(spec, spec.frames, jobs[0], model, ctx, estimate, {
      sidecar: sidecarRef,
      inputs: allInputs,
      jobIndex: spec.jobIndex,
    });
    const total = frames.reduce((s, j) => s + j.estimatedCostUsd, 0);
    return { spec, jobs: frames, estimate: total, standard: (total * standard) / (estimate || 1) };
  }
  return { spec, jobs, estimate: estimate * jobs.length, standard: standard * jobs.length };
}

/** Why a job cannot run in a tier on this model (catalog data), or undefined when it can. */
function tierProblem(
  model: ModelInfo,
  tier: Tier,
  available: readonly Tier[],
): { message: string; fix: string } | undefined {
  if (!available.includes(tier)) {
    return {
      message: `the ${tier} tier does not run here (this deployment runs ${available.join(', ')}).`,
      fix: `Use tier ${available.map((t) => `"${t}"`).join(' or ')}, or run the drop with the CLI (bananaflow run --tier ${tier}).`,
    };
  }
  if (tierDiscount(model, tier) === undefined) {
    return {
      message: `${model.id} does not offer the ${tier} tier (it offers ${tiersOf(model).join(', ')}).`,
      fix: `Use tier ${tiersOf(model)
        .map((t) => `"${t}"`)
        .join(' or ')}, or a model that offers ${tier}; the tiers are ${TIERS.join(', ')}.`,
    };
  }

  return undefined;
}

/** What a keyframe sequence cannot do: variants, or more references than fit beside a frame. */
function sequenceProblems(
  spec: JobSpec,
  model: ModelInfo | undefined,
  problem: (code: BananaError['code'], field: string, message: string, fix: string) => void,
) {
  if (spec.variants > 1) {
    problem(
      'SIDECAR_INVALID',
      'variants',
      `"frames" cannot have variants (${spec.variants} from "defaults"): each frame follows the one before.`,
      'Set "variants": 1 on this job, or remove variants from "defaults".',
    );
  }
  // Frame 2 on sends the frame before plus every reference.
  if (model && spec.references.length + 1 > model.maxInputImages) {
    problem(
      'TOO_MANY_IMAGES',
      'references',
      `${spec.references.length} references plus the previous frame are ${spec.references.length + 1} images, but ${model.id} takes at most ${model.maxInputImages} (its input cap).`,
      `Use at most ${model.maxInputImages - 1} references with "frames", or a model that takes more images.`,
    );
  }
}

/**
 * Every frame's job of a keyframe sequence. Frame 1 is estimated like any job; a later frame sends
 * the frame before (the model's output size at the sequence's aspect ratio) plus the references.
 */
function planFrames(
  spec: JobSpec,
  prompts: string[],
  first: Job,
  model: ModelInfo,
  ctx: PlanContext,
  firstEstimate: number,
  identity: Parameters<typeof sequenceIdFor>[0],
): Job[] {
  // Frame 1's output ratio (what the frames keep): as `estimateJobCost` derives it.
  const firstImage = [...spec.inputs, ...spec.references][0];
  const longEdge = model.inputLongEdgePx;
  const size = (firstImage && ctx.imageSize?.(firstImage)) || { width: longEdge, height: longEdge };
  const ratio =
    spec.aspectRatio ??
    (firstImage === undefined ? '1:1' : nearestAspectRatio(model, size.width, size.height));
  const [width, height] = outputSizeFor(model, ratio, spec.imageSize);
  const previous = '(previous frame)';
  const sizes = {
    ...ctx,
    imageSize: (name: string) => (name === previous ? { width, height } : ctx.imageSize?.(name)),
  };
  const estimates = prompts.map((prompt, index) =>
    index === 0
      ? firstEstimate
      : estimateJobCost(model, sizes, {
          images: [previous, ...spec.references],
          turns: [prompt],
          aspectRatio: ratio,
          imageSize: spec.imageSize,
        }),
  );
  const preview = previewSpec.parse(spec.preview ?? {});
  return sequenceJobs(first, {
    id: sequenceIdFor(identity),
    name: spec.stem,
    folder: spec.folder,
    preview,
    prompts,
    estimates,
  });
}

/** Catalog estimate of one job (one variant), in USD. */
export function estimateJobCost(
  model: ModelInfo,
  ctx: Pick<PlanContext, 'imageSize' | 'catalog'>,
  job: {
    images: string[];
    turns: string[];
    aspectRatio?: string | undefined;
    imageSize?: string | undefined;
    grounding?: boolean | undefined;
    tier?: Tier | undefined;
  },
): number {
  const longEdge = model.inputLongEdgePx;
  const sizes = job.images.map((name) => {
    const size = ctx.imageSize?.(name) ?? { width: longEdge, height: longEdge };
    const scale = Math.min(1, longEdge / Math.max(size.width, size.height));
    return { width: Math.round(size.width * scale), height: Math.round(size.height * scale) };
  });
  const first = sizes[0];
  const ratio =
    job.aspectRatio ?? (first ? nearestAspectRatio(model, first.width, first.height) : '1:1');
  const usage = estimateUsage(model, {
    images: sizes,
    turns: job.turns,
    ...(job.imageSize === undefined ? {} : { imageSize: job.imageSize }),
    outputSize: outputSizeFor(model, ratio, job.imageSize),
    ...(job.grounding ? { grounding: true } : {}),
  });
  return costFromUsage(model, usage, ctx.catalog.priceTableVersion, {
    estimated: true,
    tier: job.tier,
  }).total;
}
