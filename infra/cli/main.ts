import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createJsonLogger } from '../../shared/adapters/json-logger.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { TIERS, type Tier } from '../../shared/catalog/tiers.ts';
import { type Config, loadConfig } from '../../shared/config.ts';
import { BananaError, isBananaError } from '../../shared/errors.ts';
import { planDrop } from '../../shared/pipeline/plan-drop.ts';
import { planSidecar } from '../../shared/pipeline/plan-sidecar.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { classifyDropFile } from '../../shared/sidecar/drop-files.ts';
import {
  INPUT_BUCKET,
  localPipeline,
  newRunId,
  readDropImageSizes,
  runDrop,
} from '../runner/run-drop.ts';
import { CLOUD_COMMANDS, CLOUD_USAGE } from './cloud/cloud-commands.ts';
import { imageModelForEnv } from './image-model-for-env.ts';
import { inspectPlannedInputs } from './inspect-inputs.ts';
import { checkDefaultModel, withModelFlag } from './model-flag.ts';
import { modelsMain } from './models-command.ts';
import {
  batchReporter,
  estimateLine,
  planTable,
  problemLines,
  progressReporter,
  summaryText,
  tierPrices,
  usd,
  warningLines,
} from './render.ts';
import { reportAfterRun, reportCommand } from './report-command.ts';

const USAGE = `bananaflow: run Gemini image edits from a folder of images and sidecars.

Usage:
  bananaflow run <drop-folder> [--out <folder>] [--tier <tier>] [--max-usd <n>] [--concurrency <n>] [--json]
  bananaflow estimate <drop-folder> [--tier <tier>] [--json]
  bananaflow validate <sidecar-or-folder> [--tier <tier>] [--json]
  bananaflow report <out-folder | gs://bucket[/prefix]> [--out <file.html>] [--json]
  bananaflow models [--live] [--json]
--tier is the tier of sidecars that name none: standard (default), batch (Batch API, half price,
up to 24 h) or flex (half price, 1-15 min, best effort).
${CLOUD_USAGE}

--model <id> (run, estimate, validate): the model of sidecars that name none, for this run
(default BANANAFLOW_MODEL, else the catalog's default; \`bananaflow models\` lists them).

Without GEMINI_API_KEY (or GOOGLE_GENAI_USE_VERTEXAI=true + GOOGLE_CLOUD_PROJECT), "run" uses the
offline Gemini stand-in. Exit code: 0 all good, 1 some job or sidecar failed, 2 usage or setup error.`;

const OPTIONS = {
  out: { type: 'string' },
  tier: { type: 'string' },
  'max-usd': { type: 'string' },
  concurrency: { type: 'string' },
  'max-attempts': { type: 'string' },
  'stand-in-latency-ms': { type: 'string' },
  model: { type: 'string' },
  'stand-in-batch-turnaround-ms': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Where the CLI writes: results to `out`, progress and diagnostics to `err`. */
export interface CliIo {
  out: TextSink;
  err: TextSink;
}
export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** The CLI; returns the exit code. `env` and the streams are injectable for tests. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const say = (text: string) => io.err.write(`${text}\n`);
  try {
    const cloud = argv[0] ? CLOUD_COMMANDS[argv[0]] : undefined;
    if (cloud) return await cloud({ args: argv.slice(1), env, io });
    if (argv[0] === 'models') return await modelsMain(argv.slice(1), env, io);
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
    });
    const [command, target] = positionals;
    if (values.help || !command) {
      io.out.write(`${USAGE}\n`);
      return command || values.help ? 0 : 2;
    }
    if (!target) {
      say(
        `bananaflow ${command}: missing <${command === 'validate' ? 'sidecar-or-folder' : 'drop-folder'}>.\n\n${USAGE}`,
      );
      return 2;
    }
    const config = withTier(withModelFlag(loadConfig(env), values.model), values.tier);
    const catalog = loadModelCatalog(config.BANANAFLOW_MODEL_OVERRIDES);
    if (config.BANANAFLOW_MODEL) checkDefaultModel(catalog, config.BANANAFLOW_MODEL);
    const number = (name: keyof typeof values) => {
      const raw = values[name];
      if (raw === undefined || typeof raw !== 'string') return undefined;
      const value = Number(raw);
      if (!Number.isFinite(value) || value <= 0)
        throw new Error(`--${name} must be a positive number, not "${raw}"`);
      return value;
    };
    switch (command) {
      case 'run':
        return await run(
          target,
          values.out,
          { config, catalog, json: values.json, io, say },
          {
            maxUsd: number('max-usd'),
            concurrency: number('concurrency'),
            maxAttempts: number('max-attempts'),
            latencyMs: number('stand-in-latency-ms'),
            batchTurnaroundMs: number('stand-in-batch-turnaround-ms'),
          },
        );
      case 'report':
        return await reportCommand(target, values.out, { io, json: values.json, env });
      case 'estimate':
      case 'validate':
        return await plan(command, target, { config, catalog, json: values.json, io, say });
      default:
        say(`bananaflow: unknown command "${command}".\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (isBananaError(error)) {
      say(`bananaflow: ${error.code}: ${error.message}${error.fix ? `\n  fix: ${error.fix}` : ''}`);
    } else {
      say(`bananaflow: ${(error as Error).message}`);
    }
    return 2;
  }
}

/** `--tier` overrides BANANAFLOW_TIER; an unknown tier names the allowed ones. */
function withTier(config: Config, tier: string | undefined): Config {
  if (tier === undefined) return config;
  if (!(TIERS as readonly string[]).includes(tier)) {
    throw new BananaError({
      code: 'CONFIG_INVALID',
      message: `--tier "${tier}" is not a tier.`,
      fix: `Use one of ${TIERS.join(', ')}.`,
    });
  }
  return { ...config, BANANAFLOW_TIER: tier as Tier };
}

interface Ctx {
  config: Config;
  catalog: ReturnType<typeof loadModelCatalog>;
  json: boolean;
  io: CliIo;
  say: (text: string) => void;
}

async function run(
  dropDir: string,
  outOption: string | undefined,
  ctx: Ctx,
  opts: {
    maxUsd?: number | undefined;
    concurrency?: number | undefined;
    maxAttempts?: number | undefined;
    latencyMs?: number | undefined;
    batchTurnaroundMs?: number | undefined;
  },
): Promise<number> {
  await requireFolder(dropDir);
  const outDir = outOption ?? join(dirname(resolve(dropDir)), `${basename(resolve(dropDir))}-out`);
  const choice = await imageModelForEnv(ctx.config, {
    standInLatencyMs: opts.latencyMs ?? 0,
    ...(opts.batchTurnaroundMs ? { standInBatchTurnaroundMs: opts.batchTurnaroundMs } : {}),
  });
  try {
    ctx.say(choice.notice);
    const progress = progressReporter(ctx.io.err);
    const logLevel = ctx.config.LOG_LEVEL === 'info' ? 'warn' : ctx.config.LOG_LEVEL;
    const summary = await runDrop({
      dropDir,
      outDir,
      model: choice.model,
      batchModel: choice.batchModel,
      batchPollMs: choice.batchPollMs,
      onBatchProgress: ctx.json ? undefined : batchReporter(ctx.say),
      catalog: ctx.catalog,
      config: ctx.config,
      log: ctx.json ? silentLogger : createJsonLogger({ level: logLevel, write: () => {} }),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
      ...(opts.maxUsd !== undefined ? { maxUsd: opts.maxUsd } : {}),
      onPlanned: (plan) => {
        if (ctx.json) return;
        ctx.say(
          `Planned ${plan.jobs.length} jobs from ${plan.sidecars.length} sidecars. ${estimateLine(plan, ctx.catalog)}`,
        );
        for (const line of problemLines(plan)) ctx.say(line);
        for (const line of warningLines(plan)) ctx.say(line);
      },
      onJobDone: (row, p) => {
        if (!ctx.json) progress.update(row, p);
      },
    });
    if (ctx.json) {
      ctx.io.out.write(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      if (summary.refused) ctx.say(`Refused to run: ${summary.refused}. Nothing was spent.`);
      ctx.io.out.write(
        `\n${summaryText(summary)}\n\nOutputs: ${summary.outDir}\nSummary: ${summary.summaryFiles.json}\n         ${summary.summaryFiles.csv}\n`,
      );
      if (choice.offline)
        ctx.io.out.write('(offline stand-in: set GEMINI_API_KEY to call Gemini)\n');
    }
    if (summary.refused) return 2;
    await reportAfterRun(summary.outDir, ctx);
    return summary.failed > 0 || summary.sidecarProblems.length > 0 ? 1 : 0;
  } finally {
    await choice.close();
  }
}

async function plan(command: 'estimate' | 'validate', target: string, ctx: Ctx): Promise<number> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new Error(`${target} does not exist`);
  const dropDir = info.isDirectory() ? target : dirname(target);
  const scratch = await mkdtemp(join(tmpdir(), 'bananaflow-plan-'));
  try {
    const { planner, store } = localPipeline({
      dropDir,
      outDir: scratch,
      catalog: ctx.catalog,
      config: ctx.config,
      log: silentLogger,
    });
    const runId = newRunId();
    const listing = await store.list(INPUT_BUCKET, '');
    const sizes = await readDropImageSizes(
      resolve(dropDir),
      listing.map((o) => o.name),
      ctx.config.BANANAFLOW_MAX_INPUT_BYTES,
    );
    const imageSize = (name: string) => sizes.get(name);
    let dropPlan: Awaited<ReturnType<typeof planDrop>>;
    if (info.isDirectory()) {
      dropPlan = await planDrop(planner, { runId, imageSize });
    } else {
      const name = basename(target);
      const file = classifyDropFile(name);
      const kind =
        file.kind === 'image-sidecar'
          ? 'image'
          : file.kind === 'folder-sidecar'
            ? 'folder'
            : file.kind === 'manifest'
              ? 'manifest'
              : undefined;
      if (!kind)
        throw new Error(
          `${target} is not a sidecar: name it IMAGE.edit.json, _edit.json or NAME.jobs.json`,
        );
      const objects = new Map(
        listing.map((o) => [o.name, { name: o.name, generation: o.generation }]),
      );
      const sidecar = await planSidecar(
        planner,
        { name, kind },
        { runId, objects, missingInputs: 'error', imageSize },
      );
      dropPlan = {
        jobs: sidecar.jobs,
        sidecars: [sidecar],
        uncovered: [],
        estimatedCostUsd: sidecar.estimatedCostUsd,
        standardCostUsd: sidecar.standardCostUsd,
      };
    }
    dropPlan = await inspectPlannedInputs(dropPlan, {
      store,
      catalog: ctx.catalog,
      maxInputBytes: ctx.config.BANANAFLOW_MAX_INPUT_BYTES,
      maxPixels: ctx.config.BANANAFLOW_MAX_INPUT_PIXELS,
    });
    const problems = dropPlan.sidecars.flatMap((s) => s.problems);
    if (ctx.json) {
      ctx.io.out.write(
        `${JSON.stringify(
          {
            ok: problems.length === 0,
            sidecars: dropPlan.sidecars.map((s) => ({
              file: s.sidecar,
              jobs: s.jobs.length,
              problems: s.problems.map((p) => p.toJSON()),
              warnings: s.warnings,
            })),
            jobs: command === 'estimate' ? dropPlan.jobs : dropPlan.jobs.length,
            estimatedCostUsd: dropPlan.estimatedCostUsd,
            ...tierPrices(dropPlan, ctx.catalog),
            priceTableVersion: ctx.catalog.priceTableVersion,
            uncoveredImages: dropPlan.uncovered,
          },
          null,
          2,
        )}\n`,
      );
      return problems.length === 0 ? 0 : 1;
    }
    for (const s of dropPlan.sidecars) {
      ctx.io.out.write(
        `${s.problems.length === 0 ? '✓' : '✗'} ${s.sidecar}: ${s.jobs.length} jobs${s.problems.length ? `, ${s.problems.length} problems` : ''}\n`,
      );
    }
    for (const line of problemLines(dropPlan)) ctx.io.out.write(`${line}\n`);
    for (const line of warningLines(dropPlan)) ctx.io.out.write(`${line}\n`);
    if (dropPlan.uncovered.length > 0)
      ctx.io.out.write(`Images no sidecar covers: ${dropPlan.uncovered.join(', ')}\n`);
    if (command === 'estimate' && dropPlan.jobs.length > 0)
      ctx.io.out.write(`\n${planTable(dropPlan)}\n`);
    ctx.io.out.write(`\n${estimateLine(dropPlan, ctx.catalog)}\n`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function requireFolder(path: string) {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory())
    throw new Error(`${path} is not a folder (give the drop folder to run)`);
}
