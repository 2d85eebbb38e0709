import { costFromUsage, estimateUsage } from '../catalog/cost.ts';
import { type ModelInfo, nearestAspectRatio, outputSizeFor } from '../catalog/model-catalog.ts';
import type { Tier } from '../catalog/tiers.ts';
import type { PlanContext } from './plan-context.ts';

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
