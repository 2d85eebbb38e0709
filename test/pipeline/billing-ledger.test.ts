import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { addUsage, type Usage, ZERO_USAGE } from '../../shared/catalog/cost.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { BillingLedger } from '../../shared/pipeline/billing-ledger.ts';
import { JobState } from '../../shared/pipeline/job-state.ts';
import { makeJob } from '../support/make-job.ts';

let root: string;
let state: JobState;
let ledger: () => BillingLedger;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-ledger-'));
  const job = makeJob(4);
  state = new JobState(new FsObjectStore({ out: join(root, 'out') }), 'out', job.jobId);
  ledger = () => BillingLedger.forJob({ catalog: loadModelCatalog() }, job, state);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const step = (tokens: number): Usage => ({
  ...ZERO_USAGE,
  inputTextTokens: 10,
  outputImageTokens: tokens,
  totalTokens: 10 + tokens,
});

describe('BillingLedger (paid once)', () => {
  it('keeps what a stopped delivery spent beyond its checkpoint, and only that', async () => {
    const first = ledger();
    first.turnAnswered(step(100));
    first.checkpointKept({ turns: [{ usage: step(100) }], usage: step(100), conversation: [] });
    first.turnAnswered(step(200));
    await first.keepUnkept();
    expect(await state.loadBilledUsage()).toEqual(step(200));
    // The next delivery resumes from the checkpoint: its answer includes step 1 once.
    const answer = addUsage(step(100), step(300));
    const total = await ledger().total(answer);
    expect(total.usage).toEqual(addUsage(answer, step(200)));
    expect(total.retried).toEqual(step(200));
    expect(total.cost.total).toBeGreaterThan(0);
  });

  it('adds up failed attempts across deliveries', async () => {
    await ledger().keepUnkept(step(100));
    await ledger().keepUnkept(step(50));
    expect(await state.loadBilledUsage()).toEqual(addUsage(step(100), step(50)));
  });

  it('charges a failure its failed attempts plus the checkpoint; nothing when nothing was billed', async () => {
    expect(await ledger().forFailure()).toBeUndefined();
    await state.saveCheckpoint({
      turns: [{ usage: step(100) }],
      usage: step(100),
      conversation: [],
    });
    await ledger().keepUnkept(step(7));
    const billed = await ledger().forFailure();
    expect(billed?.usage).toEqual(addUsage(step(7), step(100)));
  });

  it('returns the running cost of a conversation as turns are answered', () => {
    const l = ledger();
    const one = l.turnAnswered(step(100));
    const two = l.turnAnswered(step(100));
    expect(two).toBeCloseTo(2 * one, 10);
  });
});
