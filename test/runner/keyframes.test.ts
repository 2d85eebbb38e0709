import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { runDrop } from '../../infra/runner/run-drop.ts';
import { createGeminiImageModel } from '../../shared/adapters/gemini-image-model.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import type { SequenceSummary } from '../../shared/pipeline/sequence-summary.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * Keyframe sequences in the embedded runner: the runner chains the frames through the worker use
 * case, a failed frame stops the chain, and running the drop again resumes from the first missing
 * frame without paying again for the frames before it.
 */

let root: string | undefined;
let standIn: GeminiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
  standIn = undefined;
});

function options(dropDir: string, outDir: string, s: GeminiStandIn) {
  return {
    dropDir,
    outDir,
    model: createGeminiImageModel({
      backend: { kind: 'gemini-api', apiKey: 'k', baseUrl: s.url },
      label: 'offline-stand-in',
    }),
    catalog: loadModelCatalog(),
    config: loadConfig({ LOG_LEVEL: 'error' }),
    log: silentLogger,
    maxAttempts: 2,
    minBackoffMs: 1,
    maxBackoffMs: 5,
  };
}

const prompts = ['k1: a fox at the edge of the wood', 'k2: the fox runs', 'k3: the fox leaps'];

async function setUp(frames = prompts, faults?: Parameters<typeof startGeminiStandIn>[0]) {
  root = await mkdtemp(join(tmpdir(), 'bananaflow-keyframes-'));
  const drop = join(root, 'drop');
  const out = join(root, 'out');
  await writeDrop(drop, {
    'shots/start.png': await tinyImage('png', 96, 54, '#5a3'),
    'shots/fox.png': await tinyImage('png', 32, 32, '#c60'),
    'shots/fox.jobs.json': {
      jobs: [{ name: 'run', frames, inputs: ['start.png'], references: ['fox.png'] }],
    },
  });
  standIn = await startGeminiStandIn(faults ?? {});
  return { drop, out, s: standIn };
}

async function sequenceSummary(out: string): Promise<SequenceSummary> {
  const folder = join(out, 'shots/fox/run');
  const name = (await readdir(folder)).find((n) => /^sequence\.[a-f0-9]{8}\.json$/.test(n));
  if (!name) throw new Error(`no sequence.json in ${folder}`);
  return JSON.parse(await readFile(join(folder, name), 'utf8'));
}

const calls = (s: GeminiStandIn, prefix: string) =>
  s.stats().calls.filter((c) => c.prompt.startsWith(prefix)).length;

describe('keyframe sequences in the runner', () => {
  it('chains the frames, shows frame k of n, and the estimate covers the whole sequence', async () => {
    const { drop, out, s } = await setUp();
    const progress: string[] = [];
    const summary = await runDrop({
      ...options(drop, out, s),
      onJobDone: (row, p) =>
        progress.push(`${p.done}/${p.total} frame ${row.frame} of ${row.frames}`),
    });
    expect(summary).toMatchObject({ jobs: 3, succeeded: 3, failed: 0, notRun: 0 });
    expect(progress).toEqual(['1/3 frame 1 of 3', '2/3 frame 2 of 3', '3/3 frame 3 of 3']);
    for (const prefix of ['k1', 'k2', 'k3']) expect(calls(s, prefix)).toBe(1);
    const names = (await readdir(join(out, 'shots/fox/run'))).sort();
    expect(names.filter((n) => /^frame-000[123]\.[a-f0-9]{8}\.png$/.test(n))).toHaveLength(3);
    expect(names.some((n) => /^preview\.[a-f0-9]{8}\.webp$/.test(n))).toBe(true);
    expect(names.some((n) => /^contact-strip\.[a-f0-9]{8}\.png$/.test(n))).toBe(true);
    const sequence = await sequenceSummary(out);
    expect(sequence.status).toBe('complete');
    expect(sequence.costUsd).toBeCloseTo(summary.costUsd, 6);
    expect(sequence.estimatedCostUsd).toBeCloseTo(summary.estimatedCostUsd, 6);
  });

  it('refuses under --max-usd a sequence whose whole estimate is over it, though frame 1 fits', async () => {
    const { drop, out, s } = await setUp();
    const estimate = (await runDrop({ ...options(drop, out, s), maxUsd: 1e-9 })).estimatedCostUsd;
    const refused = await runDrop({ ...options(drop, out, s), maxUsd: estimate * 0.5 });
    expect(refused.refused).toMatch(/exceeds --max-usd/);
    expect(s.stats().totalCalls).toBe(0);
  });

  it('stops at a dead-lettered frame and resumes there on a rerun, paying nothing again for the frames before', async () => {
    let failing = true;
    const { drop, out, s } = await setUp(prompts, {
      faults: (_n, request) =>
        failing && request.prompt.startsWith('k2') ? { status: 503 } : undefined,
    });
    const first = await runDrop(options(drop, out, s));
    expect(first).toMatchObject({
      jobs: 3,
      succeeded: 1,
      failed: 1,
      notRun: 1,
      failedByCode: { DEAD_LETTERED: 1 },
    });
    expect(first.rows.map((r) => [r.frame, r.status])).toEqual(
      expect.arrayContaining([
        [1, 'succeeded'],
        [2, 'failed'],
        [3, 'not-run'],
      ]),
    );
    const stopped = await sequenceSummary(out);
    expect(stopped.status).toBe('stopped');
    expect(stopped.stoppedAt).toMatchObject({ frame: 2, code: 'DEAD_LETTERED' });
    expect(calls(s, 'k3')).toBe(0);

    failing = false;
    const second = await runDrop(options(drop, out, s));
    expect(second).toMatchObject({ jobs: 3, succeeded: 2, alreadyDone: 1, failed: 0, notRun: 0 });
    expect(calls(s, 'k1')).toBe(1);
    expect(calls(s, 'k3')).toBe(1);
    expect((await sequenceSummary(out)).status).toBe('complete');

    // A third run pays nothing and still finds the sequence complete.
    const before = s.stats().totalCalls;
    const third = await runDrop(options(drop, out, s));
    expect(third).toMatchObject({ jobs: 3, alreadyDone: 3, succeeded: 0, failed: 0 });
    expect(s.stats().totalCalls).toBe(before);
  });

  it('keeps a permanently failed frame failed on a rerun, and the frames after it not run', async () => {
    const { drop, out, s } = await setUp([
      prompts[0] as string,
      'k2 [standin:outcome=blocked-output]',
      prompts[2] as string,
    ]);
    const first = await runDrop(options(drop, out, s));
    expect(first).toMatchObject({ succeeded: 1, failed: 1, notRun: 1 });
    const before = s.stats().totalCalls;
    const second = await runDrop(options(drop, out, s));
    expect(second).toMatchObject({ alreadyDone: 1, failed: 1, notRun: 1 });
    expect(second.rows.find((r) => r.frame === 2)?.fromEarlierRun).toBe(true);
    expect(s.stats().totalCalls).toBe(before);
  });
});
