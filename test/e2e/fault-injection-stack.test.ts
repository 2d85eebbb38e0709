import { describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import { costFromUsage } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { emulatorSuite } from '../support/emulator.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';
import { readRecords, waitFor, withoutGeminiCredentials } from '../support/stack-harness.ts';

/**
 * The fault-injection suite on the emulator stack: 208 jobs in one manifest, uploaded to the
 * watched folder, planned by the ingest process, pushed by the real Pub/Sub emulator to the worker
 * process (dead-letter policy), with faults asked for by directives in the prompts: HTTP errors,
 * hangs past the timeout, malformed and truncated bodies, blocked and empty answers.
 */

const needsEmulator = emulatorSuite('the emulator fault-injection suite');

const JOBS = 208;
const MAX_DELIVERIES = 5;
/** Directive per job index (cycle of 16) and what must come of it. */
const CYCLE: Array<{ directive: string; retries: number; code?: string; calls?: number }> = [
  { directive: '', retries: 0 },
  { directive: '[standin:fail=429] [standin:retry-delay=0.1s]', retries: 1 },
  { directive: '[standin:fail=500]', retries: 1 },
  { directive: '[standin:fail=503,503]', retries: 2 },
  { directive: '[standin:fail=429,500,503]', retries: 3 },
  { directive: '[standin:outcome=blocked-prompt]', retries: 0, code: 'MODEL_BLOCKED_PROMPT' },
  { directive: '[standin:outcome=blocked-output]', retries: 0, code: 'MODEL_BLOCKED_OUTPUT' },
  { directive: '[standin:outcome=text-only]', retries: 0, code: 'MODEL_TEXT_ONLY' },
  { directive: '[standin:outcome=empty-candidates]', retries: 0, code: 'MODEL_NO_IMAGE' },
  { directive: '[standin:always=500]', retries: 0, code: 'DEAD_LETTERED', calls: MAX_DELIVERIES },
  // A hang past the worker's model timeout, a body that is not JSON, a JSON body cut in half.
  { directive: '[standin:fail=hang]', retries: 1 },
  { directive: '[standin:fail=malformed]', retries: 1 },
  { directive: '[standin:fail=truncated,503]', retries: 2 },
  ...Array.from({ length: 3 }, () => ({ directive: '', retries: 0 })),
];
const cycleOf = (index: number) => CYCLE[index % CYCLE.length] as (typeof CYCLE)[number];

const lines: string[] = [];
let stack: Stack;

needsEmulator.beforeAll(async () => {
  stack = await startStack({
    pollMs: 100,
    env: {
      ...withoutGeminiCredentials(process.env),
      LOG_LEVEL: 'warn',
      // The hanging calls end here (the default is 120 s).
      BANANAFLOW_MODEL_TIMEOUT_MS: '3000',
    },
    maxDeliveryAttempts: MAX_DELIVERIES,
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
}, 60_000);

needsEmulator.afterAll(async () => {
  await stack.stop();
});

describe.skipIf(!needsEmulator.ok)(`fault injection on the emulator stack: ${JOBS} jobs`, () => {
  it('ends every job in exactly one record, calls the model only for retryable faults, and records what was billed', async () => {
    await writeDrop(stack.inputDir, {
      'faults/a.png': await tinyImage('png', 80, 60),
      'faults/load.jobs.json': {
        jobs: Array.from({ length: JOBS }, (_, i) => ({
          name: `job-${i}`,
          prompt: `stack job #${i}# ${cycleOf(i).directive}`.trim(),
          ...(i % 2 === 0 ? { inputs: ['a.png'] } : {}),
        })),
      },
    });
    const records = await waitFor(
      `${JOBS} records`,
      async () => {
        const found = (await readRecords(stack.outputDir)).filter((r) =>
          (r.prompt ?? '').startsWith('stack job #'),
        );
        return found.length >= JOBS ? found : undefined;
      },
      { deadlineMs: 240_000, lines },
    );
    // Exactly one terminal record per job, with the outcome its fault asks for.
    expect(records).toHaveLength(JOBS);
    const byIndex = new Map(records.map((r) => [Number(/#(\d+)#/.exec(r.prompt ?? '')?.[1]), r]));
    expect(byIndex.size).toBe(JOBS);
    for (const [index, record] of byIndex) {
      const expected = cycleOf(index);
      if (expected.code) expect(record.error?.code, `job ${index}`).toBe(expected.code);
      else expect(record.status, `job ${index}`).toBe('succeeded');
    }
    // Model calls: one per job plus one per retryable fault; permanent outcomes exactly once.
    const calls = stack.standIn?.stats().calls ?? [];
    const perJob = new Map<number, number>();
    for (const call of calls) {
      const index = Number(/#(\d+)#/.exec(call.prompt)?.[1]);
      perJob.set(index, (perJob.get(index) ?? 0) + 1);
    }
    for (let i = 0; i < JOBS; i++) {
      const expected = cycleOf(i);
      expect(perJob.get(i), `model calls of job ${i}`).toBe(expected.calls ?? 1 + expected.retries);
    }
    // Recorded cost = what the stand-in billed.
    const catalog = loadModelCatalog();
    const billed = costFromUsage(
      catalog.defaultModel,
      stack.standIn?.stats().usage ?? ({} as never),
      catalog.priceTableVersion,
    ).total;
    const recorded = records.reduce((sum, r) => sum + (r.cost?.total ?? 0), 0);
    expect(recorded).toBeCloseTo(billed, 6);
    // A result event for every job. Events are at-least-once (a redelivery after a lost
    // acknowledgement announces again), so count distinct job ids, never events.
    const jobIds = new Set(records.map((r) => r.jobId));
    const announced = await waitFor(
      `a result event for each of the ${JOBS} jobs`,
      async () => {
        const ids = new Set(
          stack
            .results()
            .map((e) => e.jobId)
            .filter((id) => jobIds.has(id)),
        );
        return ids.size >= JOBS ? ids : undefined;
      },
      { deadlineMs: 30_000, lines },
    );
    expect(announced).toEqual(jobIds);
    // Every event of a job agrees with its record, however often it came.
    const statusOf = new Map(records.map((r) => [r.jobId, r.status]));
    for (const event of stack.results().filter((e) => jobIds.has(e.jobId))) {
      expect(event.status, `event of job ${event.jobId}`).toBe(statusOf.get(event.jobId));
    }
  }, 300_000);
});
