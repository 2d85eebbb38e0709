import { describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../infra/emulator/start-stack.ts';
import { JOB_STAGES, type JobStage } from '../../shared/pipeline/job-stages.ts';
import { emulatorSuite } from '../support/emulator.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';
import { readRecords, waitFor, withoutGeminiCredentials } from '../support/stack-harness.ts';

/**
 * Crashes on the emulator stack: the worker process is SIGKILLed at each stage of a job (before the
 * model call, between two refinement steps, after the model answered, while writing outputs). Each
 * job is a two-step refinement. After a restart every job completes exactly once, and each step is
 * paid once wherever the design promises it (everywhere but the window between Gemini billing and
 * the answer being persisted, which a kill cannot hit here).
 */

const needsEmulator = emulatorSuite('the crash-recovery tests');

const lines: string[] = [];
let stack: Stack;
const wait = <T>(what: string, check: () => Promise<T | undefined>) =>
  waitFor(what, check, { deadlineMs: 120_000, lines });

needsEmulator.beforeAll(async () => {
  stack = await startStack({
    pollMs: 100,
    env: {
      ...withoutGeminiCredentials(process.env),
      // A crashed worker's claim expires after max(lease, model timeout + 5 s): keep it short here.
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

needsEmulator.afterAll(async () => {
  await stack.stop();
});

describe.skipIf(!needsEmulator.ok)('a worker killed in the middle of a job', () => {
  it.each(JOB_STAGES.map((stage) => [stage]))(
    'at "%s": after a restart the job completes exactly once, and each step is paid once',
    async (stage: JobStage) => {
      await stack.restartFunction('worker', { BANANAFLOW_FAILPOINT: stage });
      const exited = stack.exited('worker');
      const marker = `crash-${stage}`;
      await writeDrop(stack.inputDir, {
        [`${marker}/cat.png`]: await tinyImage(),
        [`${marker}/cat.png.edit.json`]: {
          steps: [`make it glow (${marker})`, `add a hat (${marker})`],
        },
      });
      await exited;
      lines.push(`-- worker killed at ${stage}; restarting without the failpoint`);
      await stack.restartFunction('worker', { BANANAFLOW_FAILPOINT: '' });

      const done = await wait(`the record of ${marker}`, async () => {
        const found = (await readRecords(stack.outputDir)).filter((r) =>
          (r.prompt ?? '').includes(marker),
        );
        return found.length > 0 ? found : undefined;
      });
      expect(done.map((r) => r.status)).toEqual(['succeeded']);
      const calls = stack.standIn?.stats().calls.filter((c) => c.prompt.includes(marker)) ?? [];
      // One call per step: nothing answered before the kill is asked again.
      expect(calls, `model calls for ${marker}`).toHaveLength(2);
      // Killed after the answer was persisted: the restarted worker reused it.
      const answered = stage === 'model-answered' || stage === 'output-written';
      expect(done[0]?.modelResultReused).toBe(answered);
      // Killed between the steps: the restarted worker went on from step 1.
      expect(done[0]?.resumedAfterStep).toBe(stage === 'step-answered' ? 1 : undefined);
      await wait('the result event', async () =>
        stack.results().some((r) => r.jobId === done[0]?.jobId) ? true : undefined,
      );
    },
    150_000,
  );
});
