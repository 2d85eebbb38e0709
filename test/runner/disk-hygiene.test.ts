import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GeminiStandIn, startGeminiStandIn } from '../../infra/gemini-stand-in/server.ts';
import { runDrop } from '../../infra/runner/run-drop.ts';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../shared/config.ts';
import { thumbnailNameOf } from '../../shared/planning/output-names.ts';
import { silentLogger } from '../../shared/ports/logger.ts';
import { standInModel } from '../../shared/wiring/image-model.ts';
import { tinyImage, writeDrop } from '../support/pipeline-harness.ts';

/**
 * What a finished job leaves on disk: its outputs and records, and no working state (the
 * persisted answer, its image bytes, the claim, the announced marker are deleted after the
 * commit point). A job that can run again (dead-lettered) keeps what a rerun needs.
 */

let root: string | undefined;
let standIn: GeminiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
  standIn = undefined;
});

/** Every file under dir with its size, relative names. */
async function files(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const name of await readdir(dir, { recursive: true })) {
    const info = await stat(join(dir, name));
    if (info.isFile()) found.set(name, info.size);
  }
  return found;
}

describe('disk hygiene of a local run', () => {
  it('leaves no working state for finished jobs; bytes stay near the outputs', async () => {
    root = await mkdtemp(join(tmpdir(), 'bananaflow-hygiene-'));
    const drop = join(root, 'drop');
    const out = join(root, 'out');
    const jobs = 6;
    const drops: Record<string, Buffer | object> = {};
    for (let i = 0; i < jobs; i++) {
      drops[`p${i}.png`] = await tinyImage('png', 64 + i, 48, '#3a7');
      drops[`p${i}.png.edit.json`] = { prompt: `edit ${i}` };
    }
    drops['blocked.png'] = await tinyImage('png', 40, 40, '#33a');
    drops['blocked.png.edit.json'] = { prompt: 'no [standin:outcome=blocked-output]' };
    await writeDrop(drop, drops);
    standIn = await startGeminiStandIn({ port: 0 });
    const summary = await runDrop({
      dropDir: drop,
      outDir: out,
      model: standInModel(standIn.url),
      catalog: loadModelCatalog(),
      config: loadConfig({ LOG_LEVEL: 'error' }),
      log: silentLogger,
    });
    expect(summary).toMatchObject({ succeeded: jobs, failed: 1 });

    const all = await files(out);
    const state = [...all.keys()].filter((n) => n.startsWith('_bananaflow/jobs/'));
    expect(state).toEqual([]);
    const outputBytes = summary.rows
      .filter((r) => r.output)
      .reduce((sum, r) => sum + (all.get(r.output?.slice(out.length + 1) ?? '') ?? -1e9), 0);
    expect(outputBytes).toBeGreaterThan(0);
    // Everything but the JSON records, summaries and the folder store's metadata files: the
    // outputs, and nothing like a second copy of them.
    const bulk = [...all.entries()].filter(
      ([n]) => !n.endsWith('.json') && !n.startsWith('.bananaflow-meta/'),
    );
    expect(bulk.reduce((s, [, b]) => s + b, 0)).toBeLessThanOrEqual(1.2 * outputBytes);
    // Files per finished job beyond its outputs and records: at most one, the report's thumbnail
    // beside its output (the stand-in's 1024 px outputs all get one).
    const outputs = summary.rows.flatMap((r) => (r.output ? [r.output.slice(out.length + 1)] : []));
    const extra = bulk
      .map(([n]) => n)
      .filter((n) => !outputs.includes(n) && !n.startsWith('_runs/')); // one summary per run
    expect(extra.sort()).toEqual(outputs.map(thumbnailNameOf).sort());
  });
});
