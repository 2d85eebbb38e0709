import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrop } from '../infra/runner/run-drop.ts';
import { createGeminiImageModel } from '../shared/adapters/gemini-image-model.ts';
import { loadModelCatalog } from '../shared/catalog/model-catalog.ts';
import { loadConfig } from '../shared/config.ts';
import type { ImageModel } from '../shared/ports/image-model.ts';
import { silentLogger } from '../shared/ports/logger.ts';
import { writeDrop } from '../test/support/pipeline-harness.ts';
import { mediumJpeg } from './fixtures.ts';
import { ReplayModel, TimedModel } from './instrumented.ts';
import { type BenchContext, type BenchRow, mean, ms } from './results.ts';
import { spawnStandIn } from './stand-in-process.ts';

/**
 * Row 2: does the worker overlap model latency? 64 jobs through the embedded runner (the real
 * MemoryJobQueue at concurrency 16) against the stand-in answering 2 s after each request arrives
 * (it renders within those 2 s, as a remote model generates within its latency). Ideal: every slot
 * waits on the model back to back = jobs / concurrency × latency.
 */

export const TARGET = 1.15;
const JOBS = 64;
const CONCURRENCY = 16;
const LATENCY_MS = 2_000;
const RUNS = 2;

interface OverlapRun {
  elapsedMs: number;
  meanModelCallMs: number;
  maxModelCallMs: number;
  workerCpuMs: number;
  standInCpuMs: number;
  deliveries: number;
  retries: number;
}

/** Runs the 64-job drop once through the embedded runner; timing starts once it is planned. */
async function runOnce(
  root: string,
  dropDir: string,
  model: ImageModel,
  standInCpuMs: () => number,
): Promise<OverlapRun> {
  const timed = new TimedModel(model);
  let plannedAt = 0;
  let cpuAtPlan = process.cpuUsage();
  let standInCpuAtPlan = 0;
  const summary = await runDrop({
    dropDir,
    outDir: await mkdtemp(join(root, 'out-')),
    model: timed,
    catalog: loadModelCatalog(),
    config: loadConfig({}),
    log: silentLogger,
    concurrency: CONCURRENCY,
    onPlanned: () => {
      plannedAt = performance.now();
      cpuAtPlan = process.cpuUsage();
      standInCpuAtPlan = standInCpuMs();
    },
  });
  const elapsedMs = performance.now() - plannedAt;
  const cpu = process.cpuUsage(cpuAtPlan);
  if (summary.succeeded !== JOBS) {
    throw new Error(`latency-overlap: ${summary.succeeded} of ${JOBS} jobs succeeded`);
  }
  return {
    elapsedMs,
    meanModelCallMs: mean(timed.callMs),
    maxModelCallMs: Math.max(...timed.callMs),
    workerCpuMs: (cpu.user + cpu.system) / 1000,
    standInCpuMs: standInCpuMs() - standInCpuAtPlan,
    deliveries: summary.deliveries,
    retries: summary.retries,
  };
}

export async function latencyOverlap(ctx: BenchContext): Promise<BenchRow[]> {
  const root = await mkdtemp(join(tmpdir(), 'bananaflow-bench-overlap-'));
  const standIn = await spawnStandIn({ latencyMs: LATENCY_MS });
  try {
    const image = await mediumJpeg();
    const files: Record<string, Buffer | object> = {
      '_edit.json': { prompt: 'Turn the scene into a watercolour', output: { renditions: [512] } },
    };
    for (let i = 0; i < JOBS; i++) files[`img-${String(i).padStart(3, '0')}.jpg`] = image.bytes;
    const dropDir = join(root, 'drop');
    await writeDrop(dropDir, files);
    const gemini = createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: 'bench', baseUrl: standIn.url },
      label: 'offline-stand-in',
    });
    const ideal = (JOBS / CONCURRENCY) * LATENCY_MS;

    ctx.log(
      `latency-overlap: ${JOBS} jobs, concurrency ${CONCURRENCY}, stand-in at ${LATENCY_MS} ms`,
    );
    // Two runs each: this machine may be shared, and outside load only ever adds time.
    const realRuns: OverlapRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      await standIn.reset();
      realRuns.push(await runOnce(root, dropDir, gemini, () => standIn.cpuMs()));
    }
    const calls = (await standIn.stats()).totalCalls;

    // The same drop against a port that only waits: what the worker alone costs the overlap.
    const sample = await gemini.generate({
      model: 'gemini-2.5-flash-image',
      images: [{ mimeType: 'image/jpeg', bytes: image.bytes }],
      turns: ['Turn the scene into a watercolour'],
      timeoutMs: 30_000,
    });
    ctx.log('latency-overlap: again with a 2 s replay model (no stand-in CPU)');
    const replayRuns: OverlapRun[] = [];
    for (let i = 0; i < RUNS; i++) {
      replayRuns.push(await runOnce(root, dropDir, new ReplayModel(sample, LATENCY_MS), () => 0));
    }
    const best = (runs: OverlapRun[]) => runs.reduce((a, b) => (b.elapsedMs < a.elapsedMs ? b : a));
    const real = best(realRuns);
    const replay = best(replayRuns);
    const cores = cpus().length;
    // In lockstep (all slots start together, so their CPU work after each answer collides), each
    // of the jobs/concurrency waves costs latency + concurrency × CPU per job / cores.
    const lockstep = (cpuPerJobMs: number) =>
      (JOBS / CONCURRENCY) * (LATENCY_MS + (CONCURRENCY * cpuPerJobMs) / cores);
    // The stand-in renders within its latency, so only the worker's CPU adds to each wave.
    const realCpu = real.workerCpuMs / JOBS;
    const replayCpu = replay.workerCpuMs / JOBS;
    const realRatio = real.elapsedMs / ideal;
    const replayRatio = replay.elapsedMs / ideal;
    const perJob = (cpuMs: number) => ms(cpuMs / JOBS);
    return [
      {
        id: 'latency-overlap',
        title: `Latency overlap (${JOBS} jobs, concurrency ${CONCURRENCY}, 2 s stand-in)`,
        figure: ms(real.elapsedMs),
        floor: `${ms(ideal)} ideal`,
        ratio: realRatio,
        target: `≤ ${TARGET}×`,
        holds: realRatio <= TARGET,
        notes:
          `Embedded runner (MemoryJobQueue), 1 MP JPEG inputs, png + 512 rendition, from planned to all done; ${calls} model calls, ` +
          `mean ${ms(real.meanModelCallMs)} each. CPU per job: worker ${perJob(real.workerCpuMs)}, stand-in ${perJob(real.standInCpuMs)} (rendering), on the same ${cores} cores; ` +
          `the stand-in renders within its 2 s, so in lockstep the worker's CPU predicts ${ms(lockstep(realCpu))}. Best of ${RUNS} (${realRuns.map((r) => ms(r.elapsedMs)).join(', ')}).` +
          (realRatio > TARGET
            ? ` Misses on the worker's own CPU, not on overlap: the figure is at the lockstep prediction (all 16 slots get their answers together, so ${cores} cores work through 16 × ${perJob(real.workerCpuMs)} after every wave). The replay row below holds with ${perJob(replay.workerCpuMs)} per job: the difference is @google/genai's own handling of each call (base64 and JSON of the request; undici decoding, cloning and parsing the answer, then the SDK's conversion; profiled with --cpu-prof), which real Gemini costs too. Real latencies vary, which breaks the lockstep; a worker with more vCPUs per 16 concurrent jobs also closes it. Tried sharp.concurrency(1) and UV_THREADPOOL_SIZE=16: no gain beyond run-to-run noise. Until 2026-12 the stand-in rendered after its latency (answer = 2 s + render), which read 1.28-1.30× here.`
            : ''),
        data: { ideal, lockstepPredictionMs: lockstep(realCpu), runs: realRuns },
      },
      {
        id: 'latency-overlap',
        title: '… same, model port = 2 s replay (no stand-in CPU)',
        figure: ms(replay.elapsedMs),
        floor: `${ms(ideal)} ideal`,
        ratio: replayRatio,
        target: `≤ ${TARGET}×`,
        holds: replayRatio <= TARGET,
        notes:
          `The stand-in's answer replayed after 2 s by an in-process port: the worker's own cost. Worker CPU ${perJob(replay.workerCpuMs)} per job; ` +
          `lockstep predicts ${ms(lockstep(replayCpu))}. Best of ${RUNS} (${replayRuns.map((r) => ms(r.elapsedMs)).join(', ')}).`,
        data: { ideal, lockstepPredictionMs: lockstep(replayCpu), runs: replayRuns },
      },
    ];
  } finally {
    await standIn.close();
    await rm(root, { recursive: true, force: true });
  }
}
