import { join } from 'node:path';
import { main } from '../../infra/cli/main.ts';
import type { RunSummary } from '../../infra/runner/run-drop.ts';
import { tinyImage, writeDrop } from './pipeline-harness.ts';

/** Environment without Gemini credentials: the CLI uses the offline stand-in. */
export const OFFLINE_ENV = { PATH: process.env.PATH, LOG_LEVEL: 'error' };

/** A prompt that would run script if the report did not escape it. */
export const SCRIPT_PROMPT = 'Make it blue <script>window.__pwned = 1</script> & "quoted"';
/** An input whose file name is markup. */
export const MARKUP_NAME = '<b onmouseover=alert(1)>.png';

export function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: { write: (t: string) => out.push(t) }, err: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/**
 * Runs a drop with every kind of card through `bananaflow run` (offline stand-in): edits with
 * tags, a blocked prompt, an input that is not an image, a broken sidecar, a refinement, a
 * character series, a prompt with `<script>` and a file name with markup.
 */
export async function runReportFixture(root: string): Promise<{
  drop: string;
  out: string;
  summary: RunSummary;
  stdout: string;
  stderr: string;
}> {
  const drop = join(root, 'drop');
  const out = join(root, 'out');
  await writeDrop(drop, {
    'cat.png': await tinyImage('png', 64, 48, '#c33'),
    'cat.png.edit.json': { prompt: SCRIPT_PROMPT, tags: { client: 'acme' } },
    'dog.jpg': await tinyImage('jpeg', 48, 64, '#36c'),
    'dog.jpg.edit.json': {
      prompt: '[standin:outcome=blocked-prompt] a dog',
      tags: { client: 'globex' },
    },
    [MARKUP_NAME]: await tinyImage('png', 40, 40, '#3a7'),
    [`${MARKUP_NAME}.edit.json`]: { prompt: 'make it shine', tags: { client: 'acme' } },
    'shots/_edit.json': { prompt: 'studio light' },
    'shots/a.jpg': await tinyImage('jpeg'),
    'shots/fake.jpg': 'not an image at all',
    'broken.png.edit.json': '{ "prompt": ',
    'broken.png': await tinyImage('png'),
    'hero.png': await tinyImage('png', 64, 64, '#fc0'),
    'hero.png.edit.json': { steps: ['make it a watercolour', 'add a sunset', 'sign it'] },
    'ref/bruno.png': await tinyImage('png', 32, 32, '#a52'),
    'series.jobs.json': {
      defaults: {
        mode: 'character-series',
        references: ['ref/bruno.png'],
        tags: { series: 'bruno' },
      },
      jobs: [
        { name: 'beach', prompt: 'Bruno on a beach' },
        { name: 'snow', prompt: 'Bruno in the snow' },
      ],
    },
  });
  const run = capture();
  const code = await main(['run', drop, '--out', out, '--json'], OFFLINE_ENV, run.io);
  if (code !== 1) throw new Error(`expected exit 1 (some failures), got ${code}: ${run.err()}`);
  return { drop, out, summary: JSON.parse(run.out()), stdout: run.out(), stderr: run.err() };
}
