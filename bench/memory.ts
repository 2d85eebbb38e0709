import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { startGeminiStandIn } from '../infra/gemini-stand-in/server.ts';
import { startHarness, writeDrop } from '../test/support/pipeline-harness.ts';
import { cameraJpeg } from './fixtures.ts';
import type { MemoryWorkerInput, MemoryWorkerOutput } from './memory-worker.ts';
import { type BenchContext, type BenchRow, mib, ms } from './results.ts';

/**
 * Row 4: peak RSS of one worker instance at concurrency 1, 4 and 8 on 12 MP inputs. Each run is a
 * fresh child process (the worker bundled by esbuild and run by plain node, as deployed), so the
 * peak (VmHWM) belongs to that run alone.
 */

export const TARGET_BYTES = 600 * 1024 * 1024;
const CONCURRENCIES = [1, 4, 8] as const;
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const execFileAsync = promisify(execFile);

/** ESM output meets CommonJS dependencies that call require(). */
const REQUIRE_SHIM =
  "import { createRequire as __benchCreateRequire } from 'node:module';\n" +
  'const require = __benchCreateRequire(import.meta.url);';

interface Variant {
  label: string;
  sharpConcurrency?: number;
  sharpCache?: boolean;
}

export async function memory(ctx: BenchContext): Promise<BenchRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'bananaflow-bench-memory-'));
  const harness = await startHarness();
  const standIn = await startGeminiStandIn({ latencyMs: 50 });
  try {
    // The child, bundled: node_modules resolves through a symlink to the repository's.
    const script = join(work, 'memory-worker.mjs');
    await build({
      entryPoints: [join(ROOT, 'bench', 'memory-worker.ts')],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['sharp', '@google-cloud/*'],
      banner: { js: REQUIRE_SHIM },
      logLevel: 'warning',
    });
    await symlink(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');

    ctx.log('memory: generating 12 MP inputs');
    const photo = await cameraJpeg();
    const maxJobs = 2 * Math.max(...CONCURRENCIES);
    const files: Record<string, Buffer | object> = {
      '_edit.json': {
        prompt: 'Warm up the colours',
        output: { format: 'jpeg', quality: 85, renditions: [1024, 512] },
      },
    };
    for (let i = 0; i < maxJobs; i++)
      files[`photo-${String(i).padStart(2, '0')}.jpg`] = photo.bytes;
    await writeDrop(harness.dropDir, files);
    const jobs = await harness.plan();

    const runChild = async (concurrency: number, variant: Variant) => {
      const count = Math.max(4, 2 * concurrency);
      const jobsFile = join(work, `jobs-${concurrency}.json`);
      await writeFile(jobsFile, JSON.stringify(jobs.slice(0, count)));
      const outDir = join(work, `out-${concurrency}-${variant.label.replace(/\W+/g, '-')}`);
      await mkdir(outDir, { recursive: true });
      const input: MemoryWorkerInput = {
        jobsFile,
        dropDir: harness.dropDir,
        outDir,
        standInUrl: standIn.url,
        concurrency,
        ...(variant.sharpConcurrency === undefined
          ? {}
          : { sharpConcurrency: variant.sharpConcurrency }),
        ...(variant.sharpCache === undefined ? {} : { sharpCache: variant.sharpCache }),
      };
      const { stdout } = await execFileAsync(process.execPath, [script, JSON.stringify(input)], {
        cwd: work,
        maxBuffer: 1 << 20,
      });
      await rm(outDir, { recursive: true, force: true });
      const output = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as MemoryWorkerOutput;
      if (output.succeeded !== output.jobs) {
        throw new Error(`memory: ${output.succeeded} of ${output.jobs} jobs succeeded`);
      }
      ctx.log(
        `memory: concurrency ${concurrency} (${variant.label}): peak ${mib(output.vmHwm)}, baseline ${mib(output.baselineRss)}`,
      );
      return output;
    };

    const rows: BenchRow[] = [];
    const defaults: Variant = { label: 'defaults' };
    let atEight: MemoryWorkerOutput | undefined;
    for (const concurrency of CONCURRENCIES) {
      const output = await runChild(concurrency, defaults);
      if (concurrency === 8) atEight = output;
      const holds = concurrency === 8 ? output.vmHwm <= TARGET_BYTES : true;
      rows.push({
        id: 'memory',
        title: `Memory: one worker, concurrency ${concurrency}, 12 MP JPEGs`,
        figure: `${mib(output.vmHwm)} peak RSS`,
        floor: `${mib(output.baselineRss)} idle instance`,
        ratio: output.vmHwm / output.baselineRss,
        target: concurrency === 8 ? '≤ 600 MiB' : '(≤ 600 MiB at 8)',
        holds,
        notes:
          `${output.jobs} jobs (jpeg output, renditions 1024 and 512 asked) in a fresh child (bundled, plain node); VmHWM from /proc/self/status ` +
          `(sampled rss max ${mib(output.peakRssSampled)}); sharp defaults (concurrency ${output.sharpConcurrency}, cache on); ${ms(output.elapsedMs)}.`,
        data: { concurrency, ...output },
      });
    }

    // Only when the target is missed: try sharp's knobs and say what helped.
    if (atEight && atEight.vmHwm > TARGET_BYTES) {
      const tries: Variant[] = [
        { label: 'sharp.cache(false)', sharpCache: false },
        { label: 'sharp.concurrency(1)', sharpConcurrency: 1 },
        { label: 'sharp.cache(false) + concurrency(1)', sharpCache: false, sharpConcurrency: 1 },
      ];
      for (const variant of tries) {
        const output = await runChild(8, variant);
        rows.push({
          id: 'memory',
          title: `… concurrency 8 with ${variant.label}`,
          figure: `${mib(output.vmHwm)} peak RSS`,
          floor: `${mib(atEight.vmHwm)} with defaults`,
          ratio: output.vmHwm / atEight.vmHwm,
          target: '≤ 600 MiB',
          holds: output.vmHwm <= TARGET_BYTES,
          notes: `Tried because the defaults miss the target; ${ms(output.elapsedMs)} for ${output.jobs} jobs (defaults: ${ms(atEight.elapsedMs)}).`,
          data: { concurrency: 8, variant, ...output },
        });
      }
    }
    return rows;
  } finally {
    await standIn.close();
    await harness.close();
    await rm(work, { recursive: true, force: true });
  }
}
