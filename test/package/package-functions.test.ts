import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_FUNCTIONS,
  type FunctionSpec,
  type Manifest,
  packageFunctions,
} from '../../infra/package/package-functions.ts';
import { createZip, readZip } from '../../infra/package/zip.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rootPackage = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const FF = '@google-cloud/functions-framework';

const STUBS: FunctionSpec[] = [
  { name: 'alpha', entry: 'src/alpha/index.ts', entryPoint: 'alpha' },
  { name: 'beta-fn', entry: 'src/beta/index.ts', entryPoint: 'betaFn' },
];

async function writeStubProject(dir: string, greeting: string): Promise<void> {
  await mkdir(join(dir, 'src', 'alpha'), { recursive: true });
  await mkdir(join(dir, 'src', 'beta'), { recursive: true });
  await mkdir(join(dir, 'src', 'lib'), { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'stub-root',
      version: '1.2.3',
      type: 'module',
      dependencies: {
        [FF]: rootPackage.dependencies[FF],
        sharp: '^0.35.5',
        '@google-cloud/storage': '^7.22.0',
      },
    }),
  );
  await writeFile(
    join(dir, 'src', 'lib', 'greet.ts'),
    `export const greet = (who: string): string => \`${greeting}, \${who}\`;\n`,
  );
  await writeFile(
    join(dir, 'src', 'alpha', 'index.ts'),
    [
      `import * as functions from '${FF}';`,
      `import { greet } from '../lib/greet.ts';`,
      `functions.cloudEvent('alpha', (event) => { console.log(greet(String(event.id))); });`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'src', 'beta', 'index.ts'),
    [
      `import * as functions from '${FF}';`,
      `import sharp from 'sharp';`,
      `import { Storage } from '@google-cloud/storage';`,
      `functions.cloudEvent('betaFn', async () => { console.log(typeof sharp, typeof Storage); });`,
      '',
    ].join('\n'),
  );
}

function entry(manifest: Manifest, name: string) {
  const value = manifest[name];
  if (!value) throw new Error(`manifest has no ${name}`);
  return value;
}

async function unzipFile(path: string): Promise<Map<string, Buffer>> {
  const entries = readZip(await readFile(path));
  return new Map(entries.map((e) => [e.name, e.data]));
}

function packageJsonOf(files: Map<string, Buffer>): {
  type: string;
  main: string;
  engines: { node: string };
  dependencies: Record<string, string>;
} {
  const raw = files.get('package.json');
  if (!raw) throw new Error('zip has no package.json');
  return JSON.parse(raw.toString('utf8'));
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

describe('zip archives (fflate)', () => {
  it('round-trips entries, sorted, and is byte-for-byte deterministic', () => {
    const files = [
      { name: 'b.txt', data: Buffer.from('b'.repeat(1000)) },
      { name: 'a/x.bin', data: Buffer.from([1, 2, 3]) },
    ];
    const zip = createZip(files);
    expect(createZip([...files].reverse()).equals(zip)).toBe(true);
    const back = readZip(zip);
    expect(back.map((e) => e.name)).toEqual(['a/x.bin', 'b.txt']);
    expect(back[1]?.data.toString()).toBe('b'.repeat(1000));
    expect(() => createZip([{ name: '../evil', data: Buffer.alloc(1) }])).toThrow(/Invalid/);
  });

  it('refuses duplicate names, and a cut-off archive', () => {
    const file = { name: 'a.txt', data: Buffer.from('hello hello hello hello') };
    expect(() => createZip([file, file])).toThrow(/Duplicate/);
    const zip = createZip([file]);
    expect(() => readZip(zip.subarray(0, zip.length - 10))).toThrow();
  });
});

describe('packageFunctions', () => {
  let work: string;
  let project: string;
  let first: Manifest;
  let firstOut: string;
  const logs: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'bananaflow-package-'));
    project = join(work, 'project');
    await writeStubProject(project, 'Hello');
    firstOut = join(work, 'out1');
    first = await packageFunctions({
      rootDir: project,
      outDir: firstOut,
      functions: STUBS,
      log: (line) => logs.push(line),
    });
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('declares the pipeline functions with their registered entry points', () => {
    expect(DEFAULT_FUNCTIONS.map((f) => [f.name, f.entry, f.entryPoint])).toEqual([
      ['ingest', 'functions/ingest/index.ts', 'ingest'],
      ['worker', 'functions/worker/index.ts', 'worker'],
      ['dead-letter', 'functions/dead-letter/index.ts', 'deadLetter'],
      ['requests', 'functions/requests/index.ts', 'requests'],
      ['budget-guard', 'functions/budget-guard/index.ts', 'budgetGuard'],
      ['batch-tick', 'functions/batch-tick/index.ts', 'batchTick'],
    ]);
  });

  it('writes one hash-named zip per function and a manifest that matches the files', async () => {
    expect(Object.keys(first).sort()).toEqual(['alpha', 'beta-fn']);
    const onDisk = JSON.parse(await readFile(join(firstOut, 'manifest.json'), 'utf8'));
    expect(onDisk).toEqual(first);
    for (const spec of STUBS) {
      const e = entry(first, spec.name);
      expect(e.entryPoint).toBe(spec.entryPoint);
      expect(e.zip).toMatch(new RegExp(`^${spec.name}-[0-9a-f]{16}\\.zip$`));
      expect(e.sha256.startsWith(e.zip.slice(spec.name.length + 1, -4))).toBe(true);
      const bytes = await readFile(join(firstOut, e.zip));
      expect(bytes.length).toBe(e.bytes);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(e.sha256);
    }
    expect(logs.some((l) => l.startsWith('alpha') && /bundle .*KiB.*zip .*KiB/.test(l))).toBe(true);
  });

  it('zips exactly index.js and a package.json the runtime can install', async () => {
    const alpha = await unzipFile(join(firstOut, entry(first, 'alpha').zip));
    const beta = await unzipFile(join(firstOut, entry(first, 'beta-fn').zip));
    expect([...alpha.keys()]).toEqual(['index.js', 'package.json']);
    expect([...beta.keys()]).toEqual(['index.js', 'package.json']);

    const alphaPkg = packageJsonOf(alpha);
    expect(alphaPkg.type).toBe('module');
    expect(alphaPkg.main).toBe('index.js');
    expect(alphaPkg.engines.node).toBe('>=22');
    // Only what the bundle imports, at the root package.json's version.
    expect(alphaPkg.dependencies).toEqual({ [FF]: rootPackage.dependencies[FF] });

    const betaPkg = packageJsonOf(beta);
    expect(betaPkg.dependencies).toEqual({
      '@google-cloud/storage': '^7.22.0',
      [FF]: rootPackage.dependencies[FF],
      sharp: '^0.35.5',
    });
    expect(entry(first, 'beta-fn').dependencies).toEqual(betaPkg.dependencies);

    const alphaCode = alpha.get('index.js')?.toString('utf8') ?? '';
    const betaCode = beta.get('index.js')?.toString('utf8') ?? '';
    // Local code is bundled in; externals stay imports.
    expect(alphaCode).toContain('Hello');
    expect(alphaCode).not.toMatch(/from\s*["']\.\.?\//);
    expect(betaCode).toMatch(/from\s*["']sharp["']/);
    expect(betaCode).toMatch(/from\s*["']@google-cloud\/storage["']/);
    expect(betaCode).not.toContain('Hello');
  });

  it('is reproducible: the same sources give the same bytes and hashes', async () => {
    const again = await packageFunctions({
      rootDir: project,
      outDir: join(work, 'out2'),
      functions: STUBS,
      log: () => {},
    });
    expect(again).toEqual(first);
  });

  it('changes the hash (and only that function’s) when its source changes', async () => {
    const changed = join(work, 'project-changed');
    await writeStubProject(changed, 'Bonjour');
    const out = join(work, 'out3');
    const manifest = await packageFunctions({
      rootDir: changed,
      outDir: out,
      functions: STUBS,
      log: () => {},
    });
    expect(entry(manifest, 'alpha').sha256).not.toBe(entry(first, 'alpha').sha256);
    expect(entry(manifest, 'alpha').zip).not.toBe(entry(first, 'alpha').zip);
    expect(entry(manifest, 'beta-fn').sha256).toBe(entry(first, 'beta-fn').sha256);
  });

  it('removes the previous zip of a function when it is repackaged', async () => {
    const dir = join(work, 'project-rezip');
    await writeStubProject(dir, 'Hello');
    const out = join(work, 'out4');
    const before = await packageFunctions({
      rootDir: dir,
      outDir: out,
      functions: STUBS,
      log: () => {},
    });
    await writeFile(
      join(dir, 'src', 'lib', 'greet.ts'),
      "export const greet = (w: string) => 'Hi ' + w;\n",
    );
    const after = await packageFunctions({
      rootDir: dir,
      outDir: out,
      functions: STUBS,
      log: () => {},
    });
    expect(entry(after, 'alpha').zip).not.toBe(entry(before, 'alpha').zip);
    expect((await readdir(out)).sort()).toEqual(
      [entry(after, 'alpha').zip, entry(after, 'beta-fn').zip, 'manifest.json'].sort(),
    );
  });

  it('fails when a bundle needs an external package the root does not depend on', async () => {
    const dir = join(work, 'project-missing');
    await writeStubProject(dir, 'Hello');
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'x', version: '1.0.0', dependencies: { [FF]: '^5.0.0' } }),
    );
    await expect(
      packageFunctions({
        rootDir: dir,
        outDir: join(work, 'out5'),
        functions: STUBS,
        log: () => {},
      }),
    ).rejects.toThrow(/sharp.*not in the root package.json/);
  });

  it('names a missing entry file instead of failing inside esbuild', async () => {
    await expect(
      packageFunctions({
        rootDir: project,
        outDir: join(work, 'out6'),
        functions: [{ name: 'ghost', entry: 'src/ghost/index.ts', entryPoint: 'ghost' }],
        log: () => {},
      }),
    ).rejects.toThrow(/ghost: entry file src\/ghost\/index\.ts not found/);
  });

  it('produces archives an independent unzip accepts', (ctx) => {
    const probe = spawnSync('unzip', ['-v'], { encoding: 'utf8' });
    if (probe.error) {
      ctx.skip(); // no unzip binary on this machine: the in-repo reader above still checks contents
      return;
    }
    for (const spec of STUBS) {
      const check = spawnSync('unzip', ['-t', join(firstOut, entry(first, spec.name).zip)], {
        encoding: 'utf8',
      });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toMatch(/No errors detected/);
    }
  });

  it('starts under the Functions Framework the way the runtime does and serves the entry point', async () => {
    // Extract the zip, resolve the externals from the repository's node_modules (what Cloud
    // Build's npm install provides), and let the framework load package.json "main".
    const app = join(work, 'app-alpha');
    await mkdir(app, { recursive: true });
    for (const [name, data] of await unzipFile(join(firstOut, entry(first, 'alpha').zip))) {
      await writeFile(join(app, name), data);
    }
    await symlink(join(repoRoot, 'node_modules'), join(app, 'node_modules'), 'dir');
    const port = await freePort();
    const child: ChildProcess = spawn(
      process.execPath,
      [
        join(repoRoot, 'node_modules', FF, 'build', 'src', 'main.js'),
        '--target=alpha',
        '--signature-type=cloudevent',
        `--port=${port}`,
      ],
      { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    try {
      // Until the server listens, the POST fails (0); then it answers the event once.
      const status = async () => {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/`, {
            method: 'POST',
            headers: { 'content-type': 'application/cloudevents+json' },
            body: JSON.stringify({
              specversion: '1.0',
              id: 'evt-42',
              source: '//test',
              type: 'test.event',
              data: {},
            }),
          });
          return response.status;
        } catch {
          return 0;
        }
      };
      const answered = await vi.waitFor(
        async () => {
          const code = await status();
          if (code === 0) throw new Error('not listening yet');
          return code;
        },
        { timeout: 10_000, interval: 100 },
      );
      expect(answered, output).toBe(204);
      await expect.poll(() => output, { timeout: 5_000, interval: 50 }).toContain('Hello, evt-42');
    } finally {
      child.kill();
    }
  });
});
