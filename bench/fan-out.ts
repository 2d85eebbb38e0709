import { randomUUID } from 'node:crypto';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { pubsubEmulatorAvailable, startPubSubEmulator } from '../infra/emulator/pubsub-emulator.ts';
import { PubSubJobQueue } from '../shared/adapters/pubsub-job-queue.ts';
import type { Job } from '../shared/planning/job.ts';
import { startHarness, writeDrop } from '../test/support/pipeline-harness.ts';
import { type BenchContext, type BenchRow, ms, sleep } from './results.ts';

/**
 * Row 5: planning a 10,000-job manifest and publishing it to the real Pub/Sub emulator with
 * PubSubJobQueue (batched), against the naive loop that awaits one publish at a time (measured on
 * a sample and extrapolated).
 */

export const TARGET_SPEEDUP = 20;
export const TARGET_TOTAL_MS = 5_000;
const JOBS = 10_000;
const NAIVE_SAMPLE = 500;
/** The client's default batching holds each message up to 10 ms: a smaller sample suffices. */
const NAIVE_DEFAULT_SAMPLE = 100;
const RECEIVE_DEADLINE_MS = 60_000;

function jobMessage(job: Job) {
  return {
    data: Buffer.from(JSON.stringify(job)),
    attributes: { jobId: job.jobId, runId: job.runId, schemaVersion: String(job.schemaVersion) },
  };
}

export async function fanOut(ctx: BenchContext): Promise<BenchRow[]> {
  const title = `Fan-out: plan + publish ${JOBS.toLocaleString('en-US')} jobs to Pub/Sub`;
  const available = pubsubEmulatorAvailable();
  if (!available.ok) {
    return [
      {
        id: 'fan-out',
        title,
        figure: '–',
        floor: '–',
        target: `≥ ${TARGET_SPEEDUP}× the naive loop, < 5 s`,
        holds: 'skipped',
        notes: `skipped: ${available.why}.`,
      },
    ];
  }
  ctx.log('fan-out: starting the Pub/Sub emulator');
  const emulator = await startPubSubEmulator();
  const pubsub = new PubSub({ apiEndpoint: emulator.host, projectId: emulator.projectId });
  const harness = await startHarness();
  try {
    const id = randomUUID().slice(0, 8);
    const [jobsTopic] = await pubsub.createTopic(`bench-jobs-${id}`);
    const [resultsTopic] = await pubsub.createTopic(`bench-results-${id}`);
    const [subscription] = await jobsTopic.createSubscription(`bench-jobs-${id}-pull`);
    const [naiveTopic] = await pubsub.createTopic(`bench-naive-${id}`);

    await writeDrop(harness.dropDir, {
      'fanout.jobs.json': {
        defaults: { aspectRatio: '1:1', tags: { campaign: 'bench' } },
        jobs: Array.from({ length: JOBS }, (_, i) => ({ prompt: `Poster of a banana, no. ${i}` })),
      },
    });
    // Warm the client's channel once; both approaches then start from a connected client.
    await pubsub.topic(resultsTopic.name).publishMessage({ data: Buffer.from('warm-up') });

    ctx.log(`fan-out: planning and publishing ${JOBS} jobs (batched)`);
    const planStarted = performance.now();
    const jobs = await harness.plan();
    const planMs = performance.now() - planStarted;
    if (jobs.length !== JOBS) throw new Error(`fan-out: planned ${jobs.length} jobs`);
    const queue = new PubSubJobQueue(pubsub, { jobs: jobsTopic.name, results: resultsTopic.name });
    const publishStarted = performance.now();
    await queue.publishJobs(jobs);
    const publishMs = performance.now() - publishStarted;

    // Nothing lost: every job arrives on the subscription (not timed).
    const seen = new Set<string>();
    subscription.on('message', (message: Message) => {
      seen.add(message.attributes.jobId ?? '');
      message.ack();
    });
    const deadline = Date.now() + RECEIVE_DEADLINE_MS;
    while (seen.size < JOBS && Date.now() < deadline) await sleep(50);
    await subscription.close();

    ctx.log(`fan-out: naive loop, ${NAIVE_SAMPLE} awaited publishes`);
    // Naive, at its best: no batching delay, one request per message, each awaited.
    const unbatched = pubsub.topic(naiveTopic.name, { batching: { maxMessages: 1 } });
    await unbatched.publishMessage({ data: Buffer.from('warm-up') });
    const naiveStarted = performance.now();
    for (const job of jobs.slice(0, NAIVE_SAMPLE)) await unbatched.publishMessage(jobMessage(job));
    const naivePerMessage = (performance.now() - naiveStarted) / NAIVE_SAMPLE;
    // Naive as usually written: the client's default batching, so each awaited publish also waits.
    const defaults = pubsub.topic(naiveTopic.name);
    const defaultStarted = performance.now();
    for (const job of jobs.slice(0, NAIVE_DEFAULT_SAMPLE)) {
      await defaults.publishMessage(jobMessage(job));
    }
    const defaultPerMessage = (performance.now() - defaultStarted) / NAIVE_DEFAULT_SAMPLE;

    const naiveMs = naivePerMessage * JOBS;
    const speedup = naiveMs / publishMs;
    const totalMs = planMs + publishMs;
    const holds = speedup >= TARGET_SPEEDUP && totalMs < TARGET_TOTAL_MS && seen.size === JOBS;
    return [
      {
        id: 'fan-out',
        title,
        figure: `${ms(totalMs)} (plan ${ms(planMs)} + publish ${ms(publishMs)})`,
        floor: `naive publish ${ms(naiveMs)} (extrapolated)`,
        ratio: speedup,
        ratioText: `${speedup.toFixed(0)}× faster`,
        target: `≥ ${TARGET_SPEEDUP}× faster, total < 5 s`,
        holds,
        notes:
          `PubSubJobQueue (batches of 500 / 10 ms) on the real emulator; ${seen.size.toLocaleString('en-US')} of ${JOBS.toLocaleString('en-US')} jobs received on the subscription. ` +
          `Naive = one awaited publish at a time without batching delay: ${ms(naivePerMessage)}/message over ${NAIVE_SAMPLE}, × ${JOBS.toLocaleString('en-US')}; ` +
          `with the client's default batching it is ${ms(defaultPerMessage)}/message (${NAIVE_DEFAULT_SAMPLE} sampled). Ratio compares publishing only.`,
        data: {
          jobs: JOBS,
          planMs,
          publishMs,
          totalMs,
          received: seen.size,
          naiveSample: NAIVE_SAMPLE,
          naivePerMessageMs: naivePerMessage,
          naiveExtrapolatedMs: naiveMs,
          naiveDefaultBatchingPerMessageMs: defaultPerMessage,
          speedup,
          emulatorStartupMs: emulator.startupMs,
        },
      },
    ];
  } finally {
    await pubsub.close();
    await emulator.stop();
    await harness.close();
  }
}
