import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { batchCloud } from './batch-cloud.ts';
import { batchTier } from './batch-tier.ts';
import { coldStartRow } from './cold-start.ts';
import { cost } from './cost.ts';
import { fanOut } from './fan-out.ts';
import { latencyOverlap } from './latency-overlap.ts';
import { memory } from './memory.ts';
import { quota } from './quota.ts';
import { reportRow } from './report.ts';
import { type BenchContext, type BenchRow, renderMarkdown } from './results.ts';
import { workerOverhead } from './worker-overhead.ts';

/**
 * `npm run bench [-- --only worker-overhead,cost]`: runs the benchmark rows and writes
 * bench/RESULTS.md and bench/results.json. Not part of `npm test`; tests never assert on timings.
 */

const ROWS: ReadonlyArray<{ id: string; run: (ctx: BenchContext) => Promise<BenchRow[]> }> = [
  { id: 'worker-overhead', run: workerOverhead },
  { id: 'latency-overlap', run: latencyOverlap },
  { id: 'memory', run: memory },
  { id: 'fan-out', run: fanOut },
  { id: 'cost', run: cost },
  { id: 'report', run: reportRow },
  { id: 'batch-tier', run: batchTier },
  { id: 'batch-cloud', run: batchCloud },
  { id: 'quota', run: quota },
  // Last: it packages the functions, which may still be in the making.
  { id: 'cold-start', run: coldStartRow },
];

function parseOnly(argv: readonly string[]): string[] | undefined {
  const index = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
  if (index < 0) return undefined;
  const arg = argv[index] ?? '';
  const value = arg.startsWith('--only=') ? arg.slice('--only='.length) : argv[index + 1];
  const ids = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = ids.filter((id) => !ROWS.some((r) => r.id === id));
  if (ids.length === 0 || unknown.length > 0) {
    console.error(
      `--only takes a comma-separated list of: ${ROWS.map((r) => r.id).join(', ')}` +
        (unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ''),
    );
    process.exit(2);
  }
  return ids;
}

/** `biome check .` (npm test) covers bench/: leave the generated files formatted as it wants. */
async function formatWithBiome(files: string[], log: (line: string) => void): Promise<void> {
  const biome = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
  try {
    await promisify(execFile)(biome, ['format', '--write', ...files]);
  } catch (error) {
    log(`could not format the results with Biome: ${(error as Error).message}`);
  }
}

function environment(): string {
  const cpu = cpus();
  const [one = 0, five = 0] = loadavg();
  return (
    `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `sharp ${sharp.versions.sharp ?? '?'} / libvips ${sharp.versions.vips}, load average at start ${one.toFixed(2)} (1 min) ${five.toFixed(2)} (5 min).`
  );
}

async function main() {
  const only = parseOnly(process.argv.slice(2));
  // google-auth-library would otherwise probe for a GCE metadata server (and warn) on this laptop.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const startedAt = new Date();
  const started = performance.now();
  const env = environment();
  const log = (line: string) => {
    process.stderr.write(
      `[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`,
    );
  };
  const rows: BenchRow[] = [];
  let errors = 0;
  for (const row of ROWS) {
    if (only && !only.includes(row.id)) continue;
    log(`── ${row.id}`);
    try {
      rows.push(...(await row.run({ log })));
    } catch (error) {
      errors++;
      const message = error instanceof Error ? error.message : String(error);
      log(`${row.id} failed: ${message}`);
      rows.push({
        id: row.id,
        title: row.id,
        figure: '–',
        floor: '–',
        target: '–',
        holds: false,
        notes: `error: ${message}`,
      });
    }
  }
  const durationMs = performance.now() - started;
  const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
  // --only re-measures some rows: the others are kept from the last results, in table order.
  const kept = only ? await earlierRows(here('results.json'), only) : [];
  const order = (row: BenchRow) => ROWS.findIndex((r) => r.id === row.id);
  rows.splice(0, rows.length, ...[...kept, ...rows].sort((a, b) => order(a) - order(b)));
  const meta = {
    startedAt: startedAt.toISOString(),
    durationMs,
    environment: env,
    ...(only ? { only } : {}),
  };
  await writeFile(here('RESULTS.md'), renderMarkdown(rows, meta));
  await writeFile(here('results.json'), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  await formatWithBiome([here('RESULTS.md'), here('results.json')], log);
  process.stdout.write(await readFile(here('RESULTS.md'), 'utf8'));
  log(`wrote bench/RESULTS.md and bench/results.json in ${(durationMs / 1000).toFixed(0)} s`);
  if (errors > 0) process.exitCode = 1;
}

/** Rows of the last results.json whose ids are not being re-measured (none if there is none). */
async function earlierRows(file: string, remeasured: readonly string[]): Promise<BenchRow[]> {
  try {
    const earlier = JSON.parse(await readFile(file, 'utf8')) as { rows?: BenchRow[] };
    return (earlier.rows ?? []).filter((row) => !remeasured.includes(row.id));
  } catch {
    return [];
  }
}

await main();
