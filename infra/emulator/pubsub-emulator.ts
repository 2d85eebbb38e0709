import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Starts and stops the real Pub/Sub emulator (Java) for tests and the local stack.
 *
 * Why process groups: `gcloud beta emulators pubsub start` launches a Java child, and killing
 * gcloud leaves Java running with the port taken. We start the emulator's own launcher (which
 * `exec`s java) in a new process group and always kill the whole group.
 */

export interface PubSubEmulator {
  /** host:port for `new PubSub({ apiEndpoint: host, projectId })` or PUBSUB_EMULATOR_HOST. */
  host: string;
  projectId: string;
  /** Milliseconds from spawn until the emulator answered. */
  startupMs: number;
  /** Kills the emulator's whole process group and resolves when it has exited. */
  stop(): Promise<void>;
}

export interface StartPubSubEmulatorOptions {
  /** Default: a free port. */
  port?: number;
  /** Default: 'bananaflow-test'. The emulator accepts any project id. */
  projectId?: string;
  /** Default: 60 s (the launcher serves in ~1-6 s, the gcloud wrapper in ~10 s). */
  startTimeoutMs?: number;
}

const DEFAULT_PROJECT_ID = 'bananaflow-test';
const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
/** Emulator output kept for the error message when it fails to start. */
const OUTPUT_TAIL_CHARS = 4_000;

const execFileAsync = promisify(execFile);

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: keep looking
    }
  }
  return undefined;
}

function javaPresent(): boolean {
  const home = process.env.JAVA_HOME;
  if (home !== undefined && existsSync(path.join(home, 'bin', 'java'))) return true;
  return onPath('java') !== undefined;
}

/** Whether the emulator can run here (gcloud on PATH and Java present), and if not, why. Cheap. */
export function pubsubEmulatorAvailable(): { ok: boolean; why?: string } {
  if (onPath('gcloud') === undefined) {
    return {
      ok: false,
      why: 'gcloud is not on PATH (install the Google Cloud CLI with the pubsub-emulator component)',
    };
  }
  if (!javaPresent()) {
    return { ok: false, why: 'Java is not installed (the Pub/Sub emulator is a Java program)' };
  }
  return { ok: true };
}

let sdkRootLookup: Promise<string> | undefined;

/** `gcloud info` takes about a second: ask once per process. */
function sdkRoot(): Promise<string> {
  sdkRootLookup ??= execFileAsync('gcloud', ['info', '--format=value(installation.sdk_root)']).then(
    ({ stdout }) => stdout.trim(),
  );
  return sdkRootLookup;
}

/** Asks the OS for a free port. Another process could take it before the emulator binds; unlikely. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The emulator answers `GET /` with 200 "Ok" once it serves. */
function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(`http://${host}/`, { timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // group already gone
  }
}

/**
 * Starts the Pub/Sub emulator on 127.0.0.1 and resolves once it answers. Prefers the emulator's
 * own launcher (serves in about a second); falls back to `gcloud beta emulators pubsub start`.
 */
export async function startPubSubEmulator(
  options: StartPubSubEmulatorOptions = {},
): Promise<PubSubEmulator> {
  const available = pubsubEmulatorAvailable();
  if (!available.ok) throw new Error(`Pub/Sub emulator unavailable: ${available.why}`);
  const projectId = options.projectId ?? DEFAULT_PROJECT_ID;
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const [command, args] = await emulatorCommand(port, projectId);
  const started = Date.now();
  // detached: the child leads a new process group, so one kill reaches java and any wrapper.
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const life = watchEmulator(child, host);
  const deadline = started + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  while (!(await answers(host))) {
    if (life.failure() !== undefined || life.hasExited() || Date.now() > deadline) {
      await life.stop();
      const reason =
        life.failure()?.message ??
        (life.hasExited() ? `exited with code ${child.exitCode}` : 'did not answer in time');
      throw new Error(`Pub/Sub emulator on ${host} ${reason}. Output:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { host, projectId, startupMs: Date.now() - started, stop: life.stop };
}

/** The emulator's own launcher when the SDK has it, else gcloud. */
async function emulatorCommand(port: number, projectId: string): Promise<[string, string[]]> {
  const launcher = path.join(
    await sdkRoot(),
    'platform',
    'pubsub-emulator',
    'bin',
    'cloud-pubsub-emulator',
  );
  if (existsSync(launcher)) return [launcher, ['--host=127.0.0.1', `--port=${port}`]];
  return [
    'gcloud',
    [
      'beta',
      'emulators',
      'pubsub',
      'start',
      `--host-port=127.0.0.1:${port}`,
      `--project=${projectId}`,
    ],
  ];
}

/** The emulator process's exit and spawn failure, and a stop that frees its port for sure. */
function watchEmulator(child: ChildProcess, host: string) {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = error;
  });
  // A test runner that exits without calling stop() must not leave Java holding the port.
  const onExit = () => {
    // Once the leader is reaped its pid (= the group id) may be reused: never signal it then.
    if (!hasExited) killGroup(child, 'SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.removeListener('exit', onExit);
    if (!hasExited) {
      killGroup(child, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
      });
      const outcome = await Promise.race([exited.then(() => 'exited' as const), graceOver]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        killGroup(child, 'SIGKILL');
        await exited;
      }
    }
    // With the gcloud fallback the leader is gcloud and Java a member of its group that may exit
    // after it: wait until nothing serves the port, and make sure of it.
    const until = Date.now() + STOP_GRACE_MS;
    while ((await answers(host)) && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (await answers(host)) killGroup(child, 'SIGKILL');
  };
  return { hasExited: () => hasExited, failure: () => failure, stop };
}
