import type { DropPlan } from '../../../shared/pipeline/plan-drop.ts';
import { plural } from '../../../shared/text/plural.ts';
import type { CommandInput } from '../command.ts';
import { estimateLine, planTable, sidecarLines, tierPrices, warningLines } from '../render.ts';
import { planTarget } from './plan-target.ts';

/** `validate` and `estimate`: plan the target, print every sidecar's problems, exit 1 on any. */
export async function planReport(
  command: 'estimate' | 'validate',
  input: CommandInput,
): Promise<number> {
  const catalog = input.catalog();
  const plan = await planTarget(input.args[0] as string, {
    config: input.config(),
    catalog,
    drop: input.values.drop as string | undefined,
  });
  const problems = plan.sidecars.flatMap((s) => s.problems);
  const out = (text: string) => input.io.out.write(`${text}\n`);
  if (input.values.json === true) {
    out(
      JSON.stringify(
        { ...planJson(command, plan, catalog.priceTableVersion), ...tierPrices(plan, catalog) },
        null,
        2,
      ),
    );
    return problems.length === 0 ? 0 : 1;
  }
  for (const line of sidecarLines(plan)) out(line);
  for (const line of warningLines(plan)) out(line);
  if (plan.uncovered.length > 0) {
    out(
      `${plural(plan.uncovered.length, 'image')} no sidecar covers: ${plan.uncovered.join(', ')}`,
    );
  }
  if (command === 'estimate' && plan.jobs.length > 0) out(`\n${planTable(plan)}`);
  out(
    `\n${plural(plan.jobs.length, 'job')}${problems.length > 0 ? `, ${plural(problems.length, 'problem')}` : ''}; ${estimateLine(plan, catalog)}`,
  );
  return problems.length === 0 ? 0 : 1;
}

function planJson(command: 'estimate' | 'validate', plan: DropPlan, priceTableVersion: string) {
  return {
    ok: plan.sidecars.every((s) => s.problems.length === 0),
    sidecars: plan.sidecars.map((s) => ({
      file: s.sidecar,
      jobs: s.jobs.length,
      problems: s.problems.map((p) => p.toJSON()),
      warnings: s.warnings,
    })),
    jobs: command === 'estimate' ? plan.jobs : plan.jobs.length,
    estimatedCostUsd: plan.estimatedCostUsd,
    priceTableVersion,
    uncoveredImages: plan.uncovered,
  };
}
