import type { BananaError } from '../errors.ts';
import { sidecarCapProblem, specCapProblem, withCostLimits } from './cost-limits.ts';
import { jobSpecsOf } from './job-specs.ts';
import type {
  JobSpec,
  PlanContext,
  PlannedSpec,
  PlanResult,
  SidecarToPlan,
} from './plan-context.ts';
import { resolveInputs } from './resolve-inputs.ts';
import { checkOptions, resolveModel, specProblems } from './spec-checks.ts';
import { specJobs } from './spec-jobs.ts';

export type { DropObject, PlanContext, PlanResult, SidecarToPlan } from './plan-context.ts';

/**
 * Planning, step by step: the sidecar's job specs (job-specs.ts), each checked (spec-checks.ts,
 * resolve-inputs.ts) and turned into jobs (spec-jobs.ts), then held to the cost caps (cost-limits.ts).
 */

type SpecResult = PlannedSpec | { problems: BananaError[]; waitingFor: string[] };

/** Turns one parsed sidecar plus the objects around it into jobs. Pure: no I/O. */
export function planSidecarJobs(sidecar: SidecarToPlan, ctx: PlanContext): PlanResult {
  const problems: BananaError[] = [];
  const waitingFor = new Set<string>();
  const warnings = new Set<string>();
  const planned: PlannedSpec[] = [];
  for (const spec of jobSpecsOf(sidecar, ctx)) {
    const result = planSpec(sidecar, spec, ctx);
    if ('problems' in result) {
      problems.push(...result.problems);
      for (const name of result.waitingFor) waitingFor.add(name);
      continue;
    }
    for (const job of result.jobs) {
      for (const warning of job.warnings ?? []) warnings.add(`${sidecar.name}: ${warning}`);
    }
    const overCap = specCapProblem(sidecar.name, result);
    if (overCap) problems.push(overCap);
    else planned.push(result);
  }
  const found = { waitingFor: [...waitingFor], warnings: [...warnings] };
  const total = planned.reduce((sum, p) => sum + p.estimate, 0);
  const cap = sidecar.parsed.spec.maxCostUsd;
  if (cap !== undefined && total > cap) {
    const overCap = sidecarCapProblem(sidecar.name, planned, total, cap);
    return {
      jobs: [],
      problems: [...problems, overCap],
      ...found,
      estimatedCostUsd: 0,
      standardCostUsd: 0,
    };
  }
  const jobs = withCostLimits(planned, cap, total);
  const involved = sidecar.onlyInvolving;
  const selected = involved ? jobs.filter((j) => j.inputs.some((i) => i.name === involved)) : jobs;
  const standardOf = new Map(
    planned.flatMap((p) => p.jobs.map((j) => [j.jobId, p.standard / p.jobs.length])),
  );
  return {
    jobs: selected,
    problems,
    ...found,
    estimatedCostUsd: selected.reduce((s, j) => s + j.estimatedCostUsd, 0),
    standardCostUsd: selected.reduce((s, j) => s + (standardOf.get(j.jobId) ?? 0), 0),
  };
}

/** One spec: its problems (or the inputs it waits for), else its jobs. */
function planSpec(sidecar: SidecarToPlan, spec: JobSpec, ctx: PlanContext): SpecResult {
  const { problems, add } = specProblems(sidecar.name, spec);
  const { model, requestedModel } = resolveModel(spec, ctx, add);
  const { inputs, references, waitingFor } = resolveInputs(sidecar, spec, ctx, add);
  const tier = spec.tier ?? ctx.defaultTier ?? 'standard';
  checkOptions(sidecar, spec, ctx, { model, tier }, add);
  if (problems.length > 0 || waitingFor.length > 0 || !model) return { problems, waitingFor };
  return specJobs(sidecar, spec, ctx, { model, requestedModel, tier, inputs, references });
}
