import { basename, dirname, join, resolve } from 'node:path';
import { createJsonLogger } from '../../../shared/adapters/json-logger.ts';
import { type Logger, silentLogger } from '../../../shared/ports/logger.ts';
import { plural } from '../../../shared/text/plural.ts';
import { localPipeline, runDrop } from '../../runner/run-drop.ts';
import {
  type CommandInput,
  type CommandSpec,
  JSON_OPTION,
  MODEL_OPTION,
  TIER_OPTION,
} from '../command.ts';
import { imageModelForEnv } from '../image-model-for-env.ts';
import { progressReporter } from '../progress-bar.ts';
import { batchReporter, problemLines, summaryText, usd, warningLines } from '../render.ts';
import { reportAfterRun } from '../report-command.ts';
import { requireFolder } from './require-folder.ts';

export const runCommand: CommandSpec = {
  name: 'run',
  summary: 'plan every sidecar in a drop folder and run its jobs; finished jobs are never redone',
  description: `Plans every sidecar in <drop-folder>, prints the estimate, and runs the jobs on Gemini (or the
offline stand-in without credentials), writing outputs, metadata records, error records and a run
summary to the output folder. Running again redoes nothing that finished.`,
  args: [{ name: 'drop-folder', description: 'folder of images and sidecars (read only)' }],
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: '<folder>',
      description: 'Where outputs, records and run summaries go; never inside the drop.',
      default: '<drop-folder>-out beside the drop',
    },
    'max-usd': {
      type: 'string',
      value: '<usd>',
      number: 'positive',
      description:
        'Refuse to start when the estimate exceeds this; never start a job that could pass it.',
      default: 'no cap',
    },
    concurrency: {
      type: 'string',
      value: '<n>',
      number: 'positive-integer',
      description: 'Jobs running at once.',
      default: '4',
    },
    'max-attempts': {
      type: 'string',
      value: '<n>',
      number: 'positive-integer',
      description: 'Tries per job before it is dead-lettered (retryable failures only).',
      default: '5',
    },
    'stand-in-batch-turnaround-ms': {
      type: 'string',
      value: '<ms>',
      number: 'positive',
      description: 'Offline stand-in only: how long a batch job takes (batch tier).',
      default: '1000',
    },
    'stand-in-latency-ms': {
      type: 'string',
      value: '<ms>',
      number: 'non-negative',
      description: 'Offline stand-in only: how long each model call takes, to rehearse a real run.',
      default: '0',
    },
    tier: TIER_OPTION,
    model: MODEL_OPTION,
    json: JSON_OPTION,
  },
  examples: [
    'bananaflow run examples/drop --out out/example',
    'bananaflow run my-drop --max-usd 5 --concurrency 8',
    'bananaflow run my-drop --json > summary.json',
  ],
  run,
};

async function run(input: CommandInput): Promise<number> {
  const { values, io, say } = input;
  const dropDir = input.args[0] as string;
  const json = values.json === true;
  const config = input.config();
  const catalog = input.catalog();
  await requireFolder(dropDir, 'give the drop folder to run');
  const outDir =
    (values.out as string | undefined) ??
    join(dirname(resolve(dropDir)), `${basename(resolve(dropDir))}-out`);
  // Refuses an output folder inside the drop before any banner or model starts.
  localPipeline({ dropDir, outDir, catalog, config, log: silentLogger });
  const choice = await imageModelForEnv(config, {
    standInLatencyMs: (values['stand-in-latency-ms'] as number | undefined) ?? 0,
    ...(values['stand-in-batch-turnaround-ms']
      ? { standInBatchTurnaroundMs: values['stand-in-batch-turnaround-ms'] as number }
      : {}),
  });
  try {
    say(choice.notice);
    const progress = progressReporter(io.err);
    const maxUsd = values['max-usd'] as number | undefined;
    const concurrency = values.concurrency as number | undefined;
    const maxAttempts = values['max-attempts'] as number | undefined;
    const summary = await runDrop({
      dropDir,
      outDir,
      model: choice.model,
      batchModel: choice.batchModel,
      batchPollMs: choice.batchPollMs,
      onBatchProgress: json ? undefined : batchReporter(say),
      catalog,
      config,
      log: runLogger(input),
      ...(concurrency ? { concurrency } : {}),
      ...(maxAttempts ? { maxAttempts } : {}),
      ...(maxUsd !== undefined ? { maxUsd } : {}),
      onPlanned: (plan, todo) => {
        if (json) return;
        say(
          `Planned ${plural(plan.jobs.length, 'job')} from ${plural(plan.sidecars.length, 'sidecar')}: ${todo.finished} done, ${todo.toRun.length} to run, estimated ${usd(todo.estimatedCostUsd)} (price table ${catalog.priceTableVersion}).`,
        );
        for (const line of problemLines(plan)) say(line);
        for (const line of warningLines(plan)) say(line);
      },
      onJobDone: (row, p) => {
        if (!json) progress.update(row, p);
      },
    });
    progress.stop();
    if (json) {
      io.out.write(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      if (summary.refused) say(`Refused to run: ${summary.refused}. Nothing was spent.`);
      io.out.write(
        `\n${summaryText(summary)}\n\nOutputs: ${summary.outDir}\nSummary: ${summary.summaryFiles.json}\n         ${summary.summaryFiles.csv}\n`,
      );
      if (choice.offline) io.out.write('(offline stand-in: set GEMINI_API_KEY to call Gemini)\n');
    }
    if (summary.refused) return 2;
    await reportAfterRun(summary.outDir, { io, json });
    return summary.failed > 0 || summary.sidecarProblems.length > 0 ? 1 : 0;
  } finally {
    await choice.close();
  }
}

/**
 * The run's log: silent unless LOG_LEVEL is set (the progress bar and the summary speak for the
 * run), then JSON lines at that level on stderr, which keeps stdout clean for --json.
 */
function runLogger(input: CommandInput): Logger {
  if (!input.env.LOG_LEVEL) return silentLogger;
  return createJsonLogger({
    level: input.config().LOG_LEVEL,
    base: { command: 'run' },
    write: (line) => input.io.err.write(`${line}\n`),
  });
}
