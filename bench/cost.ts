import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { type GeminiStandIn, startGeminiStandIn } from '../infra/gemini-stand-in/server.ts';
import { createGeminiImageModel } from '../shared/adapters/gemini-image-model.ts';
import { MemoryJobQueue } from '../shared/adapters/memory-job-queue.ts';
import type { Usage } from '../shared/catalog/cost.ts';
import { loadModelCatalog } from '../shared/catalog/model-catalog.ts';
import { handleJobDelivery } from '../shared/pipeline/handle-job-delivery.ts';
import { recordDeadLetter } from '../shared/pipeline/record-dead-letter.ts';
import type { Job } from '../shared/planning/job.ts';
import { outputNames } from '../shared/planning/output-names.ts';
import type { JobDelivery } from '../shared/ports/job-queue.ts';
import type { WorkerDeps } from '../shared/ports/worker-deps.ts';
import { startHarness, writeDrop } from '../test/support/pipeline-harness.ts';
import { photoPixels } from './fixtures.ts';
import { RoutedModel } from './instrumented.ts';
import type { BenchContext, BenchRow } from './results.ts';

/**
 * Row 6: (a) the cost the metadata records claim, against the list price of what the stand-ins
 * billed, computed here from models.json with no pipeline code; (b) extra model calls when 30% of
 * the jobs are delivered twice, some of them concurrently with the first delivery.
 */

const PRO = 'gemini-3-pro-image';
const DUPLICATE_SHARE = 0.3;
const SEED = 20_260_115;
const CONCURRENCY = 8;
/** Long enough that a concurrent duplicate arrives while the first delivery holds the claim. */
const STAND_IN_LATENCY_MS = 150;

async function photo(seed: number, width = 640, height = 480): Promise<Buffer> {
  return sharp(photoPixels(width, height, { channels: 3, noise: 10, seed }), {
    raw: { width, height, channels: 3 },
  })
    .jpeg({ quality: 88 })
    .toBuffer();
}

/** One text-to-image job and one edit per GA model of the catalog, at each of its sizes. */
function lineupJobs() {
  const ga = loadModelCatalog().models.filter((m) => m.lifecycle.status === 'ga');
  return ga.flatMap((m) =>
    (m.imageSizes.length > 0 ? m.imageSizes : [undefined]).flatMap((imageSize, i) => [
      {
        model: m.id,
        ...(imageSize ? { imageSize } : {}),
        aspectRatio: m.aspectRatios[(i * 3) % m.aspectRatios.length],
        prompt: `A banana-shaped lighthouse at dawn, ${m.id} at ${imageSize ?? 'its size'}`,
      },
      {
        model: m.id,
        ...(imageSize ? { imageSize } : {}),
        inputs: [`edits/p${i}.jpg`],
        prompt: `Make it look like a postcard (${m.id})`,
      },
    ]),
  );
}

/** A mixed drop: edits (folder and per-image), variants, refinement, t2i, composition, style, series; every GA model. */
async function mixedDrop(): Promise<Record<string, Buffer | object>> {
  const images = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => photo(seed)));
  const img = (i: number) => images[i % images.length] ?? Buffer.alloc(0);
  const files: Record<string, Buffer | object> = {
    'edits/_edit.json': {
      prompt: 'Golden hour light, warmer shadows',
      output: { renditions: [256] },
    },
    'edits/hero.jpg.edit.json': {
      prompt: 'Studio backdrop, soft key light',
      variants: 4,
      output: { format: 'webp', quality: 80 },
    },
    'refine/room.jpg.edit.json': {
      steps: ['Empty the room', 'Add a green sofa', 'Make it evening'],
      output: { format: 'jpeg', quality: 85 },
    },
    'assets/style.jpg': img(4),
    'assets/character.jpg': img(5),
    'edits/hero.jpg': img(0),
    'refine/room.jpg': img(1),
    'series.jobs.json': {
      defaults: { model: PRO },
      jobs: [
        ...['1K', '2K', '4K', '1K', '2K', '4K'].map((imageSize, i) => ({
          prompt: `A banana-shaped lighthouse at dawn, shot ${i + 1}`,
          imageSize,
          aspectRatio: i % 2 === 0 ? '16:9' : '1:1',
        })),
        ...[0, 1, 2, 3].map((i) => ({
          inputs: [`edits/p${i}.jpg`, `edits/p${i + 1}.jpg`],
          prompt: 'Compose both subjects on one beach',
        })),
        ...[0, 1, 2, 3].map((i) => ({
          inputs: [`edits/p${i}.jpg`],
          references: ['assets/style.jpg'],
          prompt: 'Paint it in the style of the reference',
        })),
        ...[0, 1, 2].map((i) => ({
          references: ['assets/character.jpg'],
          prompt: `The same character, scene ${i + 1}: reading in a cafe`,
          variants: i === 0 ? 2 : 1,
        })),
        ...[0, 1, 2].map((i) => ({
          inputs: [`edits/p${i}.jpg`],
          steps: ['Remove the background', 'Add a soft shadow'].concat(
            i === 2 ? ['Crop square'] : [],
          ),
          imageSize: '2K',
        })),
      ],
    },
    'lineup.jobs.json': { jobs: lineupJobs() },
    'batch.jobs.json': {
      jobs: [
        ...[0, 1, 2, 3, 4, 5, 6].map((i) => ({
          prompt: `A minimalist poster of a banana, variation ${i + 1}`,
          aspectRatio: ['1:1', '3:4', '16:9'][i % 3],
        })),
        ...[0, 1, 2].map((i) => ({
          inputs: [`edits/p${i}.jpg`],
          steps: ['Make it black and white', 'Add film grain'],
        })),
        ...[0, 1, 2].map((i) => ({
          inputs: [`edits/p${i}.jpg`, `edits/p${i + 2}.jpg`],
          prompt: 'Put both in one frame',
          variants: 2,
        })),
      ],
    },
  };
  for (let i = 0; i < 8; i++) files[`edits/p${i}.jpg`] = img(i);
  return files;
}

interface PriceRow {
  pricesPerMillionTokens: {
    inputText: number;
    inputImage: number;
    outputText: number;
    outputImage: number;
  };
  id: string;
}

/** List price of billed usage, straight from models.json (thoughts at the output-text rate). */
async function listPrice(model: string, usage: Usage): Promise<number> {
  const path = fileURLToPath(new URL('../shared/catalog/models.json', import.meta.url));
  const catalog = JSON.parse(await readFile(path, 'utf8')) as { models: PriceRow[] };
  const row = catalog.models.find((m) => m.id === model);
  if (!row) throw new Error(`cost: ${model} not in models.json`);
  const p = row.pricesPerMillionTokens;
  return (
    (usage.inputTextTokens * p.inputText +
      usage.inputImageTokens * p.inputImage +
      (usage.outputTextTokens + usage.thoughtsTokens) * p.outputText +
      usage.outputImageTokens * p.outputImage) /
    1_000_000
  );
}

/** mulberry32: a seeded choice of which jobs get delivered twice. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export async function cost(ctx: BenchContext): Promise<BenchRow[]> {
  const harness = await startHarness();
  // One stand-in per model the jobs use, so each model's billed usage is priced on its own.
  const standIns = new Map<string, GeminiStandIn>();
  try {
    await writeDrop(harness.dropDir, await mixedDrop());
    const jobs = await harness.plan();
    for (const model of new Set(jobs.map((j) => j.model))) {
      standIns.set(model, await startGeminiStandIn({ latencyMs: STAND_IN_LATENCY_MS }));
    }
    const adapter = (url: string) =>
      createGeminiImageModel({
        backend: { kind: 'gemini-api', apiKey: 'bench', baseUrl: url },
        label: 'offline-stand-in',
      });
    const queue = new MemoryJobQueue({
      concurrency: CONCURRENCY,
      maxAttempts: 10,
      minBackoffMs: 50,
      maxBackoffMs: 400,
    });
    const worker: WorkerDeps = {
      ...harness.worker,
      queue,
      model: new RoutedModel(new Map([...standIns].map(([id, s]) => [id, adapter(s.url)]))),
      limits: { ...harness.worker.limits, modelTimeoutMs: 30_000 },
    };
    const outcomes: Record<string, number> = {};
    const count = (status: string) => {
      outcomes[status] = (outcomes[status] ?? 0) + 1;
    };
    let inProgressRetries = 0;
    queue.consume(
      async (delivery: JobDelivery) => {
        try {
          count((await handleJobDelivery(worker, delivery)).status);
        } catch (error) {
          if ((error as { code?: string }).code === 'JOB_IN_PROGRESS') inProgressRetries++;
          throw error;
        }
      },
      async (delivery: JobDelivery) => {
        count(`dead-letter:${(await recordDeadLetter(worker, delivery)).status}`);
      },
    );

    // 30% of the jobs are delivered twice: half right behind the original (delivered while it
    // runs), half after everything finished (a late redelivery of a finished job).
    const random = seeded(SEED);
    const duplicated = jobs.filter(() => random() < DUPLICATE_SHARE);
    const concurrent = new Set(duplicated.filter((_, i) => i % 2 === 0).map((j) => j.jobId));
    const late = duplicated.filter((j) => !concurrent.has(j.jobId));
    const firstWave: Job[] = [];
    for (const job of jobs) {
      firstWave.push(job);
      if (concurrent.has(job.jobId)) firstWave.push(job);
    }
    ctx.log(
      `cost: ${jobs.length} jobs, ${duplicated.length} delivered twice (${concurrent.size} concurrently)`,
    );
    await queue.publishJobs(firstWave);
    await queue.drain();
    await queue.publishJobs(late);
    await queue.drain();
    queue.close();

    // What the records say.
    let recorded = 0;
    let records = 0;
    let failed = 0;
    for (const job of jobs) {
      const names = outputNames(job.output.base, job.output.format);
      const metadata = await harness.store.stat('output', names.metadata);
      const name = metadata ? names.metadata : names.error;
      const { bytes } = await harness.store.read('output', name);
      const record = JSON.parse(bytes.toString('utf8')) as { cost?: { total: number } };
      if (!metadata) failed++;
      recorded += record.cost?.total ?? 0;
      records++;
    }

    // What the stand-ins billed, priced independently.
    const stats = new Map([...standIns].map(([id, s]) => [id, s.stats()]));
    let list = 0;
    for (const [id, billed] of stats) list += await listPrice(id, billed.usage);
    const models = [...stats.keys()].sort();
    const difference = recorded - list;
    const expectedCalls = jobs.reduce((s, j) => s + j.turns.length, 0);
    const calls = [...stats.values()].reduce((n, st) => n + st.totalCalls, 0);
    const extra = calls - expectedCalls;
    const modes = [...new Set(jobs.map((j) => j.mode))].sort();
    // Result events on the results topic: one per job is the contract's ideal (at least once).
    const resultEvents = queue.results.length;
    const distinctResults = new Set(queue.results.map((r) => r.jobId)).size;
    const estimated = jobs.reduce((s, j) => s + j.estimatedCostUsd, 0);
    return [
      {
        id: 'cost',
        title: `Recorded cost vs list price (${jobs.length} jobs)`,
        figure: `$${recorded.toFixed(6)} recorded`,
        floor: `$${list.toFixed(6)} list price of billed usage`,
        ratioText: `Δ $${difference.toFixed(9)}`,
        target: 'equal to the cent',
        holds: Math.abs(difference) < 0.005 && failed === 0,
        notes:
          `Sum of ${records} records' cost.total (${failed} failed); list price = stand-ins' billed tokens by modality × models.json prices, computed in the bench. ` +
          `Modes: ${modes.join(', ')}; models ${models.join(', ')} (every GA model of the catalog, each at each of its sizes); planning estimated $${estimated.toFixed(4)}.`,
        data: {
          jobs: jobs.length,
          recordedUsd: recorded,
          listPriceUsd: list,
          differenceUsd: difference,
          estimatedUsd: estimated,
          failed,
          billed: Object.fromEntries([...stats].map(([id, st]) => [id, st.usage])),
          models,
          modes,
        },
      },
      {
        id: 'cost',
        title: `Duplicate model calls under ${DUPLICATE_SHARE * 100}% duplicated deliveries`,
        figure: `${extra} extra call${extra === 1 ? '' : 's'}`,
        floor: `${expectedCalls} calls (Σ turns of ${jobs.length} jobs)`,
        ratioText: `${calls} / ${expectedCalls}`,
        target: '0 extra calls',
        holds: extra === 0,
        notes:
          `${duplicated.length} jobs published twice (seed ${SEED}): ${concurrent.size} right behind the original (concurrency ${CONCURRENCY}; ${inProgressRetries} deliveries found the job claimed and were retried), ` +
          `${late.length} after all finished. Calls counted at the stand-ins. Outcomes: ${Object.entries(
            outcomes,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}; ${resultEvents} result events for ${distinctResults} jobs` +
          (resultEvents > distinctResults
            ? ` (a duplicate that passed the "already finished" check just before the record was written, then claimed the released job, reused the persisted answer and announced it again: no extra call, but a second "succeeded").`
            : '.'),
        data: {
          resultEvents,
          distinctResults,
          duplicated: duplicated.length,
          concurrent: concurrent.size,
          late: late.length,
          expectedCalls,
          calls,
          extra,
          inProgressRetries,
          outcomes,
          deliveries: queue.stats.deliveries,
        },
      },
    ];
  } finally {
    for (const s of standIns.values()) await s.close();
    await harness.close();
  }
}
