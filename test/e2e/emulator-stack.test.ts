import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { planDrop } from '../../shared/pipeline/plan-drop.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { emulatorSuite } from '../support/emulator.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';
import {
  readRecords,
  waitFor as waitUntil,
  withoutGeminiCredentials,
} from '../support/stack-harness.ts';

/**
 * The whole pipeline on the emulator stack, driven through the same startStack that
 * `npm run stack` runs: files appear in the drop folder, the stack sends Eventarc's CloudEvents to
 * the ingest process, Pub/Sub pushes jobs to the worker process and dead letters to the
 * dead-letter process, and the outputs land in the output folder.
 */

const needsEmulator = emulatorSuite('the emulator stack end-to-end test');

const DEADLINE_MS = 45_000;

let stack: Stack;
const lines: string[] = [];

needsEmulator.beforeAll(async () => {
  stack = await startStack({
    pollMs: 100,
    // The test wants the offline stand-in whatever the developer's shell holds.
    env: withoutGeminiCredentials(process.env),
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
}, 60_000);

needsEmulator.afterAll(async () => {
  await stack.stop();
});

/** Polls until `check` returns a value, or fails with the stack's recent output. */
const waitFor = <T>(what: string, check: () => Promise<T | undefined>) =>
  waitUntil(what, check, { deadlineMs: DEADLINE_MS, lines });

/** Writes one file into the drop and waits until its storage event was delivered to ingest. */
async function upload(name: string, content: Buffer | object): Promise<void> {
  const before = stack.storageEvents().filter((e) => e.name === name).length;
  await writeDrop(stack.inputDir, { [name]: content });
  const delivery = await waitFor(
    `the storage event for ${name}`,
    async () => stack.storageEvents().filter((e) => e.name === name)[before],
  );
  expect(delivery.outcome, `ingest of ${name}`).toBe('delivered');
}

const records = () => readRecords(stack.outputDir);

const recordsFor = async (marker: string) =>
  (await records()).filter((r) => (r.prompt ?? '').includes(marker));
const modelCallsFor = (marker: string) =>
  stack.standIn?.stats().calls.filter((c) => c.prompt.includes(marker)).length ?? 0;
const relative = (uri: string, root: string) => uri.slice(root.length + 1);

describe.skipIf(!needsEmulator.ok)('the emulator stack, end to end', () => {
  it('turns a drop uploaded in mixed order into every expected output, exactly once', async () => {
    const png = await tinyImage();
    const sidecar = (marker: string) => ({ prompt: `make it brighter (${marker})` });
    // image before its sidecar
    await upload('a/cat.png', png);
    await upload('a/cat.png.edit.json', sidecar('mix-cat'));
    // sidecar before its image
    await upload('b/dog.png.edit.json', sidecar('mix-dog'));
    await upload('b/dog.png', png);
    // folder sidecar before its image
    await upload('c/_edit.json', sidecar('mix-folder-c'));
    await upload('c/one.png', png);
    // folder sidecar after one image, before another
    await upload('d/two.png', png);
    await upload('d/_edit.json', sidecar('mix-folder-d'));
    await upload('d/three.png', png);
    // a manifest naming an uploaded image and one that arrives after it
    await upload('batch.jobs.json', {
      jobs: [
        { name: 'cat-poster', inputs: ['a/cat.png'], prompt: 'a poster of this cat (mix-m1)' },
        { name: 'late', inputs: ['e/late.png'], prompt: 'a postcard of this (mix-m2)' },
      ],
    });
    await upload('e/late.png', png);

    const expected = [
      ['a/cat.png.edit.json', 'a/cat.png'],
      ['b/dog.png.edit.json', 'b/dog.png'],
      ['c/_edit.json', 'c/one.png'],
      ['d/_edit.json', 'd/three.png'],
      ['d/_edit.json', 'd/two.png'],
      ['batch.jobs.json', 'a/cat.png'],
      ['batch.jobs.json', 'e/late.png'],
    ].sort();
    const done = await waitFor('seven records', async () => {
      const found = await recordsFor('(mix-');
      return found.length >= expected.length ? found : undefined;
    });

    const seen = done
      .map((r) => [
        relative(r.sidecar?.uri ?? '', stack.inputDir),
        relative(r.inputs[0]?.uri ?? '', stack.inputDir),
      ])
      .sort();
    expect(seen).toEqual(expected);
    for (const record of done) {
      expect(record.status).toBe('succeeded');
      expect(record.jobId).toMatch(/^[a-f0-9]{20}$/);
      expect(record.cost?.total).toBeGreaterThan(0);
      expect(record.model?.backend).toBe(`gemini-api at ${stack.standIn?.url}`);
      expect((await stat(record.output?.uri ?? '')).size).toBeGreaterThan(0);
    }
    // Uploads that completed the same job twice published it twice: still one model call each.
    for (const marker of ['mix-cat', 'mix-dog', 'mix-folder-c', 'mix-m1', 'mix-m2']) {
      expect(modelCallsFor(marker), marker).toBe(1);
    }
    expect(modelCallsFor('mix-folder-d')).toBe(2);
    const jobIds = done.map((r) => r.jobId);
    await waitFor('a result event per job', async () =>
      jobIds.every((id) => stack.results().some((e) => e.jobId === id)) ? true : undefined,
    );
    // Events are at-least-once: every job is announced, each of its events says succeeded.
    for (const id of jobIds) {
      const events = stack.results().filter((e) => e.jobId === id);
      expect(events.length, `events of job ${id}`).toBeGreaterThanOrEqual(1);
      for (const event of events) expect(event.status).toBe('succeeded');
    }
  });

  it('retries a transient model failure until it succeeds', async () => {
    await upload('f/flaky.png', await tinyImage());
    await upload('f/flaky.png.edit.json', {
      prompt: 'make it sunny (e2e-flaky) [standin:fail=503,500]',
    });

    const [record] = await waitFor('the flaky job to succeed', async () => {
      const found = await recordsFor('e2e-flaky');
      return found.length > 0 ? found : undefined;
    });
    expect(record).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(modelCallsFor('e2e-flaky')).toBe(3);
  });

  it('dead-letters a job that always fails and records it with its attempt count', async () => {
    await upload('g/doomed.png', await tinyImage());
    await upload('g/doomed.png.edit.json', {
      prompt: 'make it rain (e2e-doomed) [standin:always=500]',
    });

    const [record] = await waitFor('the dead-letter record', async () => {
      const found = await recordsFor('e2e-doomed');
      return found.length > 0 ? found : undefined;
    });
    expect(record).toMatchObject({
      status: 'failed',
      attempts: 5,
      error: {
        code: 'DEAD_LETTERED',
        details: { attempts: 5, lastError: { code: 'MODEL_TRANSIENT' } },
      },
    });
    expect(record?.file).toMatch(/\.error\.json$/);
    expect(modelCallsFor('e2e-doomed')).toBe(5);
    await waitFor('the failure result event', async () =>
      stack.results().find((e) => e.jobId === record?.jobId && e.errorCode === 'DEAD_LETTERED'),
    );
  });

  it('calls the model once for a job published many times, five of them at once', async () => {
    const marker = 'e2e-twin';
    // The model answers slowly, so the concurrent deliveries overlap the first one's model call.
    stack.standIn?.setLatency(1_000);
    try {
      await writeDrop(stack.inputDir, {
        'h/twin.png': await tinyImage(),
        'h/twin.png.edit.json': { prompt: `make it snow (${marker})` },
      });
      // The same job ingest will plan (job ids are deterministic), planned here to publish it first.
      const store = new FsObjectStore({ input: stack.inputDir, output: stack.outputDir });
      const plan = await planDrop(
        {
          store,
          catalog: loadModelCatalog(),
          log: silentLogger,
          now: () => new Date(),
          uriOf: (bucket, name) => `${bucket}/${name}`,
          inputBucket: 'input',
          outputBucket: 'output',
          defaultModel: 'gemini-2.5-flash-image',
          maxSidecarBytes: 1 << 20,
        },
        { runId: 'e2e-twin' },
      );
      const job = plan.jobs.find((j) => j.sidecar.name === 'h/twin.png.edit.json');
      if (!job) throw new Error('the twin job was not planned');

      const messageIds = await Promise.all(Array.from({ length: 5 }, () => stack.publishJob(job)));
      expect(new Set(messageIds).size).toBe(5);

      await waitFor('the twin record', async () => {
        const found = await recordsFor(marker);
        return found.length > 0 ? found : undefined;
      });
      // Every one of the five messages was delivered (and none of them paid again): the worker
      // logs each delivery of the job with its message id.
      await waitFor('a delivery of each published message', async () =>
        messageIds.every((id) =>
          lines.some((l) => l.startsWith('[worker]') && l.includes(`"messageId":"${id}"`)),
        )
          ? true
          : undefined,
      );
      // Past the commit point nothing of the job's working state is left, duplicates included.
      const state = join(stack.outputDir, '_bananaflow', 'jobs', job.jobId);
      await waitFor('the job state to be cleaned', async () =>
        (await readdir(state, { recursive: true }).catch(() => [])).length === 0 ? true : undefined,
      );
      expect(await recordsFor(marker)).toHaveLength(1);
      expect(modelCallsFor(marker)).toBe(1);
    } finally {
      stack.standIn?.setLatency(0);
    }
  });
});
