import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { GeminiStandInOptions, StandInStats } from '../infra/gemini-stand-in/server.ts';

/**
 * The offline stand-in in its own process, so that its CPU work and garbage (decoding what the
 * worker sent, rendering the answer) do not land in the measuring process's heap and GC.
 * Run as a script it starts the stand-in and prints `{"url": ...}` on one line.
 */

export interface StandInProcess {
  url: string;
  stats(): Promise<StandInStats>;
  reset(): Promise<void>;
  /** CPU time (user + system) the stand-in process has used so far, in ms (Linux), else NaN. */
  cpuMs(): number;
  close(): Promise<void>;
}

/** utime + stime of a process from /proc/<pid>/stat, in ms. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks / CLOCK_TICKS_PER_SECOND) * 1000;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

const SELF = fileURLToPath(import.meta.url);

/** `node --import tsx <file>`: run a bench TypeScript file in a child process. */
export function tsxArgs(file: string, args: readonly string[] = []): string[] {
  return ['--import', 'tsx', file, ...args];
}

/** Options a child stand-in can take besides its latency (they travel as JSON). */
export type ChildStandInOptions = Pick<GeminiStandInOptions, 'quota' | 'placeholderImages'>;

export async function spawnStandIn(
  options: { latencyMs: number } & ChildStandInOptions,
): Promise<StandInProcess> {
  const { latencyMs, ...rest } = options;
  const args = [String(latencyMs), JSON.stringify(rest)];
  const child = spawn(process.execPath, tsxArgs(SELF, args), {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`stand-in process exited (${code})`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  return {
    url,
    async stats() {
      const response = await fetch(`${url}/__standin/stats`);
      return (await response.json()) as StandInStats;
    },
    async reset() {
      await fetch(`${url}/__standin/reset`, { method: 'POST' });
    },
    cpuMs: () => processCpuMs(child.pid),
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const { startGeminiStandIn } = await import('../infra/gemini-stand-in/server.ts');
  const extra = JSON.parse(process.argv[3] ?? '{}') as ChildStandInOptions;
  const standIn = await startGeminiStandIn({
    port: 0,
    latencyMs: Number(process.argv[2] ?? 0),
    ...extra,
  });
  process.stdout.write(`${JSON.stringify({ url: standIn.url })}\n`);
  // The parent ends us by closing stdin (also when it dies).
  process.stdin.resume();
  process.stdin.on('end', () => {
    void standIn.close().then(() => process.exit(0));
  });
}
