import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pubsubEmulatorAvailable } from '../../infra/emulator/pubsub-emulator.ts';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import type { SequenceSummary } from '../../shared/pipeline/sequence-summary.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';
import { readRecords, waitFor, withoutGeminiCredentials } from '../support/stack-harness.ts';

/**
 * Keyframe sequences on the emulator stack (real Pub/Sub emulator, functions framework): ingest
 * publishes frame 1, the worker publishes each next frame. The worker is SIGKILLed after every
 * frame's record, before that frame's next step (the next frame's publish, or the sequence files
 * after the last one); each time the redelivery of the killed frame does the step. Every frame is
 * still done once and paid once, and the sequence completes.
 */

const available = pubsubEmulatorAvailable();
if (!available.ok) console.warn(`Skipping the keyframes stack tests: ${available.why}`);

const lines: string[] = [];
let stack: Stack;
const wait = <T>(what: string, check: () => Promise<T | undefined>) =>
  waitFor(what, check, { deadlineMs: 120_000, lines });

beforeAll(async () => {
  if (!available.ok) return;
  stack = await startStack({
    pollMs: 100,
    env: {
      ...withoutGeminiCredentials(process.env),
      BANANAFLOW_LEASE_MS: '1000',
      BANANAFLOW_MODEL_TIMEOUT_MS: '2000',
    },
    maxDeliveryAttempts: 20,
    // A delivery cut off by the kill comes back once its ack deadline passes.
    ackDeadlineSeconds: 10,
    print: (line) => lines.push(line),
    onFunctionLine: (fn, line) => lines.push(`[${fn}] ${line}`),
  });
}, 60_000);

afterAll(async () => {
  if (available.ok) await stack.stop();
});

const frames = ['kf-one: a lighthouse at dusk', 'kf-two: the lamp turns on', 'kf-three: night'];

describe.skipIf(!available.ok)('keyframes on the emulator stack', () => {
  it('survives a worker killed after every frame: each frame done and paid once, the sequence complete', async () => {
    await stack.restartFunction('worker', { BANANAFLOW_FAILPOINT: 'recorded' });
    await writeDrop(stack.inputDir, {
      'kf/start.png': await tinyImage('png', 64, 36, '#268'),
      'kf/keeper.png': await tinyImage('png', 32, 32, '#a84'),
      'kf/light.jobs.json': {
        jobs: [{ name: 'beam', frames, inputs: ['start.png'], references: ['keeper.png'] }],
      },
    });
    for (let frame = 1; frame <= frames.length; frame++) {
      await stack.exited('worker');
      lines.push(`-- worker killed after frame ${frame}'s record; restarting`);
      // Killed again after the next frame's record, until the last one.
      const failpoint = frame < frames.length ? 'recorded' : '';
      await stack.restartFunction('worker', { BANANAFLOW_FAILPOINT: failpoint });
    }

    const folder = join(stack.outputDir, 'kf/light/beam');
    const summary = await wait('the complete sequence.json', async () => {
      const name = (await readdir(folder).catch(() => [] as string[])).find((n) =>
        /^sequence\.[a-f0-9]{8}\.json$/.test(n),
      );
      if (!name) return undefined;
      const parsed: SequenceSummary = JSON.parse(await readFile(join(folder, name), 'utf8'));
      return parsed.status === 'complete' ? parsed : undefined;
    });
    expect(summary.frames.map((f) => [f.frame, f.prompt, f.status])).toEqual(
      frames.map((p, i) => [i + 1, p, 'succeeded']),
    );
    expect(summary.preview?.webp).toMatch(/preview\.[a-f0-9]{8}\.webp$/);

    const records = (await readRecords(stack.outputDir)).filter((r) =>
      (r.prompt ?? '').startsWith('kf-'),
    );
    // One record per frame (at-least-once delivery: one per distinct job id), all succeeded.
    expect(new Set(records.map((r) => r.jobId)).size).toBe(3);
    expect(records.every((r) => r.status === 'succeeded')).toBe(true);
    const calls = stack.standIn?.stats().calls ?? [];
    for (const prompt of frames) {
      // Killed only after each record: nothing is asked twice.
      expect(
        calls.filter((c) => c.prompt === prompt),
        prompt,
      ).toHaveLength(1);
    }
    await wait('a result event for every frame', async () =>
      records.every((r) => stack.results().some((e) => e.jobId === r.jobId)) ? true : undefined,
    );
  }, 240_000);
});
