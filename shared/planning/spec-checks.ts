import type { ModelInfo } from '../catalog/model-catalog.ts';
import { TIERS, type Tier, tierDiscount, tiersOf } from '../catalog/tiers.ts';
import { BananaError, type ErrorCode } from '../errors.ts';
import { modeProblem } from './job-mode.ts';
import { optionProblems, retiredModelError } from './model-checks.ts';
import type { JobSpec, PlanContext, SidecarToPlan } from './plan-context.ts';

/** What planning checks of one job spec before it plans anything: its model and its options. */

/** Records a problem of the spec's `field` (prefixed with the job's place in the sidecar). */
export type AddProblem = (
  code: ErrorCode,
  field: string,
  message: string,
  fix: string,
  more?: Record<string, unknown>,
) => void;

/** A spec's problem list and the function that adds to it, each problem naming file and field. */
export function specProblems(file: string, spec: JobSpec) {
  const problems: BananaError[] = [];
  const add: AddProblem = (code, field, message, fix, more = {}) =>
    problems.push(
      new BananaError({
        code,
        message: `${file}: field "${spec.at}${field}": ${message}`,
        fix,
        details: { file, field: `${spec.at}${field}`, ...more },
      }),
    );
  return { problems, add };
}

/** The catalog model the spec asks for (or the default), unless it is unknown or retired. */
export function resolveModel(
  spec: JobSpec,
  ctx: PlanContext,
  add: AddProblem,
): { model: ModelInfo | undefined; requestedModel: string } {
  const requestedModel = spec.model ?? ctx.defaultModel ?? ctx.catalog.defaultModel.id;
  let model: ModelInfo | undefined;
  try {
    model = ctx.catalog.resolve(requestedModel);
  } catch (error) {
    const e = error as BananaError;
    add('MODEL_UNKNOWN', 'model', e.message, e.fix ?? '', e.details);
  }
  const retired = model && retiredModelError(model, ctx.catalog, requestedModel);
  if (!retired) return { model, requestedModel };
  add('MODEL_RETIRED', 'model', retired.message, retired.fix ?? '', retired.details);
  return { model: undefined, requestedModel };
}

/** Everything about the spec's prompt and options that stops it: prompt, model options, tier, frames, mode. */
export function checkOptions(
  sidecar: SidecarToPlan,
  spec: JobSpec,
  ctx: PlanContext,
  chosen: { model: ModelInfo | undefined; tier: Tier },
  add: AddProblem,
): void {
  const { model, tier } = chosen;
  if (spec.turns.length === 0) {
    add('SIDECAR_INVALID', 'prompt', 'no prompt or steps.', 'Give a "prompt" or "steps".');
  }
  if (model) modelOptionProblems(sidecar, spec, model, add);
  const why = model && tierProblem(model, tier, ctx.availableTiers ?? TIERS);
  if (why) {
    const from = spec.tier ? '' : ` (the run's default tier, e.g. --tier ${tier})`;
    add('MODEL_OPTION_UNSUPPORTED', 'tier', `${why.message}${from}`, why.fix, { tier });
  }
  if (spec.frames) sequenceProblems(spec, model, add);
  const wrongMode = spec.mode && modeProblem(spec, spec.mode);
  if (wrongMode) {
    add('SIDECAR_INVALID', 'mode', `mode "${spec.mode}" ${wrongMode}.`, 'Fix the job or the mode.');
  }
}

function modelOptionProblems(
  sidecar: SidecarToPlan,
  spec: JobSpec,
  model: ModelInfo,
  add: AddProblem,
): void {
  const imageCount = spec.inputs.length + spec.references.length;
  for (const p of optionProblems(model, { ...spec, imageCount })) {
    // Name the field that holds the extra images (a manifest may list them all as inputs).
    const field =
      p.code !== 'TOO_MANY_IMAGES' ||
      spec.references.length > 0 ||
      sidecar.parsed.kind !== 'manifest'
        ? p.field
        : 'inputs';
    add(p.code, field, p.message, p.fix, p.details);
  }
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
function sequenceProblems(spec: JobSpec, model: ModelInfo | undefined, add: AddProblem) {
  if (spec.variants > 1) {
    add(
      'SIDECAR_INVALID',
      'variants',
      `"frames" cannot have variants (${spec.variants} from "defaults"): each frame follows the one before.`,
      'Set "variants": 1 on this job, or remove variants from "defaults".',
    );
  }
  // Frame 2 on sends the frame before plus every reference.
  if (model && spec.references.length + 1 > model.maxInputImages) {
    add(
      'TOO_MANY_IMAGES',
      'references',
      `${spec.references.length} references plus the previous frame are ${spec.references.length + 1} images, but ${model.id} takes at most ${model.maxInputImages} (its input cap).`,
      `Use at most ${model.maxInputImages - 1} references with "frames", or a model that takes more images.`,
    );
  }
}
