import { resolve } from 'node:path';
import type { ModelCatalog } from '../../../shared/catalog/model-catalog.ts';
import type { Config } from '../../../shared/config.ts';
import type { DropPlan } from '../../../shared/pipeline/plan-drop.ts';
import { plural } from '../../../shared/text/plural.ts';
import type { CommandInput } from '../command.ts';
import { estimateLine, planTable, sidecarLines, tierPrices, usd, warningLines } from '../render.ts';
import { outFolderFor, planTarget, resolveTarget, workToDoIn } from './plan-target.ts';

/** `validate` and `estimate`: plan the target, print every sidecar's problems, exit 1 on any. */
export async function planReport(
  command: 'estimate' | 'validate',
  input: CommandInput,
): Promise<number> {
  const catalog = input.catalog();
  const config = input.config();
  const target = input.args[0] as string;
  const drop = input.values.drop as string | undefined;
  const plan = await planTarget(target, { config, catalog, drop });
  const todo =
    command === 'estimate'
      ? await stillToDo(target, drop, input.values.out as string | undefined, plan, {
          config,
          catalog,
        })
      : undefined;
  const problems = plan.sidecars.flatMap((s) => s.problems);
  const out = (text: string) => input.io.out.write(`${text}\n`);
  if (input.values.json === true) {
    out(
      JSON.stringify(
        {
          ...planJson(command, plan, catalog.priceTableVersion),
          ...tierPrices(plan, catalog),
          ...(todo ? { todo } : {}),
        },
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
  if (todo) {
    out(
      `${plural(plan.jobs.length, 'job')}: ${todo.done} done, ${todo.toRun} to run, ${usd(todo.estimatedCostUsd)} (outputs in ${todo.outDir}).`,
    );
  }
  return problems.length === 0 ? 0 : 1;
}

/** What `run` would still do with this plan in its output folder. */
async function stillToDo(
  target: string,
  drop: string | undefined,
  out: string | undefined,
  plan: DropPlan,
  deps: { config: Config; catalog: ModelCatalog },
) {
  const where = await resolveTarget(target, drop);
  const outDir = resolve(outFolderFor(where.dropDir, out));
  const todo = await workToDoIn(where, outDir, plan.jobs, deps);
  return {
    outDir,
    done: todo.finished,
    toRun: todo.toRun.length,
    estimatedCostUsd: Math.round(todo.estimatedCostUsd * 1e6) / 1e6,
  };
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
