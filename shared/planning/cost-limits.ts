import { BananaError } from '../errors.ts';
import { plural } from '../text/plural.ts';
import { withFrameCaps } from './frame-jobs.ts';
import type { Job } from './job.ts';
import type { PlannedSpec } from './plan-context.ts';

/**
 * A sidecar's cost caps at planning: a job's own `maxCostUsd` and the sidecar's. Over a cap is
 * refused now, before anything is spent; under it, each job carries its share as its own cap.
 */

/** The problem of a spec whose own estimate is over its own `maxCostUsd`. */
export function specCapProblem(file: string, planned: PlannedSpec): BananaError | undefined {
  const { spec, estimate } = planned;
  const own = spec.maxCostUsd;
  if (own === undefined || estimate <= own) return undefined;
  // Refused now, before anything is spent, rather than by the worker after publishing.
  return new BananaError({
    code: 'COST_CAP_EXCEEDED',
    message: `${file}: ${spec.at ? `jobs[${spec.jobIndex}] is` : 'its jobs are'} estimated at $${estimate.toFixed(4)}, over its maxCostUsd $${own}.`,
    fix: 'Raise maxCostUsd, or use fewer variants or steps, or smaller inputs.',
    details: {
      file,
      field: `${spec.at}maxCostUsd`,
      estimatedCostUsd: estimate,
      cap: own,
    },
  });
}

/** The problem of a sidecar whose planned jobs together are estimated over its `maxCostUsd`. */
export function sidecarCapProblem(
  file: string,
  planned: readonly PlannedSpec[],
  total: number,
  cap: number,
): BananaError {
  return new BananaError({
    code: 'COST_CAP_EXCEEDED',
    message: `${file}: the ${plural(
      planned.reduce((n, p) => n + p.jobs.length, 0),
      'planned job',
    )} are estimated at $${total.toFixed(4)}, over maxCostUsd $${cap}.`,
    fix: 'Raise maxCostUsd, or plan fewer jobs or variants.',
    details: { file, field: 'maxCostUsd', estimatedCostUsd: total, cap },
  });
}

/**
 * Every planned job with its own cost limit: the tighter of its spec's cap and its spec's share of
 * the sidecar's cap, split over the spec's jobs by estimate. `total` is the sum of the estimates.
 */
export function withCostLimits(
  planned: readonly PlannedSpec[],
  cap: number | undefined,
  total: number,
): Job[] {
  return planned.flatMap((p) => {
    const share = cap !== undefined && total > 0 ? (cap * p.estimate) / total : undefined;
    const perJob = [share, p.spec.maxCostUsd].filter((v): v is number => v !== undefined);
    const limited = p.jobs.map((job) => {
      // Split by estimate: the frames of a sequence cost more or less than one another.
      const part = p.estimate > 0 ? job.estimatedCostUsd / p.estimate : 1 / p.jobs.length;
      const limit = perJob.length > 0 ? Math.min(...perJob) * part : undefined;
      return limit === undefined ? job : { ...job, maxCostUsd: limit };
    });
    return p.spec.frames ? withFrameCaps(limited) : limited;
  });
}
