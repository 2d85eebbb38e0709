import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * `npm run check` runs this: the shape rules of the code base, checked with the TypeScript parser.
 *   - no function in shared/, functions/ or infra/ over 100 lines;
 *   - at most 5 functions over 60 lines;
 *   - no import cycle (type-only imports included: they tie the modules' designs together);
 *   - the core (shared/ outside shared/adapters/) imports no cloud SDK and no functions framework.
 * Prints every violation and exits 1 when there is one.
 *
 * `shape-baseline.json` beside this file lists functions that were over a limit when the check
 * came in (file, name, lines), still to be split: each may not grow, and counts as allowed while
 * it stays listed. Splitting one means deleting its row; a row whose function shrank under the
 * limits or is gone is printed as a reminder (not a failure), so the list only gets shorter.
 */

export const LIMITS = { hardLines: 100, softLines: 60, maxSoft: 5 } as const;
const ROOTS = ['shared', 'functions', 'infra'];
const CLOUD_SDK = /^(@google-cloud\/|@google\/genai)/;

export interface FunctionSize {
  file: string;
  line: number;
  name: string;
  lines: number;
}

export interface ShapeReport {
  functions: FunctionSize[];
  cycles: string[][];
  coreSdkImports: Array<{ file: string; specifier: string }>;
  problems: string[];
}

function listTs(dir: string): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : listTs(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function functionName(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) {
    return parent.name.text;
  }
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) {
    return parent.name.text;
  }
  return '(anonymous)';
}

function isFunctionLike(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node)) &&
    node.body !== undefined
  );
}

/** Every function with a body, and its length in lines (from its first to its last line). */
export function functionSizes(file: string, source: ts.SourceFile): FunctionSize[] {
  const sizes: FunctionSize[] = [];
  const visit = (node: ts.Node) => {
    if (isFunctionLike(node)) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      sizes.push({ file, line: start + 1, name: functionName(node), lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sizes;
}

/** Module specifiers a file imports or re-exports, static or dynamic. */
export function importsOf(source: ts.SourceFile): string[] {
  const specifiers: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

/** Strongly connected components with more than one module (Tarjan), each sorted. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (node: string) => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, indices.get(next) ?? 0));
      }
    }
    if (low.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) {
      cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) connect(node);
  return cycles;
}

export interface BaselineRow {
  file: string;
  name: string;
  lines: number;
}

const key = (f: { file: string; name: string }) => `${f.file}#${f.name}`;

/** The violations of the size rules, given the baseline of functions still to be split. */
export function sizeProblems(
  functions: readonly FunctionSize[],
  baseline: readonly BaselineRow[] = [],
): string[] {
  const allowed = new Map(baseline.map((row) => [key(row), row]));
  const long = functions
    .filter((f) => f.lines > LIMITS.softLines)
    .sort((a, b) => b.lines - a.lines);
  const where = (f: FunctionSize) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`;
  const problems: string[] = [];
  const unlisted: FunctionSize[] = [];
  for (const f of long) {
    const row = allowed.get(key(f));
    if (row && f.lines > row.lines) {
      problems.push(`function grew past its baseline of ${row.lines} lines: ${where(f)}`);
    } else if (!row) {
      unlisted.push(f);
    }
  }
  for (const f of unlisted.filter((u) => u.lines > LIMITS.hardLines)) {
    problems.push(`function over ${LIMITS.hardLines} lines: ${where(f)}`);
  }
  const soft = unlisted.filter((u) => u.lines <= LIMITS.hardLines);
  const budget = Math.max(
    0,
    LIMITS.maxSoft - baseline.filter((r) => r.lines <= LIMITS.hardLines).length,
  );
  if (soft.length > budget) {
    problems.push(
      `${long.length} functions over ${LIMITS.softLines} lines (at most ${LIMITS.maxSoft}):\n${long.map((f) => `    ${where(f)}`).join('\n')}`,
    );
  }
  return problems;
}

/** Baseline rows whose function is split or gone: to delete, so the list only gets shorter. */
export function staleBaseline(
  functions: readonly FunctionSize[],
  baseline: readonly BaselineRow[],
): BaselineRow[] {
  const present = new Set(functions.filter((f) => f.lines > LIMITS.softLines).map(key));
  return baseline.filter((row) => !present.has(key(row)));
}

export function checkShape(rootDir: string, baseline: readonly BaselineRow[] = []): ShapeReport {
  const files = ROOTS.flatMap((root) => listTs(join(rootDir, root)));
  const functions: FunctionSize[] = [];
  const graph = new Map<string, string[]>();
  const coreSdkImports: ShapeReport['coreSdkImports'] = [];
  for (const path of files) {
    const file = relative(rootDir, path);
    const source = ts.createSourceFile(
      path,
      readFileSync(path, 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    );
    functions.push(...functionSizes(file, source));
    const specifiers = importsOf(source);
    graph.set(
      file,
      specifiers
        .filter((s) => s.startsWith('.'))
        .map((s) => relative(rootDir, resolve(dirname(path), s))),
    );
    const isCore = file.startsWith('shared/') && !file.startsWith('shared/adapters/');
    for (const specifier of specifiers) {
      const cloud = CLOUD_SDK.test(specifier);
      if (isCore && cloud) coreSdkImports.push({ file, specifier });
    }
  }
  const cycles = findCycles(graph);
  const problems = [
    ...sizeProblems(functions, baseline),
    ...cycles.map((c) => `import cycle: ${c.join(' ↔ ')}`),
    ...coreSdkImports.map(
      (i) =>
        `the core imports a cloud SDK: ${i.file} imports ${i.specifier} (adapters go in shared/adapters/)`,
    ),
  ];
  return { functions, cycles, coreSdkImports, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const baselineFile = join(root, 'infra', 'scripts', 'shape-baseline.json');
  const baseline = JSON.parse(readFileSync(baselineFile, 'utf8')) as BaselineRow[];
  const report = checkShape(root, baseline);
  const over = report.functions.filter((f) => f.lines > LIMITS.softLines).length;
  for (const row of staleBaseline(report.functions, baseline)) {
    console.warn(
      `shape check: ${row.file} ${row.name} is split or gone; delete its row from ${baselineFile}`,
    );
  }
  if (report.problems.length > 0) {
    console.error(`shape check failed:\n${report.problems.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `shape check: ${report.functions.length} functions, ${over} over ${LIMITS.softLines} lines (${baseline.length} of them listed to split in shape-baseline.json); no import cycles; the core imports no cloud SDK.`,
  );
}
