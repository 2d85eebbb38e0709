import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { FsObjectStore } from '../shared/adapters/fs-object-store.ts';
import { createGeminiImageModel } from '../shared/adapters/gemini-image-model.ts';
import { MemoryJobQueue } from '../shared/adapters/memory-job-queue.ts';
import { loadModelCatalog } from '../shared/catalog/model-catalog.ts';
import { loadConfig } from '../shared/config.ts';
import { handleJobDelivery } from '../shared/pipeline/handle-job-delivery.ts';
import type { Job } from '../shared/planning/job.ts';
import { silentLogger } from '../shared/ports/logger.ts';
import type { WorkerDeps } from '../shared/ports/worker-deps.ts';

/**
 * Child process of the memory row: ONE worker instance (the deps a function instance builds once)
 * running the given jobs at the given concurrency. Prints one JSON line: baseline and peak RSS.
 * Bundled and run with plain node by bench/memory.ts, as a deployed function runs.
 */

export interface MemoryWorkerInput {
  jobsFile: string;
  dropDir: string;
  outDir: string;
  standInUrl: string;
  concurrency: number;
  /** sharp.concurrency(n), when set. */
  sharpConcurrency?: number;
  /** sharp.cache(false) when false. */
  sharpCache?: boolean;
}

export interface MemoryWorkerOutput {
  baselineRss: number;
  peakRssSampled: number;
  /** Kernel's peak resident set (VmHWM), the whole process lifetime. */
  vmHwm: number;
  elapsedMs: number;
  succeeded: number;
  jobs: number;
  sharpConcurrency: number;
}

function vmHwmBytes(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

async function main() {
  const input = JSON.parse(process.argv[2] ?? '{}') as MemoryWorkerInput;
  if (input.sharpConcurrency !== undefined) sharp.concurrency(input.sharpConcurrency);
  if (input.sharpCache === false) sharp.cache(false);
  const jobs = JSON.parse(await readFile(input.jobsFile, 'utf8')) as Job[];
  const config = loadConfig({});
  const queue = new MemoryJobQueue({
    concurrency: input.concurrency,
    maxAttempts: 3,
    minBackoffMs: 10,
    maxBackoffMs: 100,
  });
  const deps: WorkerDeps = {
    store: new FsObjectStore({ input: input.dropDir, output: input.outDir }),
    model: createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: 'bench', baseUrl: input.standInUrl },
      label: 'offline-stand-in',
    }),
    queue,
    catalog: loadModelCatalog(),
    log: silentLogger,
    now: () => new Date(),
    uriOf: (bucket, name) => `${bucket}/${name}`,
    workerId: `bench-memory-${process.pid}`,
    limits: {
      maxInputBytes: config.BANANAFLOW_MAX_INPUT_BYTES,
      maxInputPixels: config.BANANAFLOW_MAX_INPUT_PIXELS,
      modelTimeoutMs: config.BANANAFLOW_MODEL_TIMEOUT_MS,
      leaseMs: config.BANANAFLOW_LEASE_MS,
    },
  };
  const baselineRss = process.memoryUsage.rss();
  let peak = baselineRss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  let succeeded = 0;
  const started = performance.now();
  queue.consume(
    async (delivery) => {
      const result = await handleJobDelivery(deps, delivery);
      if (result.status === 'succeeded') succeeded++;
    },
    async () => undefined,
  );
  await queue.publishJobs(jobs);
  await queue.drain();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());
  const output: MemoryWorkerOutput = {
    baselineRss,
    peakRssSampled: peak,
    vmHwm: vmHwmBytes(),
    elapsedMs: performance.now() - started,
    succeeded,
    jobs: jobs.length,
    sharpConcurrency: sharp.concurrency(),
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
