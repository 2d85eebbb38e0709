import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { FUNCTIONS } from '../../functions/function-table.ts';
import { createZip } from './zip.ts';

/**
 * `npm run package`: bundles each Cloud Run function (gen2) with esbuild into one ESM file and
 * zips it with a generated package.json, as dist/functions/<name>-<hash>.zip, plus
 * dist/functions/manifest.json that Terraform reads (package_manifest_path).
 *
 * Kept out of the bundle and listed as dependencies (Cloud Build runs `npm install` for them):
 * - @google-cloud/functions-framework: the runtime starts the framework from node_modules and
 *   looks the entry point up in ITS registry; a bundled copy would register into a different
 *   registry and the function would not be found.
 * - @google-cloud/* client libraries: google-gax loads proto files relative to __dirname,
 *   which does not survive bundling into ESM.
 * - sharp: native binaries, installed per platform.
 */

export interface FunctionSpec {
  /** Function name, also the zip's base name and the manifest key (e.g. "dead-letter"). */
  name: string;
  /** Entry file, relative to rootDir. */
  entry: string;
  /** Name the entry registers with functions.cloudEvent / functions.http (build entry_point). */
  entryPoint: string;
}

export interface ManifestEntry {
  /** Zip file name, relative to the manifest's directory. */
  zip: string;
  sha256: string;
  bytes: number;
  entryPoint: string;
  /** Size of the bundled index.js. */
  bundleBytes: number;
  /** Dependencies the zip's package.json lists (installed by Cloud Build). */
  dependencies: Record<string, string>;
}

export type Manifest = Record<string, ManifestEntry>;

export interface PackageOptions {
  rootDir: string;
  outDir: string;
  functions?: readonly FunctionSpec[];
  /** Where size lines go; default console.log. */
  log?: (line: string) => void;
}

/** Every function of the function table (functions/function-table.ts). */
export const DEFAULT_FUNCTIONS: readonly FunctionSpec[] = FUNCTIONS;

export const FUNCTIONS_FRAMEWORK = '@google-cloud/functions-framework';
/** esbuild `external` patterns; see the file comment for why each one stays out. */
export const EXTERNAL_PATTERNS: readonly string[] = ['sharp', '@google-cloud/*'];
export const NODE_ENGINE = '>=22';
export const MANIFEST_FILE = 'manifest.json';
const HASH_LENGTH_IN_NAME = 16;

/** ESM output still meets CommonJS dependencies that call require() for Node built-ins. */
const REQUIRE_SHIM =
  "import { createRequire as __bananaflowCreateRequire } from 'node:module';\n" +
  'const require = __bananaflowCreateRequire(import.meta.url);';

const builtins = new Set(builtinModules);

function isExplicitExternal(pkg: string): boolean {
  return EXTERNAL_PATTERNS.some((pattern) =>
    pattern.endsWith('/*') ? pkg.startsWith(pattern.slice(0, -1)) : pkg === pattern,
  );
}

function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || builtins.has(specifier.split('/')[0] ?? '')) {
    return undefined;
  }
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

interface RootPackage {
  version?: string;
  dependencies?: Record<string, string>;
}

function isRecordOfStrings(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

async function readRootPackage(rootDir: string): Promise<RootPackage> {
  const parsed: unknown = JSON.parse(await readFile(join(rootDir, 'package.json'), 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('package.json: not an object');
  const record = parsed as Record<string, unknown>;
  return {
    ...(typeof record.version === 'string' ? { version: record.version } : {}),
    ...(isRecordOfStrings(record.dependencies) ? { dependencies: record.dependencies } : {}),
  };
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Bundles, zips and writes the manifest. Returns the manifest. */
export async function packageFunctions(options: PackageOptions): Promise<Manifest> {
  const rootDir = resolve(options.rootDir);
  const outDir = resolve(options.outDir);
  const functions = options.functions ?? DEFAULT_FUNCTIONS;
  const log = options.log ?? ((line: string) => console.log(line));
  const root = await readRootPackage(rootDir);
  checkNames(functions);
  await mkdir(outDir, { recursive: true });
  const manifest: Manifest = {};
  for (const fn of functions) {
    const { code, externals } = await bundle(fn, rootDir, outDir, log);
    const packageJson = {
      name: `bananaflow-${fn.name}`,
      version: root.version ?? '0.0.0',
      private: true,
      type: 'module',
      main: 'index.js',
      engines: { node: NODE_ENGINE },
      dependencies: sortedRecord(pinned(fn, externals, root.dependencies ?? {})),
    };
    const zip = createZip([
      { name: 'index.js', data: code },
      { name: 'package.json', data: Buffer.from(`${JSON.stringify(packageJson, null, 2)}\n`) },
    ]);
    const { zipName, sha256 } = await writeZip(fn, outDir, zip);
    manifest[fn.name] = {
      zip: zipName,
      sha256,
      bytes: zip.length,
      entryPoint: fn.entryPoint,
      bundleBytes: code.length,
      dependencies: packageJson.dependencies,
    };
    log(
      `${fn.name.padEnd(12)} bundle ${kib(code.length).padStart(10)}  zip ${kib(zip.length).padStart(10)}  ${relative(process.cwd(), join(outDir, zipName))}`,
    );
  }
  await writeFile(join(outDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`manifest     ${relative(process.cwd(), join(outDir, MANIFEST_FILE))}`);
  return manifest;
}

function checkNames(functions: readonly FunctionSpec[]): void {
  const names = new Set<string>();
  for (const fn of functions) {
    if (!/^[a-z][a-z0-9-]*$/.test(fn.name)) throw new Error(`Invalid function name: ${fn.name}`);
    if (names.has(fn.name)) throw new Error(`Duplicate function name: ${fn.name}`);
    names.add(fn.name);
  }
}

/** One ESM file for the function, and the external packages it still imports. */
async function bundle(
  fn: FunctionSpec,
  rootDir: string,
  outDir: string,
  log: (line: string) => void,
): Promise<{ code: Buffer; externals: Set<string> }> {
  const entryFile = resolve(rootDir, fn.entry);
  await access(entryFile).catch(() => {
    throw new Error(`${fn.name}: entry file ${fn.entry} not found under ${rootDir}`);
  });
  const result = await build({
    absWorkingDir: rootDir,
    entryPoints: [entryFile],
    outfile: join(outDir, `${fn.name}.js`),
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    external: [...EXTERNAL_PATTERNS],
    banner: { js: REQUIRE_SHIM },
    logLevel: 'warning',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced no output for ${fn.name}`);
  // Every external package the bundle still imports must be installed by Cloud Build.
  const externals = new Set<string>([FUNCTIONS_FRAMEWORK]);
  for (const meta of Object.values(result.metafile.outputs)) {
    for (const imported of meta.imports) {
      const pkg = imported.external ? packageNameOf(imported.path) : undefined;
      if (!pkg) continue;
      // esbuild also leaves out a require() inside try/catch that does not resolve (an optional
      // dependency such as debug's supports-color): the code runs without it, so do not list it.
      if (!isExplicitExternal(pkg)) {
        log(`  ${fn.name}: optional ${pkg} left out (unresolved require inside try/catch)`);
        continue;
      }
      externals.add(pkg);
    }
  }
  return { code: Buffer.from(output.contents), externals };
}

/** The root package.json's version range of each external package. */
function pinned(
  fn: FunctionSpec,
  externals: Set<string>,
  rootDependencies: Record<string, string>,
): Record<string, string> {
  const dependencies: Record<string, string> = {};
  for (const pkg of externals) {
    const range = rootDependencies[pkg];
    if (!range) {
      throw new Error(
        `${fn.name} imports ${pkg}, which is external but not in the root package.json dependencies`,
      );
    }
    dependencies[pkg] = range;
  }
  return dependencies;
}

/** Writes the zip under its content-hash name, dropping this function's earlier zips. */
async function writeZip(fn: FunctionSpec, outDir: string, zip: Buffer) {
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const zipName = `${fn.name}-${sha256.slice(0, HASH_LENGTH_IN_NAME)}.zip`;
  // dist/ only holds what the manifest names.
  const stale = new RegExp(`^${fn.name}-[0-9a-f]{${HASH_LENGTH_IN_NAME}}\\.zip$`);
  for (const file of await readdir(outDir)) {
    if (stale.test(file) && file !== zipName) await rm(join(outDir, file));
  }
  await writeFile(join(outDir, zipName), zip);
  return { zipName, sha256 };
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const rootDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  packageFunctions({ rootDir, outDir: join(rootDir, 'dist', 'functions') }).catch(
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
