import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BatchJob, GoogleGenAI, JobState } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';

/** The stand-in's Batch and Files APIs, driven by the real @google/genai SDK. */

const MODEL = 'gemini-2.5-flash-image';
let standIn: GeminiStandIn;
let ai: GoogleGenAI;
let scratch: string;
beforeAll(async () => {
  standIn = await startGeminiStandIn({ batchTurnaroundMs: 100, maxBatchRequests: 5 });
  ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: standIn.url } });
  scratch = await mkdtemp(join(tmpdir(), 'standin-batch-'));
});
afterAll(async () => {
  await standIn.close();
  await rm(scratch, { recursive: true, force: true });
});
beforeEach(() => standIn.reset());

const request = (prompt: string) => ({
  contents: [{ role: 'user', parts: [{ text: prompt }] }],
  config: { responseModalities: ['IMAGE', 'TEXT'] },
});

async function finished(name: string): Promise<BatchJob> {
  let job: BatchJob = {};
  await expect
    .poll(
      async () => {
        job = await ai.batches.get({ name });
        return job.state;
      },
      { timeout: 10_000, interval: 50 },
    )
    .toMatch(/SUCCEEDED|FAILED|CANCELLED|EXPIRED/);
  return job;
}

describe('stand-in Batch API', () => {
  it('answers inlined requests after the turnaround, in order, keys in metadata', async () => {
    const created = await ai.batches.create({
      model: MODEL,
      src: [
        { ...request('a red banana'), metadata: { key: 'job-1' } },
        { ...request('[standin:outcome=blocked-prompt] a bad banana'), metadata: { key: 'job-2' } },
        { ...request('[standin:fail=400] a broken banana'), metadata: { key: 'job-3' } },
      ],
      config: { displayName: 'inline-test' },
    });
    expect(created.state).toBe(JobState.JOB_STATE_PENDING);
    expect(created.displayName).toBe('inline-test');
    const job = await finished(created.name ?? '');
    expect(job.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const responses = job.dest?.inlinedResponses ?? [];
    expect(responses.map((r) => r.metadata?.key)).toEqual(['job-1', 'job-2', 'job-3']);
    const parts = responses[0]?.response?.candidates?.[0]?.content?.parts ?? [];
    expect(parts.some((p) => p.inlineData?.mimeType === 'image/png')).toBe(true);
    expect(responses[1]?.response?.promptFeedback?.blockReason).toBe('SAFETY');
    expect(responses[2]?.error).toMatchObject({ code: 400 });
    // Every request is counted (and billed where it answered) as a batch call.
    const calls = standIn.stats().calls;
    expect(calls.map((c) => c.tier)).toEqual(['batch', 'batch', 'batch']);
  });

  it('takes a JSONL file through the Files API and answers in a responses file', async () => {
    const lines = ['k-1', 'k-2']
      .map((key) =>
        JSON.stringify({ key, request: { contents: request(`banana ${key}`).contents } }),
      )
      .join('\n');
    const file = await ai.files.upload({
      file: new Blob([lines], { type: 'application/jsonl' }),
      config: { mimeType: 'application/jsonl', displayName: 'input' },
    });
    expect(file.name).toMatch(/^files\//);
    const created = await ai.batches.create({
      model: MODEL,
      src: file.name ?? '',
      config: { displayName: 'file-test' },
    });
    const job = await finished(created.name ?? '');
    expect(job.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const downloadPath = join(scratch, 'responses.jsonl');
    await ai.files.download({ file: job.dest?.fileName ?? '', downloadPath });
    const results = (await readFile(downloadPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(results.map((r) => r.key).sort()).toEqual(['k-1', 'k-2']);
    expect(results.every((r) => r.response?.usageMetadata?.totalTokenCount > 0)).toBe(true);
  });

  it('lists batches by display name and cancels one', async () => {
    standIn.setBatchTurnaround(60_000);
    try {
      const created = await ai.batches.create({
        model: MODEL,
        src: [{ ...request('slow'), metadata: { key: 'x' } }],
        config: { displayName: 'to-cancel' },
      });
      const listed: BatchJob[] = [];
      for await (const job of await ai.batches.list({ config: { pageSize: 1 } })) listed.push(job);
      expect(listed.some((j) => j.displayName === 'to-cancel' && j.name === created.name)).toBe(
        true,
      );
      await ai.batches.cancel({ name: created.name ?? '' });
      expect((await ai.batches.get({ name: created.name ?? '' })).state).toBe(
        JobState.JOB_STATE_CANCELLED,
      );
    } finally {
      standIn.setBatchTurnaround(100);
    }
  });

  it.each([
    ['expired', JobState.JOB_STATE_EXPIRED],
    ['failed', JobState.JOB_STATE_FAILED],
    ['cancelled', JobState.JOB_STATE_CANCELLED],
  ])('ends a batch %s by directive, billing nothing', async (fault, state) => {
    const created = await ai.batches.create({
      model: MODEL,
      src: [
        { ...request('fine'), metadata: { key: 'a' } },
        { ...request(`[standin:batch=${fault}] doomed`), metadata: { key: 'b' } },
      ],
    });
    const job = await finished(created.name ?? '');
    expect(job.state).toBe(state);
    expect(job.dest?.inlinedResponses).toBeUndefined();
    expect(standIn.stats().totalCalls).toBe(0);
  });

  it('loses a result on request (drop-key), so clients can test for gaps', async () => {
    const created = await ai.batches.create({
      model: MODEL,
      src: [
        { ...request('[standin:batch=drop-key] one'), metadata: { key: 'a' } },
        { ...request('two'), metadata: { key: 'b' } },
      ],
    });
    const job = await finished(created.name ?? '');
    expect(job.dest?.inlinedResponses?.map((r) => r.metadata?.key)).toEqual(['b']);
  });

  it('refuses a batch over its request limit', async () => {
    const six = Array.from({ length: 6 }, (_, i) => ({
      ...request(`n${i}`),
      metadata: { key: `${i}` },
    }));
    await expect(ai.batches.create({ model: MODEL, src: six })).rejects.toThrow(/at most 5/);
  });
});
