import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventFromRecord } from '../../shared/pipeline/announce-result.ts';
import { jobResultEventSchema } from '../../shared/pipeline/result-event.ts';
import { runJob } from '../../shared/pipeline/run-job.ts';
import { type Harness, startHarness, tinyImage, writeDrop } from '../support/pipeline-harness.ts';

describe('result events carry what the cost ledger needs', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it('a succeeded job: model, tier, tags, usage, cost and the sidecar, matching its record', async () => {
    await writeDrop(h.dropDir, {
      'cat.png': await tinyImage(),
      'cat.png.edit.json': { prompt: 'add a hat', tags: { client: 'acme' } },
    });
    const [job] = await h.plan();
    if (!job) throw new Error('nothing planned');
    const result = await runJob(h.worker, job, { messageId: 'm', attempt: 1 });
    if (result.status !== 'succeeded') throw new Error(`job ${result.status}`);
    const [event] = h.queue.results;
    expect(jobResultEventSchema.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      jobId: job.jobId,
      status: 'succeeded',
      model: job.model,
      tier: 'standard',
      tags: { client: 'acme' },
      usage: result.record.usage,
      costUsd: result.record.cost.total,
      priceTableVersion: result.record.cost.priceTableVersion,
      sidecarUri: result.record.sidecar.uri,
    });
    expect(event?.usage?.totalTokens).toBeGreaterThan(0);
  });

  it('a failed job: its code and what it was billed', async () => {
    const event = eventFromRecord(
      {
        status: 'failed',
        jobId: 'a'.repeat(20),
        runId: 'r',
        sidecar: 'gs://in/x.png.edit.json',
        model: 'gemini-3-pro-image',
        error: { code: 'MODEL_BLOCKED_OUTPUT' },
        cost: { total: 0.0012, priceTableVersion: 'v1' },
        tags: {},
        at: '2026-12-02T00:00:00.000Z',
      },
      'gs://out/x.error.json',
    );
    expect(jobResultEventSchema.parse(event)).toMatchObject({
      status: 'failed',
      errorCode: 'MODEL_BLOCKED_OUTPUT',
      costUsd: 0.0012,
      model: 'gemini-3-pro-image',
      sidecarUri: 'gs://in/x.png.edit.json',
    });
  });

  it('is no event for a record that is neither', () => {
    expect(eventFromRecord({ jobId: 'x', runId: 'y', status: 'planned' }, 'u')).toBeUndefined();
    expect(eventFromRecord({ status: 'succeeded' }, 'u')).toBeUndefined();
  });
});
