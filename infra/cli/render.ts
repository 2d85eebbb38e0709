import type { ModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { tierPriceFactor } from '../../shared/catalog/tiers.ts';
import type { DropPlan } from '../../shared/pipeline/plan-drop.ts';
import type { BatchProgress } from '../../shared/pipeline/run-batch.ts';
import { OUTPUT_EXTENSIONS } from '../../shared/sidecar/sidecar-schema.ts';
import { plural } from '../../shared/text/plural.ts';
import type { RunSummary, SummaryRow } from '../runner/run-drop.ts';
import { duration } from './duration.ts';

/** Text output of the CLI: plans, problems and summaries as tables and lines. */

export const usd = (value: number) => `$${value.toFixed(4)}`;

export function table(rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function planTable(plan: DropPlan): string {
  const rows = [['job', 'mode', 'model', 'tier', 'inputs', 'steps', 'output', 'estimate']];
  for (const job of plan.jobs) {
    rows.push([
      job.jobId.slice(0, 8),
      job.mode,
      job.model,
      job.tier ?? 'standard',
      String(job.inputs.length),
      job.sequence
        ? `frame ${job.sequence.frame}/${job.sequence.plan.length}`
        : String(job.turns.length),
      `${job.output.base}.${OUTPUT_EXTENSIONS[job.output.format]}`,
      usd(job.estimatedCostUsd),
    ]);
  }
  return table(rows);
}

type Problem = DropPlan['sidecars'][number]['problems'][number];

function problemLine(p: Problem, indent: string): string {
  return `${indent}✗ ${p.code}: ${p.message}${p.fix ? `\n${indent}    fix: ${p.fix}` : ''}`;
}

/** Planning warnings (a deprecated model), once each. */
/**
 * The plan's estimate at the jobs' own tiers, at standard list prices, and all in the batch tier
 * (where the model offers it; otherwise at its standard price).
 */
export function tierPrices(plan: DropPlan, catalog: ModelCatalog) {
  let batchCostUsd = 0;
  for (const job of plan.jobs) {
    const model = catalog.resolve(job.model);
    const standard = job.estimatedCostUsd / tierPriceFactor(model, job.tier);
    batchCostUsd += standard * tierPriceFactor(model, 'batch');
  }
  return { standardCostUsd: plan.standardCostUsd, batchCostUsd };
}

/** "estimated $X at their tiers: $Y at standard prices, $Z in the batch tier (…)". */
export function estimateLine(plan: DropPlan, catalog: ModelCatalog): string {
  const prices = tierPrices(plan, catalog);
  return `estimated ${usd(plan.estimatedCostUsd)} at their tiers: ${usd(prices.standardCostUsd)} at standard prices, ${usd(prices.batchCostUsd)} in the batch tier (price table ${catalog.priceTableVersion}).`;
}

/** One line per batch job whenever its state changes. */
export function batchReporter(say: (text: string) => void) {
  const last = new Map<string, string>();
  return (batches: ReadonlyArray<BatchProgress>) => {
    for (const b of batches) {
      if (last.get(b.displayName) === b.state) continue;
      last.set(b.displayName, b.state);
      say(
        `batch ${b.displayName} (${b.name ?? 'not submitted'}): ${b.state}, ${plural(b.requests, 'request')}`,
      );
    }
  };
}

export function warningLines(plan: DropPlan): string[] {
  return [...new Set(plan.sidecars.flatMap((s) => s.warnings))].map((w) => `  ! ${w}`);
}

/** Every problem of every sidecar, one line each with its fix. */
export function problemLines(plan: DropPlan): string[] {
  return plan.sidecars.flatMap((s) => s.problems.map((p) => problemLine(p, '  ')));
}

/** Each sidecar with its job count, its problems listed under it in file order. */
export function sidecarLines(plan: DropPlan): string[] {
  return plan.sidecars.flatMap((s) => {
    const counts = [
      ...(s.jobs.length > 0 || s.problems.length === 0 ? [plural(s.jobs.length, 'job')] : []),
      ...(s.problems.length > 0 ? [plural(s.problems.length, 'problem')] : []),
    ];
    return [
      `${s.problems.length === 0 ? '✓' : '✗'} ${s.sidecar}: ${counts.join(', ')}`,
      ...s.problems.map((p) => problemLine(p, '    ')),
    ];
  });
}

/** "  walk: frame 2 of 3" for a keyframe's row; nothing for other jobs. */
export function frameOf(row: SummaryRow): string {
  return row.frame === undefined ? '' : `  ${row.sequence}: frame ${row.frame} of ${row.frames}`;
}

export function summaryText(summary: RunSummary): string {
  const rows = [
    ['jobs', String(summary.jobs)],
    ['succeeded', String(summary.succeeded)],
    ['already done (earlier run)', String(summary.alreadyDone)],
    ['failed', String(summary.failed)],
    ...(summary.notRun > 0
      ? [['not run (an earlier frame of the sequence failed)', String(summary.notRun)]]
      : []),
    ...(summary.interrupted
      ? [['not started (interrupted; run again)', String(summary.jobs - summary.rows.length)]]
      : []),
    ...Object.entries(summary.failedByCode).map(([code, n]) => [`  ${code}`, String(n)]),
    ...failedEarlier(summary),
    ...(summary.retriedFromEarlierRuns > 0
      ? [
          [
            'tried again (dead-lettered or not started before)',
            String(summary.retriedFromEarlierRuns),
          ],
        ]
      : []),
    ['sidecar problems', String(summary.sidecarProblems.length)],
    ['retries', String(summary.retries)],
    ...throttleRows(summary),
    [
      'tokens (in / out / thoughts)',
      `${summary.tokens.input} / ${summary.tokens.output} / ${summary.tokens.thoughts}`,
    ],
    ...costByModel(summary),
    ['estimated cost', usd(summary.estimatedCostUsd)],
    [
      'cost (from reported usage)',
      `${usd(summary.costUsd)} (price table ${summary.priceTableVersion})`,
    ],
    ...(summary.totals
      ? [
          [
            'all runs into this folder',
            `${plural(summary.totals.runs, 'run')}, ${usd(summary.totals.costUsd)}`,
          ],
        ]
      : []),
  ];
  return table(rows);
}

/** The rate governor: the quota held to, the calls' rate, 429s and the time spent waiting. */
function throttleRows(summary: RunSummary): string[][] {
  const t = summary.throttling;
  if (!t) return [];
  const quota =
    t.limitPerMinute === undefined
      ? 'not limited (no 429 to learn from)'
      : `${t.limitPerMinute}/min (${t.mode === 'told' ? 'told' : 'learnt from 429s'})`;
  return [
    ['quota (images per minute)', quota],
    ['model calls', `${t.calls} (${t.callsPerMinute}/min on average)`],
    ['429s (quota)', String(t.throttled)],
    [
      'waited for the quota',
      `${duration(t.waitingWallMs)} (summed over calls: ${duration(t.waitedMs)})`,
    ],
  ];
}

/** Failures recorded by earlier runs: not retried (permanent); the sidecar must change. */
function failedEarlier(summary: RunSummary): string[][] {
  const n = summary.rows.filter((r) => r.fromEarlierRun).length;
  return n > 0 ? [['  of which in an earlier run', String(n)]] : [];
}

/** Jobs and cost per model, when a run used more than one. */
function costByModel(summary: RunSummary): string[][] {
  const byModel = new Map<string, { jobs: number; usd: number }>();
  for (const row of summary.rows) {
    const entry = byModel.get(row.model) ?? { jobs: 0, usd: 0 };
    byModel.set(row.model, { jobs: entry.jobs + 1, usd: entry.usd + row.costUsd });
  }
  if (byModel.size < 2) return [];
  return [...byModel].map(([model, e]) => [
    `  ${model}`,
    `${plural(e.jobs, 'job')}, ${usd(e.usd)}`,
  ]);
}

const MAX_CAUSE = 240;

/**
 * The end of every run, on a terminal or not: each failed job as input → code → cause → its
 * .error.json (and the fix), each sidecar problem, and the images no sidecar covers.
 */
export function failureLines(summary: RunSummary): string[] {
  const failed = summary.rows.filter((r) => r.status === 'failed');
  const lines: string[] = [];
  if (failed.length > 0) lines.push(`Failed ${plural(failed.length, 'job')}:`);
  for (const row of failed) {
    const cause = (row.errorMessage ?? '').slice(0, MAX_CAUSE);
    const earlier = row.fromEarlierRun ? ' (earlier run)' : '';
    lines.push(
      `  ${row.input ?? row.jobName}${frameOf(row)} → ${row.errorCode}${earlier} → ${cause} → ${row.record}`,
    );
    if (row.fix) lines.push(`      fix: ${row.fix}`);
  }
  if (summary.sidecarProblems.length > 0) {
    lines.push(`${plural(summary.sidecarProblems.length, 'sidecar problem')}:`);
    for (const p of summary.sidecarProblems) {
      lines.push(`  ${p.file} → ${p.code} → ${p.message.slice(0, MAX_CAUSE)}`);
      if (p.fix) lines.push(`      fix: ${p.fix}`);
    }
  }
  const uncovered = summary.uncoveredImages;
  if (uncovered.length > 0) {
    lines.push(`${plural(uncovered.length, 'image')} no sidecar covers (not run):`);
    for (const name of uncovered) lines.push(`  ${name}`);
  }
  return lines;
}
