import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fault, GeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { type RunSummary, runDrop } from '../../infra/runner/run-drop.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { costFromUsage } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * Fault injection: a drop of 256 jobs through the embedded runner while the Gemini stand-in
 * injects a schedule of faults. Every job must end in exactly one terminal state, nothing may be
 * written twice, the model must be called exactly once per step + retries of retryable faults, and
 * the recorded cost must equal what the stand-in billed.
 */

const JOBS = 256;
const MAX_ATTEMPTS = 4;

/** What the stand-in does to a job, by its index: the faults before success, or a permanent outcome. */
interface Plan {
  kind: string;
  /** Retryable faults answered before the call that succeeds. */
  transient: Fault[];
  /** A refinement of this many steps (default 1); its transient faults hit step `failStep`. */
  steps?: number;
  failStep?: number;
  /** A permanent outcome (never retried) or a fault on every call (dead-lettered). */
  permanent?: Fault;
  always?: Fault;
  code?: string;
}

const SCHEDULE: Plan[] = [
  { kind: 'clean', transient: [] },
  { kind: '429', transient: [{ status: 429, retryDelay: '0.01s' }] },
  { kind: '500', transient: [{ status: 500 }] },
  { kind: '503x2', transient: [{ status: 503 }, { status: 503 }] },
  { kind: 'hang', transient: [{ outcome: 'hang' }] },
  { kind: 'malformed', transient: [{ outcome: 'malformed' }] },
  { kind: 'truncated', transient: [{ outcome: 'truncated' }] },
  {
    kind: 'mixed',
    transient: [{ status: 429, retryDelay: '0.01s' }, { outcome: 'truncated' }, { status: 503 }],
  },
  {
    kind: 'blocked-prompt',
    transient: [],
    permanent: { outcome: 'blocked-prompt' },
    code: 'MODEL_BLOCKED_PROMPT',
  },
  {
    kind: 'blocked-output',
    transient: [],
    permanent: { outcome: 'blocked-output' },
    code: 'MODEL_BLOCKED_OUTPUT',
  },
  {
    kind: 'text-only',
    transient: [],
    permanent: { outcome: 'text-only' },
    code: 'MODEL_TEXT_ONLY',
  },
  {
    kind: 'empty',
    transient: [],
    permanent: { outcome: 'empty-candidates' },
    code: 'MODEL_NO_IMAGE',
  },
  { kind: 'bad-request', transient: [], permanent: { status: 400 }, code: 'MODEL_REJECTED' },
  { kind: 'always-500', transient: [], always: { status: 500 }, code: 'DEAD_LETTERED' },
  // A 3-step refinement whose step 2 fails twice: the retries go on from step 1's checkpoint.
  {
    kind: 'refine-503x2',
    steps: 3,
    failStep: 2,
    transient: [{ status: 503 }, { status: 429, retryDelay: '0.01s' }],
  },
  { kind: 'clean', transient: [] },
];

const is429 = (fault: Fault) => 'status' in fault && fault.status === 429;

/** The fault (if any) for the job's n-th model call. */
function faultFor(plan: Plan, n: number): Fault | undefined {
  if (plan.always) return plan.always;
  if (plan.permanent) return plan.permanent;
  const failStep = plan.failStep ?? 1;
  return n < failStep ? undefined : plan.transient[n - failStep];
}

const planFor = (index: number) => SCHEDULE[index % SCHEDULE.length] as Plan;
const indexOf = (prompt: string) => Number(/job #(\d+)/.exec(prompt)?.[1] ?? -1);

let root: string;
let standIn: GeminiStandIn;
let summary: RunSummary;
const writes = new Map<string, number>();
const catalog = loadModelCatalog();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-faults-'));
  const calls = new Map<number, number>();
  standIn = await startGeminiStandIn({
    faults: (_callNumber, request) => {
      const index = indexOf(request.prompt);
      const n = (calls.get(index) ?? 0) + 1;
      calls.set(index, n);
      return faultFor(planFor(index), n);
    },
  });
  const drop = join(root, 'drop');
  await writeDrop(drop, {
    'a.png': await tinyImage('png', 96, 64, '#a33'),
    'b.jpg': await tinyImage('jpeg', 64, 96, '#33a'),
    'faults.jobs.json': {
      jobs: Array.from({ length: JOBS }, (_, i) => {
        const steps = planFor(i).steps ?? 1;
        const prompts = ['make it festive', 'add snow', 'make it night'].map(
          (p) => `job #${i}: ${p}`,
        );
        return {
          name: `job-${i}`,
          ...(steps > 1 ? { steps: prompts.slice(0, steps) } : { prompt: prompts[0] }),
          ...(i % 3 === 0 ? {} : { inputs: [i % 3 === 1 ? 'a.png' : 'b.jpg'] }),
        };
      }),
    },
  });
  const config = loadConfig({ BANANAFLOW_MODEL_TIMEOUT_MS: '3000', LOG_LEVEL: 'error' });
  const countWrites = (store: ObjectStore): ObjectStore => ({
    stat: (b, n) => store.stat(b, n),
    read: (b, n, o) => store.read(b, n, o),
    list: (b, p, o) => store.list(b, p, o),
    delete: (b, n, o) => store.delete(b, n, o),
    write: async (b, n, bytes, o) => {
      const info = await store.write(b, n, bytes, o);
      writes.set(`${b}/${n}`, (writes.get(`${b}/${n}`) ?? 0) + 1);
      return info;
    },
  });
  summary = await runDrop({
    dropDir: drop,
    outDir: join(root, 'out'),
    model: createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: standIn.url },
      label: 'offline-stand-in',
    }),
    catalog,
    config,
    log: silentLogger,
    decorateStore: countWrites,
    concurrency: 16,
    maxAttempts: MAX_ATTEMPTS,
    minBackoffMs: 1,
    maxBackoffMs: 20,
  });
}, 120_000);

afterAll(async () => {
  await standIn?.close();
  await rm(root, { recursive: true, force: true });
});

describe(`fault injection: ${JOBS} jobs under a schedule of model faults`, () => {
  it('ends every job in exactly one terminal state, with the right code', async () => {
    expect(summary.jobs).toBe(JOBS);
    expect(summary.rows).toHaveLength(JOBS);
    expect(new Set(summary.rows.map((r) => r.jobId)).size).toBe(JOBS);
    const out = join(root, 'out');
    for (const row of summary.rows) {
      const index = Number(/job-(\d+)\./.exec(row.record)?.[1]);
      const plan = planFor(index);
      if (plan.code) {
        expect(row, plan.kind).toMatchObject({ status: 'failed', errorCode: plan.code });
      } else {
        expect(row, plan.kind).toMatchObject({ status: 'succeeded' });
      }
      const base = row.record.replace(/\.(png\.json|error\.json)$/, '');
      const terminal = [`${base}.png.json`, `${base}.error.json`].filter((name) =>
        writes.has(`output/${name.slice(out.length + 1)}`),
      );
      expect(terminal, row.record).toHaveLength(1);
    }
    const failed = summary.rows.filter((r) => r.status === 'failed').length;
    expect(summary.succeeded + failed).toBe(JOBS);
  });

  it('writes no output twice', () => {
    // Only the pipeline's own state (claims, last errors) is rewritten; outputs and records never.
    const repeated = [...writes].filter(
      ([name, n]) => n > 1 && !name.startsWith('output/_bananaflow/'),
    );
    expect(repeated).toEqual([]);
    expect([...writes.keys()].filter((n) => n.startsWith('input/'))).toEqual([]);
  });

  it('calls the model exactly once per step + retries of retryable faults; permanent outcomes are never retried', () => {
    let expected = 0;
    let retries = 0;
    for (let i = 0; i < JOBS; i++) {
      const plan = planFor(i);
      // A retried refinement goes on from its last answered step: earlier steps are not asked again.
      expected += plan.always ? MAX_ATTEMPTS : (plan.steps ?? 1) + plan.transient.length;
      // A per-minute 429 is held through in-process by the rate governor: a call, not a redelivery.
      retries += plan.always ? MAX_ATTEMPTS - 1 : plan.transient.filter((f) => !is429(f)).length;
    }
    const stats = standIn.stats();
    expect(stats.totalCalls).toBe(expected);
    const perJob = new Map<number, number>();
    for (const call of stats.calls)
      perJob.set(indexOf(call.prompt), (perJob.get(indexOf(call.prompt)) ?? 0) + 1);
    for (let i = 0; i < JOBS; i++) {
      const plan = planFor(i);
      if (plan.permanent) expect(perJob.get(i), plan.kind).toBe(1);
    }
    expect(summary.retries).toBe(retries);
    // The figures docs/reliability.md quotes.
    const faults = stats.calls.filter((c) => c.outcome !== 'image').length;
    expect({ jobs: JOBS, calls: stats.totalCalls, faults, retries }).toEqual({
      jobs: 256,
      calls: 528,
      faults: 336,
      retries: 192,
    });
  });

  it('records exactly the cost the stand-in billed', async () => {
    const billed = costFromUsage(
      catalog.defaultModel,
      standIn.stats().usage,
      catalog.priceTableVersion,
    ).total;
    expect(summary.costUsd).toBeCloseTo(billed, 6);
    // ...and the per-record costs add up to the summary (read back from disk, not from memory).
    let sum = 0;
    for (const row of summary.rows) {
      const record = JSON.parse(await readFile(row.record, 'utf8'));
      sum += record.cost?.total ?? 0;
    }
    expect(sum).toBeCloseTo(billed, 6);
    expect(Math.round(sum * 100)).toBe(Math.round(billed * 100));
  });
});
