import type { ModelCatalog, ModelInfo } from '../catalog/model-catalog.ts';
import { BananaError } from '../errors.ts';

/**
 * What planning checks against the chosen model's catalog row, before anything is called or paid:
 * its lifecycle (shut down = refused, deprecated = a warning) and each request option against what
 * that model supports. Data decides everything here; no model id appears in code.
 */

/** The request options a job may set, as the sidecar gives them. */
export interface RequestedOptions {
  aspectRatio?: string | undefined;
  imageSize?: string | undefined;
  thinkingLevel?: string | undefined;
  grounding?: string | undefined;
  /** Inputs plus references. */
  imageCount: number;
}

/** A problem with one option: the field, what is wrong, and the model's allowed values. */
export interface OptionProblem {
  code: 'MODEL_OPTION_UNSUPPORTED' | 'TOO_MANY_IMAGES';
  field: string;
  message: string;
  fix: string;
  details: Record<string, unknown>;
}

const list = (values: readonly string[]) => values.join(', ');

/** Every option the model does not support, each naming the field and the allowed values. */
export function optionProblems(model: ModelInfo, options: RequestedOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const unsupported = (field: string, value: string, allowed: readonly string[], why?: string) =>
    problems.push({
      code: 'MODEL_OPTION_UNSUPPORTED',
      field,
      message:
        why ?? `${model.id} does not support ${field} "${value}"; it allows ${list(allowed)}.`,
      fix:
        allowed.length > 0
          ? `Use one of ${list(allowed)} for ${field}, or a model that supports "${value}" (see \`bananaflow models\`).`
          : `Remove ${field}, or choose a model that supports it (see \`bananaflow models\`).`,
      details: { model: model.id, value, allowed },
    });
  const { aspectRatio, imageSize, thinkingLevel, grounding } = options;
  if (aspectRatio !== undefined && !model.aspectRatios.includes(aspectRatio)) {
    unsupported('aspectRatio', aspectRatio, model.aspectRatios);
  }
  if (imageSize !== undefined && !model.imageSizes.includes(imageSize)) {
    unsupported(
      'imageSize',
      imageSize,
      model.imageSizes,
      model.imageSizes.length === 0
        ? `${model.id} has one fixed output size (${model.defaultImageSize}); imageSize does not apply.`
        : undefined,
    );
  }
  if (thinkingLevel !== undefined) {
    const levels = model.thinking ? model.thinking.levels : [];
    if (!levels.some((l) => l === thinkingLevel)) {
      unsupported(
        'thinkingLevel',
        thinkingLevel,
        levels,
        levels.length === 0
          ? `${model.id} does not think; thinkingLevel does not apply.`
          : undefined,
      );
    }
  }
  if (grounding !== undefined && !model.grounding.some((g) => g === grounding)) {
    unsupported(
      'grounding',
      grounding,
      model.grounding,
      model.grounding.length === 0 ? `${model.id} has no Search grounding.` : undefined,
    );
  }
  if (options.imageCount > model.maxInputImages) {
    problems.push({
      code: 'TOO_MANY_IMAGES',
      field: 'references',
      message: `${options.imageCount} images (inputs plus references), but ${model.id} takes at most ${model.maxInputImages}.`,
      fix: `Use at most ${model.maxInputImages} images, or a model that takes more (see \`bananaflow models\`).`,
      details: { images: options.imageCount, max: model.maxInputImages },
    });
  }
  return problems;
}

/** `2026-06-25` as written, plus "(earliest)" when the date is only the earliest announced. */
function shutdownText(model: ModelInfo): string {
  const { shutdown, shutdownIsEarliest } = model.lifecycle;
  return shutdown ? `${shutdown}${shutdownIsEarliest ? ' at the earliest' : ''}` : 'unknown';
}

/** A shut-down model: refused before any call, naming the date and a live replacement. */
export function retiredModelError(
  model: ModelInfo,
  catalog: ModelCatalog,
  requested: string,
): BananaError | undefined {
  if (model.lifecycle.status !== 'shut-down') return undefined;
  const replacement = catalog.liveReplacement(model);
  return new BananaError({
    code: 'MODEL_RETIRED',
    message: `Model "${requested}" was shut down on ${shutdownText(model)}; Google no longer serves it (requests would fail with 404).`,
    fix: `Set model to "${replacement.id}" (its current replacement) in the sidecar, or leave model out to use the default ${catalog.defaultModel.id}.`,
    details: {
      model: model.id,
      shutdown: model.lifecycle.shutdown,
      replacement: replacement.id,
    },
  });
}

/**
 * A warning for a model that still answers but is on its way out (deprecated, or restricted to
 * some projects), naming the replacement and the shutdown date; undefined when all is well.
 */
export function lifecycleWarning(
  model: ModelInfo,
  catalog: ModelCatalog,
  now: Date,
): string | undefined {
  const { status, restrictions, shutdown } = model.lifecycle;
  if (status !== 'deprecated' && restrictions.length === 0) return undefined;
  const replacement = catalog.liveReplacement(model);
  const parts = [
    status === 'deprecated'
      ? `${model.id} is deprecated${model.lifecycle.deprecated ? ` since ${model.lifecycle.deprecated}` : ''}`
      : `${model.id} has restrictions`,
    `shutdown ${shutdownText(model)}${shutdown && shutdown <= now.toISOString().slice(0, 10) ? ' (passed: calls may fail with 404)' : ''}`,
    ...restrictions,
  ];
  return `${parts.join('; ')}. Use ${replacement.id} instead.`;
}
