import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Runs one function under the real functions framework, in its own process (and process group),
 * the way Cloud Run functions runs it: `functions-framework --target --signature-type --source`.
 * The TypeScript source is loaded as it is: the framework `import()`s the --source file (the
 * project is "type": "module"), and `node --import tsx` lets Node import .ts files.
 */

export interface FunctionProcessOptions {
  /** Name the entry registers (`functions.cloudEvent(target, ...)`). */
  target: string;
  /** The entry's .ts file. */
  source: string;
  /** Default 'cloudevent'. */
  signatureType?: 'cloudevent' | 'http';
  port: number;
  /** The whole environment of the process. */
  env: NodeJS.ProcessEnv;
  /** Each line the function prints (its JSON logs, the framework's errors). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Default 30 s. */
  startTimeoutMs?: number;
}

export interface FunctionProcess {
  target: string;
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  port: number;
  pid: number;
  /** Ms from spawn until the port accepted connections (includes loading the TS sources). */
  startupMs: number;
  /** Resolves when the process exits, whatever the reason (a crash test's SIGKILL included). */
  exited: Promise<void>;
  /** Kills the process group; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 3_000;
/** `--import tsx` is resolved from the working directory: run from the repository root. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
/** Makes the framework's listen() bind 127.0.0.1 (see the file). */
const LOOPBACK_PRELOAD = pathToFileURL(
  path.join(REPO_ROOT, 'infra', 'emulator', 'listen-on-loopback.mjs'),
).href;
/** The framework's CLI, next to its package entry (build/src/index.js; `exports` hides main.js). */
const FRAMEWORK_MAIN = path.join(
  path.dirname(require.resolve('@google-cloud/functions-framework')),
  'main.js',
);

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Starts the function and resolves once its port accepts connections. */
export async function startFunctionProcess(
  options: FunctionProcessOptions,
): Promise<FunctionProcess> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      // The framework has no host option; the stack's functions serve this machine only.
      '--import',
      LOOPBACK_PRELOAD,
      FRAMEWORK_MAIN,
      `--target=${options.target}`,
      `--signature-type=${options.signatureType ?? 'cloudevent'}`,
      `--source=${path.resolve(options.source)}`,
      `--port=${options.port}`,
    ],
    // detached: a new process group, so stop() reaches anything the function spawned too.
    { cwd: REPO_ROOT, detached: true, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = collectLines(child, options.onLine);
  const life = watchExit(child);
  const deadline = started + (options.startTimeoutMs ?? 30_000);
  while (!(await accepts(options.port))) {
    if (life.hasExited() || Date.now() > deadline) {
      await life.stop();
      throw new Error(
        `Function ${options.target} (${options.source}) ${life.hasExited() ? `exited with code ${child.exitCode}` : 'did not listen in time'}. Output:\n${output.tail()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    target: options.target,
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    pid: child.pid ?? -1,
    startupMs: Date.now() - started,
    exited: life.exited,
    stop: life.stop,
  };
}

/** Passes each line the child prints to `onLine`, keeping the last 4 KB for error messages. */
function collectLines(
  child: ChildProcess,
  onLine: FunctionProcessOptions['onLine'],
): { tail: () => string } {
  let tail = '';
  const lines = (stream: 'stdout' | 'stderr') => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        tail = `${tail}${line}\n`.slice(-4_000);
        onLine?.(line, stream);
      }
    };
  };
  child.stdout?.on('data', lines('stdout'));
  child.stderr?.on('data', lines('stderr'));
  return { tail: () => tail };
}

/** The child's exit, and a stop that ends its process group (SIGTERM, then SIGKILL). */
function watchExit(child: ChildProcess) {
  let exited = child.exitCode !== null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  // A parent that dies without stop() must not leave the function holding its port.
  const onExit = () => {
    if (!exited) killGroup(child, 'SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (exited) return;
    killGroup(child, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), STOP_GRACE_MS);
    });
    const outcome = await Promise.race([exit.then(() => 'exited' as const), grace]);
    clearTimeout(timer);
    if (outcome === 'late') {
      killGroup(child, 'SIGKILL');
      await exit;
    }
  };
  return { exited: exit, hasExited: () => exited, stop };
}
