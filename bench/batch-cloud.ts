import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BatchJob, GoogleGenAI } from '@google/genai';
import { BatchInbox, routeBatchTier } from '../shared/pipeline/batch-inbox.ts';
import { type BatchTickDeps, runBatchTick } from '../shared/pipeline/batch-tick.ts';
import { handleJobDelivery } from '../shared/pipeline/handle-job-delivery.ts';
import { BATCH_STAGES, type BatchStage } from '../shared/pipeline/job-stages.ts';
import { recordDeadLetter } from '../shared/pipeline/record-dead-letter.ts';
import type { WorkerDeps } from '../shared/ports/worker-deps.ts';
import { geminiBatchModel, standInBackend } from '../shared/wiring/image-model.ts';
import { type Harness, startHarness, writeDrop } from '../test/support/pipeline-harness.ts';
import type { BenchContext, BenchRow } from './results.ts';

/**
 * Row 7b, the cloud's batch path (the batch tick and the worker in process, the stand-in's Batch
 * API through the real SDK): a crash at every stage of a tick, then ticks until every job has a
 * record, as Cloud Scheduler would go on ticking. Counts requests answered twice, batches beyond
 * the ones the jobs need, and jobs without exactly one record.
 */

const JOBS = 12;
const PER_BATCH = 5;

async function crashRun(stage: BatchStage, log: BenchContext['log']) {
  const h = await startHarness();
  try {
    log(`cloud batch path: crash at ${stage}`);
    h.standIn.setBatchTurnaround(100);
    const inbox = new BatchInbox(h.store, 'output');
    const worker: WorkerDeps = { ...h.worker, batchInbox: inbox };
    h.queue.consume(
      (d) => handleJobDelivery(worker, d),
      (d) => recordDeadLetter(worker, d),
    );
    let crashed = false;
    const batchModel = geminiBatchModel(standInBackend(h.standIn.url), 16 << 20, 'stand-in');
    if (!batchModel) throw new Error('no batch model');
    const deps: BatchTickDeps = {
      ...worker,
      batchModel,
      batchFailpoint: (at) => {
        if (at !== stage || crashed) return;
        crashed = true;
        throw new Error(`crash at ${at}`);
      },
    };
    const jobs = Array.from({ length: JOBS }, (_, i) => ({ prompt: `crash ${stage} ${i}` }));
    await writeDrop(h.dropDir, { 'c.jobs.json': { defaults: { tier: 'batch' }, jobs } });
    await routeBatchTier(h.queue, inbox).publishJobs(await h.plan());
    const options = {
      bucket: 'output',
      limits: { maxRequests: PER_BATCH, maxBytes: 1 << 30 },
      windowMs: 0,
      leaseMs: 60_000,
      concurrency: 4,
    };
    for (let tick = 0; tick < 300 && (await recordedJobs(h)) < JOBS; tick++) {
      await runBatchTick(deps, options).catch(() => undefined);
      await h.queue.drain();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const calls = h.standIn.stats().calls.map((c) => c.prompt);
    return {
      duplicates: calls.length - new Set(calls).size,
      lost: JOBS - (await recordedJobs(h)),
      extraBatches: (await batchesAt(h)).length - Math.ceil(JOBS / PER_BATCH),
    };
  } finally {
    await h.close();
  }
}

export async function batchCloud(ctx: BenchContext): Promise<BenchRow[]> {
  let duplicates = 0;
  let lost = 0;
  let extraBatches = 0;
  for (const stage of BATCH_STAGES) {
    const run = await crashRun(stage, ctx.log);
    duplicates += run.duplicates;
    lost += run.lost;
    extraBatches += run.extraBatches;
  }
  return [
    {
      id: 'batch-cloud',
      title: 'Cloud batch path: a tick crashed at every stage',
      figure: `${duplicates} duplicate requests, ${extraBatches} extra batches, ${lost} lost jobs`,
      floor: `${BATCH_STAGES.length} stages × ${JOBS} jobs`,
      ratioText: `${duplicates + extraBatches + lost}`,
      target: '0 / 0 / 0',
      holds: duplicates === 0 && lost === 0 && extraBatches === 0,
      notes: `For each stage (${BATCH_STAGES.join(', ')}) the first batch tick stops there (an exception at the failpoint, as after a kill), then ticks go on until every job has a record; ${JOBS} jobs in batches of ${PER_BATCH}, answers handed to the worker use case through the in-process queue. Requests answered twice counted at the stand-in; batches beyond ${Math.ceil(JOBS / PER_BATCH)} listed through batches.list; lost = jobs without exactly one record. The same kill on the emulator stack (SIGKILL of the batch-tick process) is test/e2e/batch-stack.test.ts.`,
      data: { duplicates, lost, extraBatches, stages: BATCH_STAGES },
    },
  ];
}

async function batchesAt(h: Harness): Promise<BatchJob[]> {
  const ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: h.standIn.url } });
  const all: BatchJob[] = [];
  for await (const job of await ai.batches.list({ config: { pageSize: 100 } })) all.push(job);
  return all;
}

/** Jobs with exactly one record (metadata or error). */
async function recordedJobs(h: Harness): Promise<number> {
  const count = new Map<string, number>();
  for (const file of await readdir(h.outDir, { recursive: true })) {
    if (!file.endsWith('.json') || file.startsWith('_')) continue;
    const record = JSON.parse(await readFile(join(h.outDir, file), 'utf8')) as { jobId?: string };
    if (record.jobId) count.set(record.jobId, (count.get(record.jobId) ?? 0) + 1);
  }
  return [...count.values()].filter((n) => n === 1).length;
}
