import { createJsonLogger } from '../../../shared/adapters/json-logger.ts';
import { type Logger, silentLogger } from '../../../shared/ports/logger.ts';
import { plural } from '../../../shared/text/plural.ts';
import { type ClaimWait, localPipeline, type RunSummary, runDrop } from '../../runner/run-drop.ts';
import {
  type CommandInput,
  type CommandSpec,
  JSON_OPTION,
  MODEL_OPTION,
  TIER_OPTION,
} from '../command.ts';
import { imageModelForEnv } from '../image-model-for-env.ts';
import { interruptOnSignals } from '../interrupt.ts';
import { IPM_OPTION, withIpmFlag } from '../ipm-flag.ts';
import { progressReporter } from '../progress-bar.ts';
import {
  batchReporter,
  failureLines,
  problemLines,
  summaryText,
  usd,
  warningLines,
} from '../render.ts';
import { reportAfterRun } from '../report-command.ts';
import { outFolderFor } from './plan-target.ts';
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
    ipm: IPM_OPTION,
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
    grace: {
      type: 'string',
      value: '<seconds>',
      number: 'non-negative',
      description:
        'After Ctrl-C (or SIGTERM): how long jobs in flight may finish before the run aborts them (a second Ctrl-C aborts at once).',
      default: '30',
    },
    tier: TIER_OPTION,
    model: MODEL_OPTION,
    json: JSON_OPTION,
  },
  examples: [
    'bananaflow run examples/drop --out out/example',
    'bananaflow run my-drop --max-usd 5 --concurrency 8',
    'bananaflow run my-drop --ipm 120 --concurrency 16',
    'bananaflow run my-drop --json > summary.json',
  ],
  run,
};

async function run(input: CommandInput): Promise<number> {
  const { values, io, say } = input;
  const dropDir = input.args[0] as string;
  const json = values.json === true;
  const config = withIpmFlag(input.config(), values.ipm as string | undefined);
  const catalog = input.catalog();
  await requireFolder(dropDir, 'give the drop folder to run');
  const outDir = outFolderFor(dropDir, values.out as string | undefined);
  // Refuses an output folder inside the drop before any banner or model starts.
  localPipeline({ dropDir, outDir, catalog, config, log: silentLogger });
  const choice = await imageModelForEnv(config, {
    standInLatencyMs: (values['stand-in-latency-ms'] as number | undefined) ?? 0,
    ...(values['stand-in-batch-turnaround-ms']
      ? { standInBatchTurnaroundMs: values['stand-in-batch-turnaround-ms'] as number }
      : {}),
  });
  const progress = progressReporter(io.err);
  const graceMs = ((values.grace as number | undefined) ?? 30) * 1000;
  const interrupt = interruptOnSignals(graceMs, (what) => {
    progress.stop();
    say(interruptNotice(what, graceMs));
  });
  try {
    say(choice.notice);
    const summary = await runDrop({
      ...runOptions(input, dropDir, outDir),
      model: choice.model,
      batchModel: choice.batchModel,
      batchPollMs: choice.batchPollMs,
      onBatchProgress: json ? undefined : batchReporter(say),
      interrupt: interrupt.signals,
      onPlanned: (plan, todo) => {
        if (json) return;
        say(
          `Planned ${plural(plan.jobs.length, 'job')} from ${plural(plan.sidecars.length, 'sidecar')}: ${todo.finished} done, ${todo.toRun.length} to run, estimated ${usd(todo.estimatedCostUsd)} (price table ${catalog.priceTableVersion}).`,
        );
        for (const line of problemLines(plan)) say(line);
        for (const line of warningLines(plan)) say(line);
      },
      onClaimWait: (waits) => say(claimWaitText(waits)),
      onJobDone: (row, p) => {
        if (!json) progress.update(row, p);
      },
    });
    progress.stop();
    return await finishRun(input, summary, choice.offline);
  } finally {
    interrupt.dispose();
    await choice.close();
  }
}

/** What `runDrop` takes from the command line and the environment. */
function runOptions(input: CommandInput, dropDir: string, outDir: string) {
  const { values } = input;
  const maxUsd = values['max-usd'] as number | undefined;
  const concurrency = values.concurrency as number | undefined;
  const maxAttempts = values['max-attempts'] as number | undefined;
  return {
    dropDir,
    outDir,
    catalog: input.catalog(),
    config: withIpmFlag(input.config(), values.ipm as string | undefined),
    log: runLogger(input),
    ...(concurrency ? { concurrency } : {}),
    ...(maxAttempts ? { maxAttempts } : {}),
    ...(maxUsd !== undefined ? { maxUsd } : {}),
  };
}

/** Prints the summary (text or JSON) and the report; returns the exit code. */
async function finishRun(input: CommandInput, summary: RunSummary, offline: boolean) {
  const { io, say } = input;
  const json = input.values.json === true;
  if (json) {
    io.out.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    if (summary.refused) say(`Refused to run: ${summary.refused}. Nothing was spent.`);
    const failures = failureLines(summary);
    io.out.write(
      `\n${summaryText(summary)}\n${failures.length > 0 ? `\n${failures.join('\n')}\n` : ''}\nOutputs: ${summary.outDir}\nSummary: ${summary.summaryFiles.json}\n         ${summary.summaryFiles.csv}\n`,
    );
    if (offline) io.out.write('(offline stand-in: set GEMINI_API_KEY to call Gemini)\n');
  }
  if (summary.refused) return 2;
  if (summary.interrupted) {
    const done = summary.rows.length;
    say(`Interrupted: ${done} done, ${summary.jobs - done} left; run again to resume.`);
    return 130;
  }
  await reportAfterRun(summary.outDir, { io, json });
  return summary.failed > 0 || summary.sidecarProblems.length > 0 ? 1 : 0;
}

function interruptNotice(what: 'stopping' | 'aborting', graceMs: number): string {
  return what === 'stopping'
    ? `Stopping: no new jobs start; waiting up to ${graceMs / 1000}s for the ones in flight (Ctrl-C again to abort now).`
    : 'Aborting: calls still in flight are abandoned; their jobs run again next time.';
}

/** "Waiting for 2 jobs another run holds: a.png (until 14:05:09 UTC, local-123@host), ...". */
function claimWaitText(waits: ClaimWait[]): string {
  const lines = waits.map(
    (w) =>
      `  ${w.job.inputs[0]?.name ?? w.job.sidecar.name} (job ${w.job.jobId.slice(0, 8)}): held by ${w.owner} until ${w.leaseUntil.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
  );
  return `Waiting for ${plural(waits.length, 'job')} another run is still working on (they start when it finishes or its claim ends):\n${lines.join('\n')}`;
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
