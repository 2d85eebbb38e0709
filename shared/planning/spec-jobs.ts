import { type ModelInfo, nearestAspectRatio, outputSizeFor } from '../catalog/model-catalog.ts';
import type { Tier } from '../catalog/tiers.ts';
import { outputSpec, previewSpec } from '../sidecar/sidecar-schema.ts';
import { estimateJobCost } from './estimate-job-cost.ts';
import { sequenceJobs } from './frame-jobs.ts';
import type { Job, ObjectRef } from './job.ts';
import { jobIdFor, sequenceIdFor } from './job-id.ts';
import { deriveMode } from './job-mode.ts';
import { lifecycleWarning } from './model-checks.ts';
import { outputBase } from './output-names.ts';
import type { JobSpec, PlanContext, PlannedSpec, SidecarToPlan } from './plan-context.ts';

/** A spec that passed its checks: the model and tier chosen, its inputs resolved. */
export interface CheckedSpec {
  model: ModelInfo;
  requestedModel: string;
  tier: Tier;
  inputs: ObjectRef[];
  references: ObjectRef[];
}

/** What a job's id is made of, but its variant. */
interface Identity {
  sidecar: ObjectRef;
  inputs: Job['inputs'];
  jobIndex: number;
}

/** The jobs of a checked spec (one per variant, or one per frame) and their estimates. */
export function specJobs(
  sidecar: SidecarToPlan,
  spec: JobSpec,
  ctx: PlanContext,
  checked: CheckedSpec,
): PlannedSpec {
  const { model, tier } = checked;
  const shape = {
    images: [...spec.inputs, ...spec.references],
    turns: spec.turns,
    aspectRatio: spec.aspectRatio,
    imageSize: spec.imageSize,
    grounding: spec.grounding !== undefined,
  };
  const estimate = estimateJobCost(model, ctx, { ...shape, tier });
  const standard = tier === 'standard' ? estimate : estimateJobCost(model, ctx, shape);
  const identity: Identity = {
    sidecar: { bucket: ctx.inputBucket, name: sidecar.name, generation: sidecar.generation },
    inputs: [
      ...checked.inputs.map((ref) => ({ ...ref, role: 'input' as const })),
      ...checked.references.map((ref) => ({ ...ref, role: 'reference' as const })),
    ],
    jobIndex: spec.jobIndex,
  };
  const jobs = variantJobs(sidecar, spec, ctx, checked, { identity, estimate });
  if (spec.frames && jobs[0]) {
    const frames = planFrames(spec, spec.frames, jobs[0], model, ctx, estimate, identity);
    const total = frames.reduce((s, j) => s + j.estimatedCostUsd, 0);
    return { spec, jobs: frames, estimate: total, standard: (total * standard) / (estimate || 1) };
  }
  return { spec, jobs, estimate: estimate * jobs.length, standard: standard * jobs.length };
}

/** One job per variant, each with its own deterministic id and output name. */
function variantJobs(
  sidecar: SidecarToPlan,
  spec: JobSpec,
  ctx: PlanContext,
  checked: CheckedSpec,
  planned: { identity: Identity; estimate: number },
): Job[] {
  const { identity, estimate } = planned;
  const mode = spec.mode ?? deriveMode(spec);
  const output = outputSpec.parse(spec.output);
  const options = jobOptions(
    spec,
    checked.tier,
    lifecycleWarning(checked.model, ctx.catalog, ctx.now),
  );
  const jobs: Job[] = [];
  for (let variant = 1; variant <= spec.variants; variant++) {
    const jobId = jobIdFor({ ...identity, variant });
    jobs.push({
      schemaVersion: 1,
      jobId,
      runId: ctx.runId,
      mode,
      sidecar: { ...identity.sidecar, kind: sidecar.parsed.kind },
      jobIndex: spec.jobIndex,
      variant,
      variants: spec.variants,
      inputs: identity.inputs,
      turns: spec.turns,
      model: checked.model.id,
      requestedModel: checked.requestedModel,
      ...options,
      output: {
        bucket: ctx.outputBucket,
        base: outputBase({ ...spec, variant, jobId }),
        format: output.format,
        quality: output.quality,
        renditions: output.renditions,
      },
      estimatedCostUsd: estimate,
      tags: spec.tags,
      plannedAt: ctx.now.toISOString(),
    });
  }
  return jobs;
}

/** The job fields a spec sets only when it has them (a standard tier is the default, left out). */
function jobOptions(spec: JobSpec, tier: Tier, warning: string | undefined) {
  return {
    ...(tier === 'standard' ? {} : { tier }),
    ...(spec.aspectRatio === undefined ? {} : { aspectRatio: spec.aspectRatio }),
    ...(spec.imageSize === undefined ? {} : { imageSize: spec.imageSize }),
    ...(spec.thinkingLevel === undefined ? {} : { thinkingLevel: spec.thinkingLevel }),
    ...(spec.grounding === undefined ? {} : { grounding: spec.grounding }),
    ...(warning ? { warnings: [warning] } : {}),
  };
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
  identity: Identity,
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
