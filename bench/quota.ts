import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pubsubEmulatorAvailable } from '../infra/emulator/pubsub-emulator.ts';
import { startStack } from '../infra/emulator/start-stack.ts';
import { type StandInStats, startGeminiStandIn } from '../infra/gemini-stand-in/server.ts';
import { runDrop } from '../infra/runner/run-drop.ts';
import { FsObjectStore } from '../shared/adapters/fs-object-store.ts';
import { MemoryJobQueue } from '../shared/adapters/memory-job-queue.ts';
import { loadModelCatalog } from '../shared/catalog/model-catalog.ts';
import { loadConfig } from '../shared/config.ts';
import { silentLogger } from '../shared/ports/logger.ts';
import { standInModel } from '../shared/wiring/image-model.ts';
import { buildWorkerDeps } from '../shared/wiring/worker-deps.ts';
import { writeDrop } from '../test/support/pipeline-harness.ts';
import { readRecords, withoutGeminiCredentials } from '../test/support/stack-harness.ts';
import type { BenchContext, BenchRow } from './results.ts';
import { spawnStandIn } from './stand-in-process.ts';

/**
 * Rows 'quota' (issue 10): the share of the stand-in's images-per-minute quota used and the 429s
 * per call, against the quota in compressed windows (so a row takes seconds to a few minutes, not
 * hours). The stand-in answers placeholder images (usage as the model's) so that rendering is not
 * the bottleneck; the share is the stand-in's own count (`usedShare`: images admitted over the
 * whole windows from the first admission to the last / the quota of those windows).
 */

interface Measured {
  share: number;
  calls: number;
  refused: number;
  seconds: number;
  extra?: Record<string, unknown>;
}

interface Target {
  share: number;
  refused: number;
}

const pct = (value: number) => `${(value * 100).toFixed(1)}%`;

function quotaFigures(stats: StandInStats): { share: number; calls: number; refused: number } {
  const models = Object.values(stats.quota?.models ?? {});
  const share = models[0]?.usedShare ?? 0;
  const refused = stats.byOutcome['http-429'] ?? 0;
  return { share, calls: stats.totalCalls, refused };
}

function row(
  id: string,
  title: string,
  measured: Measured,
  target: Target,
  how: string,
  other?: { ok: boolean; text: string },
): BenchRow {
  const refusedShare = measured.calls === 0 ? 1 : measured.refused / measured.calls;
  const holds =
    measured.share >= target.share && refusedShare <= target.refused && (other?.ok ?? true);
  return {
    id: 'quota',
    title,
    figure: `${pct(measured.share)} of the quota used, 429s ${measured.refused}/${measured.calls} calls (${pct(refusedShare)})${other ? `, ${other.text}` : ''}`,
    floor: 'the quota (100%), no 429',
    ratio: measured.share,
    ratioText: pct(measured.share),
    target: `share ≥ ${pct(target.share)}, 429s ≤ ${pct(target.refused)} of calls${other ? ', 0 dead-lettered' : ''}`,
    holds,
    notes: `${how} ${measured.seconds.toFixed(0)} s.${holds ? '' : ' MISS: see the figure.'}`,
    data: { case: id, ...measured, refusedShare, target },
  };
}

/** A drop of `jobs` text-to-image jobs run by the embedded runner against the stand-in's quota. */
async function runnerCase(options: {
  quota: number;
  windowMs: number;
  jobs: number;
  told: boolean;
  concurrency: number;
}): Promise<Measured> {
  const root = await mkdtemp(join(tmpdir(), 'bench-quota-'));
  const standIn = await startGeminiStandIn({
    placeholderImages: true,
    quota: { windowMs: options.windowMs, models: { '*': { ipm: options.quota } } },
  });
  try {
    const drop = join(root, 'drop');
    await writeDrop(drop, {
      'quota.jobs.json': {
        jobs: Array.from({ length: options.jobs }, (_, i) => ({ prompt: `quota bench ${i}` })),
      },
    });
    const started = performance.now();
    const summary = await runDrop({
      dropDir: drop,
      outDir: join(root, 'out'),
      model: standInModel(standIn.url),
      catalog: loadModelCatalog(),
      config: loadConfig({
        LOG_LEVEL: 'error',
        BANANAFLOW_QUOTA_WINDOW_MS: String(options.windowMs),
        ...(options.told ? { BANANAFLOW_IPM: String(options.quota) } : {}),
      }),
      log: silentLogger,
      concurrency: options.concurrency,
      maxAttempts: 5,
      minBackoffMs: 100,
      maxBackoffMs: 2_000,
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      ...quotaFigures(standIn.stats()),
      seconds,
      extra: {
        succeeded: summary.succeeded,
        retries: summary.retries,
        throttling: summary.throttling,
      },
    };
  } finally {
    await standIn.close();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * `calls` model calls through the worker's model as the one composition root builds it
 * (buildWorkerDeps: governed, told the quota), `slots` at a time, against the stand-in's quota.
 * The pipeline's per-job steps (inputs, outputs, records) are not in this row: they are measured
 * by the others, and would make a 10,000-job row take far longer than the quota does.
 */
async function modelCallsCase(options: {
  quota: number;
  windowMs: number;
  calls: number;
  slots: number;
}): Promise<Measured> {
  const root = await mkdtemp(join(tmpdir(), 'bench-quota-'));
  // Its own process: its event loop does not delay the calls' start times the governor keeps.
  const standIn = await spawnStandIn({
    latencyMs: 0,
    placeholderImages: true,
    quota: { windowMs: options.windowMs, models: { '*': { ipm: options.quota } } },
  });
  try {
    const catalog = loadModelCatalog();
    const config = loadConfig({
      LOG_LEVEL: 'error',
      BANANAFLOW_QUOTA_WINDOW_MS: String(options.windowMs),
      BANANAFLOW_IPM: String(options.quota),
    });
    const deps = buildWorkerDeps(config, {
      store: new FsObjectStore({ input: root, output: root }),
      queue: new MemoryJobQueue({
        concurrency: 1,
        maxAttempts: 1,
        minBackoffMs: 1,
        maxBackoffMs: 1,
      }),
      catalog,
      log: silentLogger,
      model: standInModel(standIn.url),
      uriOf: (bucket, name) => `${bucket}/${name}`,
      workerId: 'bench',
      buckets: { input: 'input', output: 'output' },
    });
    let next = 0;
    let failed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.slots }, async () => {
        while (next < options.calls) {
          const n = next++;
          const outcome = await deps.model.generate({
            model: catalog.defaultModel.id,
            images: [],
            turns: [`quota bench call ${n}`],
            timeoutMs: 60_000,
          });
          if (outcome.kind !== 'image') failed++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { ...quotaFigures(await standIn.stats()), seconds, extra: { failed } };
  } finally {
    await standIn.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** 3 worker processes of the emulator stack, each told its share, sharing the stand-in's quota. */
async function stackCase(options: {
  quota: number;
  windowMs: number;
  jobs: number;
  workers: number;
}): Promise<Measured & { deadLettered: number; records: number }> {
  const lines: string[] = [];
  const stack = await startStack({
    pollMs: 100,
    workers: options.workers,
    standIn: {
      placeholderImages: true,
      quota: { windowMs: options.windowMs, models: { '*': { ipm: options.quota } } },
    },
    env: {
      ...withoutGeminiCredentials(process.env),
      LOG_LEVEL: 'error',
      BANANAFLOW_IPM: String(Math.floor(options.quota / options.workers)),
      BANANAFLOW_QUOTA_WINDOW_MS: String(options.windowMs),
    },
    maxDeliveryAttempts: 5,
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
  try {
    const started = performance.now();
    await writeDrop(stack.inputDir, {
      'quota/load.jobs.json': {
        jobs: Array.from({ length: options.jobs }, (_, i) => ({ prompt: `stack quota ${i}` })),
      },
    });
    const deadline = Date.now() + 600_000;
    let records = await readRecords(stack.outputDir);
    while (records.length < options.jobs && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      records = await readRecords(stack.outputDir);
    }
    const seconds = (performance.now() - started) / 1000;
    const deadLettered = records.filter((r) => r.error?.code === 'DEAD_LETTERED').length;
    const stats = stack.standIn?.stats();
    if (!stats)
      throw new Error('the stack has no stand-in (Gemini credentials in the environment?)');
    return {
      ...quotaFigures(stats),
      seconds,
      deadLettered,
      records: records.length,
      extra: { pushes: stack.workers().map((w) => w.pushes ?? 0), records: records.length },
    };
  } finally {
    await stack.stop();
  }
}

export async function quota(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const runner = { quota: 100, windowMs: 20_000, jobs: 400, concurrency: 16 };
  const how = (what: string) =>
    `${what}: ${runner.jobs} text-to-image jobs (4× the quota), --concurrency ${runner.concurrency}, stand-in quota ${runner.quota} images per ${runner.windowMs / 1000} s window; in`;

  ctx.log('quota: runner, told the quota');
  const told = await runnerCase({ ...runner, told: true });
  rows.push(
    row(
      'told',
      'Quota: runner told the quota (--ipm)',
      told,
      { share: 0.95, refused: 0.01 },
      how('Embedded runner, BANANAFLOW_IPM = the quota'),
    ),
  );

  ctx.log('quota: runner, adaptive');
  const adaptive = await runnerCase({ ...runner, told: false });
  rows.push(
    row(
      'adaptive',
      'Quota: runner not told (adaptive)',
      adaptive,
      { share: 0.85, refused: 0.05 },
      how('Embedded runner, no BANANAFLOW_IPM (learnt from 429s)'),
    ),
  );

  const stackOptions = { quota: 60, windowMs: 20_000, jobs: 240, workers: 3 };
  const available = pubsubEmulatorAvailable();
  if (available.ok) {
    ctx.log('quota: emulator stack, 3 workers');
    const stack = await stackCase(stackOptions);
    rows.push(
      row(
        'stack',
        'Quota: emulator stack, 3 workers sharing one quota',
        stack,
        { share: 0.8, refused: 0.05 },
        `Real Pub/Sub emulator pushing through a round-robin balancer to ${stackOptions.workers} worker processes, each told ${stackOptions.quota / stackOptions.workers} (its share); ${stackOptions.jobs} jobs, stand-in quota ${stackOptions.quota} per ${stackOptions.windowMs / 1000} s window; in`,
        {
          ok: stack.deadLettered === 0 && stack.records >= stackOptions.jobs,
          text: `${stack.deadLettered} dead-lettered, ${stack.records}/${stackOptions.jobs} records`,
        },
      ),
    );
  } else {
    rows.push({
      id: 'quota',
      title: 'Quota: emulator stack, 3 workers sharing one quota',
      figure: '–',
      floor: '–',
      target: 'share ≥ 80%, 429s ≤ 5%, 0 dead-lettered',
      holds: 'skipped',
      notes: `skipped: ${available.why}.`,
    });
  }

  const big = { quota: 1_000, windowMs: 20_000, calls: 10_000, slots: 32 };
  ctx.log('quota: 10,000 calls, told');
  const many = await modelCallsCase(big);
  rows.push(
    row(
      'told-10k',
      'Quota: 10,000-job drop, told (compressed window)',
      many,
      { share: 0.95, refused: 0.01 },
      `10,000 model calls through the worker's governed model (buildWorkerDeps, BANANAFLOW_IPM = the quota), ${big.slots} at a time, stand-in quota ${big.quota} per ${big.windowMs / 1000} s window (10 windows; the stand-in in its own process); the per-job pipeline steps are measured by the other rows; in`,
    ),
  );
  return rows;
}
