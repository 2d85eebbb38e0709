import { BananaError } from '../errors.ts';
import { estimateJobCost } from '../planning/estimate-job-cost.ts';
import type { JobRun } from './job-run.ts';
import type { LoadedInput } from './load-inputs.ts';

/**
 * A job's own cost cap (`maxCostUsd`), checked twice: the estimate with the real input sizes
 * before anything is spent, and between the steps of a refinement.
 */

/** Refuses a job whose estimate, with the real input sizes, exceeds its cap. */
export function refuseOverCapEstimate(run: JobRun, inputs: readonly LoadedInput[]): void {
  const { job } = run;
  if (job.maxCostUsd === undefined) return;
  const sizes = new Map(
    inputs.map((i, index) => [
      String(index),
      { width: i.prepared.width, height: i.prepared.height },
    ]),
  );
  const estimate = estimateJobCost(
    run.model,
    { catalog: run.deps.catalog, imageSize: (n) => sizes.get(n) },
    {
      images: [...sizes.keys()],
      turns: job.turns,
      aspectRatio: job.aspectRatio,
      imageSize: job.imageSize,
      grounding: job.grounding !== undefined,
    },
  );
  if (estimate > job.maxCostUsd) {
    throw new BananaError({
      code: 'COST_CAP_EXCEEDED',
      message: `Estimated $${estimate.toFixed(4)} for this job exceeds its cap of $${job.maxCostUsd.toFixed(4)}.`,
      fix: 'Raise maxCostUsd in the sidecar, or use smaller inputs or fewer steps.',
      details: { estimatedCostUsd: estimate, cap: job.maxCostUsd },
    });
  }
}

/** Stops a refinement after step `index` when the next step would likely pass the cap. */
export function stopBeforeCap(run: JobRun, index: number, spentUsd: number): void {
  const cap = run.job.maxCostUsd;
  const steps = run.job.turns.length;
  const perStep = spentUsd / (index + 1);
  if (cap === undefined || index + 1 >= steps || spentUsd + perStep <= cap) return;
  throw new BananaError({
    code: 'COST_CAP_EXCEEDED',
    message: `Stopped after step ${index + 1} of ${steps}: $${spentUsd.toFixed(4)} spent, the next step would pass the cap of $${cap.toFixed(4)}.`,
    fix: 'Raise maxCostUsd in the sidecar, or use fewer steps.',
    details: { spentUsd, cap, step: index + 1 },
  });
}
