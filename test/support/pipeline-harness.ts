import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { MemoryJobQueue } from '../../shared/adapters/memory-job-queue.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { planDrop } from '../../shared/pipeline/plan-drop.ts';
import type { PlannerDeps } from '../../shared/pipeline/plan-sidecar.ts';
import type { Job } from '../../shared/planning/job.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import type { WorkerDeps } from '../../shared/ports/worker-deps.ts';

/** A tiny real image, generated with sharp. */
export async function tinyImage(
  format: 'png' | 'jpeg' = 'png',
  width = 64,
  height = 48,
  colour = '#3a7',
): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: colour } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg().toBuffer();
}

/** Writes files (path → bytes or JSON value) into a folder. */
export async function writeDrop(root: string, files: Record<string, Buffer | string | object>) {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    await mkdir(dirname(path), { recursive: true });
    const bytes =
      Buffer.isBuffer(content) || typeof content === 'string' ? content : JSON.stringify(content);
    await writeFile(path, bytes);
  }
}

export interface Harness {
  root: string;
  dropDir: string;
  outDir: string;
  store: FsObjectStore;
  standIn: GeminiStandIn;
  queue: MemoryJobQueue;
  planner: PlannerDeps;
  worker: WorkerDeps;
  /** Plans the drop and returns its jobs. */
  plan(): Promise<Job[]>;
  close(): Promise<void>;
}

/**
 * The local pipeline for tests: a temp drop and output folder, the real offline stand-in behind
 * the real Gemini adapter (so the real SDK is on the path), the in-process queue.
 */
export async function startHarness(
  options: {
    store?: (store: FsObjectStore) => ObjectStore;
    now?: () => Date;
    leaseMs?: number;
  } = {},
): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'bananaflow-test-'));
  const dropDir = join(root, 'drop');
  const outDir = join(root, 'out');
  await mkdir(dropDir, { recursive: true });
  await mkdir(outDir, { recursive: true });
  const fsStore = new FsObjectStore({ input: dropDir, output: outDir });
  const store = options.store ? options.store(fsStore) : fsStore;
  const standIn = await startGeminiStandIn({ port: 0 });
  const catalog = loadModelCatalog();
  const queue = new MemoryJobQueue({
    concurrency: 4,
    maxAttempts: 3,
    minBackoffMs: 5,
    maxBackoffMs: 20,
  });
  const now = options.now ?? (() => new Date());
  const uriOf = (bucket: string, name: string) => `${bucket}://${name}`;
  const planner: PlannerDeps = {
    store,
    catalog,
    log: silentLogger,
    now,
    uriOf,
    inputBucket: 'input',
    outputBucket: 'output',
    defaultModel: 'gemini-2.5-flash-image',
    maxSidecarBytes: 1 << 20,
  };
  const worker: WorkerDeps = {
    store,
    model: createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: 'test-key', baseUrl: standIn.url },
      label: 'offline-stand-in',
    }),
    queue,
    catalog,
    log: silentLogger,
    now,
    uriOf,
    workerId: 'test-worker',
    limits: {
      maxInputBytes: 10 << 20,
      maxInputPixels: 50_000_000,
      modelTimeoutMs: 5_000,
      leaseMs: options.leaseMs ?? 60_000,
    },
  };
  return {
    root,
    dropDir,
    outDir,
    store: fsStore,
    standIn,
    queue,
    planner,
    worker,
    async plan() {
      return (await planDrop(planner, { runId: 'test-run' })).jobs;
    },
    async close() {
      queue.close();
      await standIn.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
