import { execFile, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The real `bananaflow` entry point, as `npm link` or `npx bananaflow` runs it. */
export const BIN = fileURLToPath(new URL('../../infra/cli/bin.mjs', import.meta.url));

/** No Gemini credentials: the CLI uses the offline stand-in. */
export const OFFLINE_ENV = {
  PATH: process.env.PATH ?? '',
  LOG_LEVEL: 'error',
  HOME: process.env.HOME ?? '',
};

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `bananaflow ...args` as a child process with pipes (not a terminal). */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: options.env ?? OFFLINE_ENV,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 << 20,
      },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** True when util-linux `script` is here to give a child a real terminal. */
export function hasScript(): boolean {
  return spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `bananaflow ...args` on a real pseudo-terminal of `columns` columns (util-linux
 * `script`), returning everything the terminal received (stdout and stderr interleaved).
 */
export function runCliInTerminal(
  args: string[],
  options: { columns: number; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliResult> {
  const command = `stty cols ${options.columns} rows 40; exec ${quote(process.execPath)} ${[BIN, ...args].map(quote).join(' ')}`;
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qefc', command, '/dev/null'],
      {
        env: { ...(options.env ?? OFFLINE_ENV), TERM: 'xterm' },
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 16 << 20,
      },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/**
 * Starts `bananaflow ...args` on a real pseudo-terminal and returns what the terminal shows so
 * far, a way to type into it (`\x03` is Ctrl-C: the terminal sends SIGINT), and its exit.
 */
export function startCliInTerminal(
  args: string[],
  options: { columns: number; env?: NodeJS.ProcessEnv },
) {
  const command = `stty cols ${options.columns} rows 40; exec ${quote(process.execPath)} ${[BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    env: { ...(options.env ?? OFFLINE_ENV), TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const screen = { text: '' };
  child.stdout.on('data', (chunk) => {
    screen.text += chunk;
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    screen,
    type: (keys: string) => child.stdin.write(keys),
    exit,
    kill: () => child.kill(),
  };
}
