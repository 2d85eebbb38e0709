import type { ModelInfo } from '../../shared/catalog/model-catalog.ts';
import { BadRequestError } from './conversation.ts';
import type { WireGenerateContentRequest } from './protocol.ts';

/**
 * The per-model checks the real API makes on a request (answered 400 INVALID_ARGUMENT), read from
 * the model's catalog row: aspect ratio, image size, number of input images, thinking level and
 * grounding. Returns the thinking level in force and whether the request is grounded.
 */
export function checkModelOptions(
  model: ModelInfo,
  body: WireGenerateContentRequest,
  inputImages: number,
): { thinkingLevel?: string; grounded: boolean } {
  const config = body.generationConfig ?? {};
  const ratio = config.imageConfig?.aspectRatio;
  if (ratio !== undefined && !model.aspectRatios.includes(ratio)) {
    throw new BadRequestError(
      `* GenerateContentRequest.generation_config.image_config.aspect_ratio: unsupported aspect ratio "${ratio}" for ${model.id} (use ${model.aspectRatios.join(', ')}).`,
    );
  }
  const size = config.imageConfig?.imageSize;
  // Models without sizes (2.5 Flash Image) ignore the field; the others reject unknown ones ("2k").
  if (size !== undefined && model.imageSizes.length > 0 && !model.imageSizes.includes(size)) {
    throw new BadRequestError(
      `* GenerateContentRequest.generation_config.image_config.image_size: unsupported image size "${size}" for ${model.id} (use ${model.imageSizes.join(', ')}).`,
    );
  }
  if (inputImages > model.maxInputImages) {
    throw new BadRequestError(
      `* GenerateContentRequest.contents: ${model.id} accepts at most ${model.maxInputImages} input images, got ${inputImages}.`,
    );
  }
  const level = config.thinkingConfig?.thinkingLevel?.toLowerCase();
  if (level !== undefined) {
    const levels: readonly string[] = model.thinking ? model.thinking.levels : [];
    if (!levels.includes(level)) {
      throw new BadRequestError(
        `* GenerateContentRequest.generation_config.thinking_config.thinking_level: ${model.id} ${levels.length === 0 ? 'does not support thinking' : `supports ${levels.join(', ')}, not "${level}"`}.`,
      );
    }
  }
  const grounded = (body.tools ?? []).some((tool) => tool.googleSearch !== undefined);
  if (grounded && !model.grounding.includes('google-search')) {
    throw new BadRequestError(
      `* GenerateContentRequest.tools: ${model.id} does not support google_search.`,
    );
  }
  const inForce = level ?? (model.thinking ? model.thinking.default : undefined);
  return { ...(inForce ? { thinkingLevel: inForce } : {}), grounded };
}
