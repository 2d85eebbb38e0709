import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkShape,
  type FunctionSize,
  findCycles,
  functionSizes,
  sizeProblems,
  staleBaseline,
} from '../../infra/scripts/check-shape.ts';

const source = (text: string) => ts.createSourceFile('x.ts', text, ts.ScriptTarget.Latest, true);
const body = (lines: number) =>
  Array.from({ length: lines - 2 }, (_, i) => `  f(${i});`).join('\n');
const fn = (name: string, lines: number): FunctionSize => ({ file: 'a.ts', line: 1, name, lines });

describe('functionSizes', () => {
  it('measures declarations, methods and arrow functions, named where they are bound', () => {
    const sizes = functionSizes(
      'x.ts',
      source(
        `function one() {\n${body(5)}\n}\nconst two = () => {\n${body(4)}\n};\nclass C {\n  three() {\n    return 1;\n  }\n}\n`,
      ),
    );
    expect(sizes.map((s) => [s.name, s.lines])).toEqual([
      ['one', 5],
      ['two', 4],
      ['three', 3],
    ]);
  });
});

describe('findCycles', () => {
  it('finds a cycle of any length, and none in a tree', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c']]);
    expect(
      findCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });
});

describe('sizeProblems', () => {
  it('fails a function over 100 lines, and a sixth function over 60', () => {
    expect(sizeProblems([fn('big', 101)])).toEqual([expect.stringMatching(/over 100 lines.*big/)]);
    const five = [1, 2, 3, 4, 5].map((i) => fn(`f${i}`, 61));
    expect(sizeProblems(five)).toEqual([]);
    expect(sizeProblems([...five, fn('f6', 61)])).toEqual([
      expect.stringMatching(/6 functions over 60 lines/),
    ]);
  });

  it('allows a listed function while it does not grow, and names rows no longer needed', () => {
    const baseline = [{ file: 'a.ts', name: 'big', lines: 150 }];
    expect(sizeProblems([fn('big', 150)], baseline)).toEqual([]);
    expect(sizeProblems([fn('big', 151)], baseline)).toEqual([expect.stringMatching(/grew/)]);
    expect(sizeProblems([fn('big', 40)], baseline)).toEqual([]);
    expect(staleBaseline([fn('big', 40)], baseline)).toEqual(baseline);
    expect(staleBaseline([fn('big', 150)], baseline)).toEqual([]);
  });

  it('leaves no room for new long functions while the baseline is over the budget', () => {
    const baseline = [1, 2, 3, 4, 5].map((i) => ({ file: 'a.ts', name: `old${i}`, lines: 70 }));
    const old = baseline.map((r) => fn(r.name, 70));
    expect(sizeProblems(old, baseline)).toEqual([]);
    expect(sizeProblems([...old, fn('new', 61)], baseline)).toEqual([
      expect.stringMatching(/6 functions over 60 lines/),
    ]);
  });
});

describe('checkShape on a tree', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'bananaflow-shape-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const put = async (name: string, text: string) => {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  };

  it('reports a cloud SDK imported by the core but not by an adapter, and import cycles', async () => {
    await put('shared/pipeline/use-case.ts', "import { Storage } from '@google-cloud/storage';\n");
    await put('shared/adapters/gcs.ts', "import { Storage } from '@google-cloud/storage';\n");
    await put('shared/wiring/model.ts', "const m = await import('@google/genai');\n");
    await put('infra/a.ts', "import type { B } from './b.ts';\n");
    await put('infra/b.ts', "import { a } from './a.ts';\n");
    await put('functions/ok.ts', "import { x } from '../shared/adapters/gcs.ts';\n");
    const report = checkShape(root);
    expect(report.coreSdkImports).toEqual([
      { file: 'shared/pipeline/use-case.ts', specifier: '@google-cloud/storage' },
      { file: 'shared/wiring/model.ts', specifier: '@google/genai' },
    ]);
    expect(report.cycles).toEqual([['infra/a.ts', 'infra/b.ts']]);
    expect(report.problems).toHaveLength(3);
  });
});
