import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../infra/emulator/pubsub-emulator.ts';
import { DEFAULT_FUNCTIONS, packageFunctions } from '../infra/package/package-functions.ts';
import { readZip } from '../infra/package/zip.ts';
import { type BenchContext, type BenchRow, kib, median, ms } from './results.ts';

/**
 * Row 3: cold start of each packaged function, measured to the FIRST EVENT ANSWERED (process
 * start → the framework serves → the first event builds the instance's clients and is answered),
 * against a floor function under the same framework that does the least the same start needs:
 * on its first event it constructs the same clients (the Pub/Sub client; the worker also the
 * Gemini SDK's client) and reads one object from the bucket folder. The zips from
 * `packageFunctions` are unpacked into a temp folder whose node_modules is a symlink to the
 * repository's (no npm install). Readiness (port accepts) is kept in the notes.
 */

export const TARGET = 2;
const ROUNDS = 5;
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const FRAMEWORK_MAIN = join(
  'node_modules',
  '@google-cloud',
  'functions-framework',
  'build',
  'src',
  'main.js',
);
const READY_TIMEOUT_MS = 30_000;
const execFileAsync = promisify(execFile);

const HELLO_INDEX = `import * as functions from '@google-cloud/functions-framework';
functions.cloudEvent('hello', () => {});
`;

/**
 * The floor: the framework, then on the first event the clients the function builds (imported
 * lazily, as the functions do) and one object read. `WORKER` adds the Gemini client.
 */
const GEMINI_CLIENT =
  "const { GoogleGenAI } = await import('@google/genai'); made.push(new GoogleGenAI({ apiKey: 'bench' }));";
const floorIndex = (
  worker: boolean,
  objectPath: string,
) => `import * as functions from '@google-cloud/functions-framework';
import { readFile } from 'node:fs/promises';
let clients;
functions.cloudEvent('floor', async () => {
  clients ??= (async () => {
    const { PubSub } = await import('@google-cloud/pubsub');
    const made = [new PubSub()];
    ${worker ? GEMINI_CLIENT : ''}
    return made;
  })();
  await clients;
  await readFile(${JSON.stringify(objectPath)});
});
`;

interface Target {
  name: string;
  dir: string;
  entryPoint: string;
  /** CloudEvent type of the first event sent (the handler returns on it without real work). */
  eventType: string;
}

interface Start {
  readyMs: number;
  firstEventMs: number;
  firstEventStatus: number;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGKILL');
  await exited;
}

/** Starts the framework on the target, times readiness and one event, and stops it. */
async function coldStart(target: Target, env: NodeJS.ProcessEnv): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(target.dir, FRAMEWORK_MAIN),
      `--target=${target.entryPoint}`,
      '--signature-type=cloudevent',
      `--port=${port}`,
      `--source=${target.dir}`,
    ],
    { cwd: target.dir, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  try {
    for (;;) {
      if (await portAnswers(port)) break;
      if (child.exitCode !== null || performance.now() - started > READY_TIMEOUT_MS) {
        throw new Error(
          `cold-start: ${target.name} did not serve (exit ${child.exitCode}): ${stderr}`,
        );
      }
      await new Promise((done) => setTimeout(done, 2));
    }
    const readyMs = performance.now() - started;
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-id': 'bench-1',
        'ce-specversion': '1.0',
        'ce-source': '//bench',
        'ce-type': target.eventType,
      },
      body: '{}',
    });
    await response.arrayBuffer();
    return {
      readyMs,
      firstEventMs: performance.now() - started,
      firstEventStatus: response.status,
    };
  } finally {
    await stop(child);
  }
}

const FRAMEWORK = '@google-cloud/functions-framework';

/** Median time to import one package in a fresh node that has already loaded the framework. */
async function importCost(dir: string, pkg: string, env: NodeJS.ProcessEnv): Promise<number> {
  const code =
    `await import(${JSON.stringify(FRAMEWORK)}); const t = performance.now(); ` +
    `await import(${JSON.stringify(pkg)}); console.log(performance.now() - t);`;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: dir,
      env,
    });
    times.push(Number(stdout.trim()));
  }
  return median(times);
}

/** External packages a bundle imports statically (loaded before the framework serves). */
function staticPackages(code: string): string[] {
  const found = new Set<string>();
  for (const match of code.matchAll(/import[^;()"]{0,200}?from\s*"([^"]+)"/g)) {
    const specifier = match[1] ?? '';
    if (specifier.startsWith('node:') || specifier.startsWith('.')) continue;
    const parts = specifier.split('/');
    const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
    // Bare built-ins ("fs", "path") are not packages.
    if (!isBuiltin(name)) found.add(name);
  }
  return [...found].sort();
}

export async function coldStartRow(ctx: BenchContext): Promise<BenchRow[]> {
  const title = 'Cold start of the packaged functions';
  const missing: string[] = [];
  for (const fn of DEFAULT_FUNCTIONS) {
    await access(join(ROOT, fn.entry)).catch(() => missing.push(fn.entry));
  }
  if (missing.length > 0) {
    return [
      {
        id: 'cold-start',
        title,
        figure: '–',
        floor: '–',
        target: `≤ ${TARGET}× hello world`,
        holds: 'skipped',
        notes: `skipped: not yet packaged (${missing.join(', ')} missing).`,
      },
    ];
  }
  const work = await mkdtemp(join(tmpdir(), 'bananaflow-bench-cold-'));
  try {
    ctx.log('cold-start: packaging the functions');
    const manifest = await packageFunctions({
      rootDir: ROOT,
      outDir: join(work, 'dist'),
      log: () => undefined,
    });
    const targets: Target[] = [];
    const staticImports = new Map<string, string[]>();
    const nodeModules = join(ROOT, 'node_modules');
    const hello = join(work, 'hello');
    await mkdir(hello);
    await writeFile(join(hello, 'index.js'), HELLO_INDEX);
    await writeFile(
      join(hello, 'package.json'),
      JSON.stringify({ name: 'hello', type: 'module', main: 'index.js' }),
    );
    await symlink(nodeModules, join(hello, 'node_modules'), 'dir');
    targets.push({
      name: 'hello world',
      dir: hello,
      entryPoint: 'hello',
      eventType: 'bench.hello',
    });
    // Local folders as buckets, with one object for the floors to read.
    const buckets = join(work, 'buckets');
    await mkdir(join(buckets, 'input'), { recursive: true });
    await mkdir(join(buckets, 'output'), { recursive: true });
    const object = join(buckets, 'input', 'one.json');
    await writeFile(object, '{}');
    for (const kind of ['floor', 'floor worker'] as const) {
      const dir = join(work, kind.replace(' ', '-'));
      await mkdir(dir);
      await writeFile(join(dir, 'index.js'), floorIndex(kind === 'floor worker', object));
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'floor', type: 'module', main: 'index.js' }),
      );
      await symlink(nodeModules, join(dir, 'node_modules'), 'dir');
      targets.push({ name: kind, dir, entryPoint: 'floor', eventType: 'bench.floor' });
    }
    for (const fn of DEFAULT_FUNCTIONS) {
      const entry = manifest[fn.name];
      if (!entry) throw new Error(`cold-start: ${fn.name} missing from the manifest`);
      const dir = join(work, fn.name);
      await mkdir(dir);
      for (const file of readZip(await readFile(join(work, 'dist', entry.zip)))) {
        await writeFile(join(dir, file.name), file.data);
      }
      await symlink(nodeModules, join(dir, 'node_modules'), 'dir');
      staticImports.set(fn.name, staticPackages(await readFile(join(dir, 'index.js'), 'utf8')));
      targets.push({
        name: fn.name,
        dir,
        entryPoint: entry.entryPoint,
        // ingest ignores other event types; worker and dead-letter acknowledge an unusable message.
        eventType:
          fn.name === 'ingest'
            ? 'bench.not-a-storage-event'
            : 'google.cloud.pubsub.topic.v1.messagePublished',
      });
    }

    // Local folders as buckets and an unreachable emulator: nothing leaves this machine.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      GEMINI_API_KEY: 'bench',
      GOOGLE_CLOUD_PROJECT: 'bench',
      PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
      METADATA_SERVER_DETECTION: 'none',
      BANANAFLOW_INPUT_BUCKET: 'input',
      BANANAFLOW_OUTPUT_BUCKET: 'output',
      BANANAFLOW_LOCAL_BUCKET_ROOTS: JSON.stringify({
        input: join(buckets, 'input'),
        output: join(buckets, 'output'),
      }),
    };

    const starts = new Map<string, Start[]>(targets.map((t) => [t.name, []]));
    // Warm the page cache once, then interleave the targets round by round.
    for (const target of targets) await coldStart(target, env);
    ctx.log(`cold-start: ${ROUNDS} rounds of ${targets.length} cold starts`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) starts.get(target.name)?.push(await coldStart(target, env));
    }

    const summary = (name: string) => {
      const runs = starts.get(name) ?? [];
      return {
        readyMs: median(runs.map((r) => r.readyMs)),
        firstEventMs: median(runs.map((r) => r.firstEventMs)),
        statuses: [...new Set(runs.map((r) => r.firstEventStatus))],
        runs,
      };
    };
    const baseline = summary('hello world');
    // What each statically imported package adds before the port opens (framework already loaded).
    const importCosts = new Map<string, number>();
    for (const fn of DEFAULT_FUNCTIONS) {
      const dir = targets.find((t) => t.name === fn.name)?.dir ?? work;
      for (const pkg of staticImports.get(fn.name) ?? []) {
        if (pkg === FRAMEWORK || importCosts.has(pkg)) continue;
        importCosts.set(pkg, await importCost(dir, pkg, env));
      }
    }
    const importNote = (name: string) =>
      (staticImports.get(name) ?? [])
        .filter((pkg) => importCosts.has(pkg))
        .map((pkg) => `importing ${pkg} alone takes ${ms(importCosts.get(pkg) ?? 0)}`)
        .join('; ');
    const rows: BenchRow[] = [];
    for (const fn of DEFAULT_FUNCTIONS) {
      const entry = manifest[fn.name];
      const s = summary(fn.name);
      const floor = summary(fn.name === 'worker' ? 'floor worker' : 'floor');
      const value = s.firstEventMs / floor.firstEventMs;
      rows.push({
        id: 'cold-start',
        title: `Cold start: ${fn.name}`,
        figure: `${ms(s.firstEventMs)} to first event answered`,
        floor: `${ms(floor.firstEventMs)} floor (same clients + one read)`,
        ratio: value,
        target: `≤ ${TARGET}×`,
        holds: value <= TARGET,
        notes:
          `bundle ${kib(entry?.bundleBytes ?? 0)}, zip ${kib(entry?.bytes ?? 0)} (+ ${Object.keys(entry?.dependencies ?? {}).join(', ')} installed). ` +
          `Process start → first event answered (${s.statuses.join('/')}); median of ${ROUNDS}. The floor function builds ${fn.name === 'worker' ? 'the Pub/Sub and Gemini clients' : 'the Pub/Sub client'} on its first event and reads one object. ` +
          `Port ready at ${ms(s.readyMs)} (floor ${ms(floor.readyMs)}, hello world ${ms(baseline.readyMs)}; hello's first event ${ms(baseline.firstEventMs)}). ` +
          `Packages loaded at start (static imports): ${(staticImports.get(fn.name) ?? []).join(', ') || 'none'}` +
          `${importNote(fn.name) ? ` (${importNote(fn.name)}, median of 3 fresh processes)` : ''}.`,
        data: {
          bundleBytes: entry?.bundleBytes,
          zipBytes: entry?.bytes,
          dependencies: entry?.dependencies,
          staticImports: staticImports.get(fn.name),
          importCostMs: Object.fromEntries(
            (staticImports.get(fn.name) ?? [])
              .filter((pkg) => importCosts.has(pkg))
              .map((pkg) => [pkg, importCosts.get(pkg)]),
          ),
          ...s,
          floorReadyMs: floor.readyMs,
          floorFirstEventMs: floor.firstEventMs,
          helloReadyMs: baseline.readyMs,
          helloFirstEventMs: baseline.firstEventMs,
        },
      });
    }
    return rows;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
