import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModelCatalog } from '../../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../../shared/config.ts';
import { type DropPlan, planDrop } from '../../../shared/pipeline/plan-drop.ts';
import { silentLogger } from '../../../shared/ports/logger.ts';
import { classifyDropFile } from '../../../shared/sidecar/drop-files.ts';
import { plural } from '../../../shared/text/plural.ts';
import {
  INPUT_BUCKET,
  localPipeline,
  newRunId,
  readDropImageSizes,
} from '../../runner/run-drop.ts';
import { usd } from '../render.ts';
import { type CloudCommandContext, positiveNumber } from './cloud-io.ts';
import { type CloudTarget, openCloudTarget } from './cloud-target.ts';

/** Custom metadata recording the uploaded bytes' hash, so a re-run uploads only what changed. */
export const SOURCE_HASH_KEY = 'bananaflow-source-sha256';

/**
 * `bananaflow submit <local-drop> gs://INPUT[/prefix] [--max-usd N] [--json]`: plans the drop
 * locally first (the same planner ingest runs) and shows the estimate, refuses over the cap, then
 * uploads images before sidecars, so ingest finds every input when a sidecar arrives. A re-run
 * uploads only files whose bytes changed, and only their jobs count against the cap.
 */
export async function submitCommand({ args, env, io }: CloudCommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { 'max-usd': { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const [dropDir, url] = positionals;
  if (!dropDir) throw new Error('submit needs <local-drop> gs://INPUT[/prefix].');
  const maxUsd = positiveNumber('max-usd', values['max-usd']);
  const config = loadConfig(env);
  const catalog = loadModelCatalog(config.BANANAFLOW_MODEL_OVERRIDES);
  const plan = await planLocally(resolve(dropDir), config, catalog);
  const target = await openCloudTarget(
    url,
    'submit <local-drop> <gs://INPUT[/prefix]>',
    env,
    'input',
  );
  const say = (text: string) => io.err.write(`${text}\n`);
  try {
    const files = await filesToUpload(target, resolve(dropDir), plan.files);
    const changed = new Set(files.filter((f) => f.upload).map((f) => f.name));
    const jobs = plan.drop.jobs.filter(
      (j) => changed.has(j.sidecar.name) || j.inputs.some((i) => changed.has(i.name)),
    );
    const estimate = jobs.reduce((sum, j) => sum + j.estimatedCostUsd, 0);
    const problems = plan.drop.sidecars.flatMap((s) =>
      s.problems.map((p) => `${s.sidecar}: ${p.message}`),
    );
    say(
      `${plural(plan.drop.jobs.length, 'job')} in ${dropDir}: ${jobs.length} to run after this upload, estimated ${usd(estimate)}; ${changed.size} of ${files.length} files to upload.`,
    );
    for (const problem of problems) say(`  ✗ ${problem}`);
    if (maxUsd !== undefined && estimate > maxUsd) {
      say(
        `Refused: estimated ${usd(estimate)} exceeds --max-usd ${usd(maxUsd)}. Nothing was uploaded.`,
      );
      return 2;
    }
    const uploaded = await upload(target, files, say);
    const summary = {
      jobs: jobs.length,
      estimatedCostUsd: estimate,
      uploaded,
      unchanged: files.length - uploaded,
    };
    io.out.write(
      values.json
        ? `${JSON.stringify(summary)}\n`
        : `Uploaded ${uploaded} files (${summary.unchanged} unchanged). Follow it with: bananaflow status gs://${target.marker.outputBucket}/${target.prefix}\n`,
    );
    return problems.length > 0 ? 1 : 0;
  } finally {
    await target.close();
  }
}

/** Uploads the changed files in order, one progress line each; returns how many. */
async function upload(
  target: CloudTarget,
  files: Awaited<ReturnType<typeof filesToUpload>>,
  say: (text: string) => void,
): Promise<number> {
  const total = files.filter((f) => f.upload).length;
  let uploaded = 0;
  for (const file of files) {
    if (!file.upload) continue;
    await target.store.write(target.bucket, `${target.prefix}${file.name}`, file.bytes, {
      metadata: { [SOURCE_HASH_KEY]: file.sha256 },
    });
    uploaded++;
    say(`  [${uploaded}/${total}] gs://${target.bucket}/${target.prefix}${file.name}`);
  }
  return uploaded;
}

async function planLocally(
  dropDir: string,
  config: ReturnType<typeof loadConfig>,
  catalog: ReturnType<typeof loadModelCatalog>,
): Promise<{ drop: DropPlan; files: string[] }> {
  const scratch = await mkdtemp(join(tmpdir(), 'bananaflow-submit-'));
  try {
    const { planner, store } = localPipeline({
      dropDir,
      outDir: scratch,
      catalog,
      config,
      log: silentLogger,
    });
    const listing = (await store.list(INPUT_BUCKET, '')).map((o) => o.name);
    const sizes = await readDropImageSizes(dropDir, listing, config.BANANAFLOW_MAX_INPUT_BYTES);
    const drop = await planDrop(planner, {
      runId: newRunId(),
      imageSize: (name) => sizes.get(name),
    });
    return { drop, files: listing.filter((name) => classifyDropFile(name).kind !== 'ignored') };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every drop file, images before sidecars, and whether its bytes differ from the bucket's copy. */
async function filesToUpload(target: CloudTarget, dropDir: string, names: readonly string[]) {
  const rank = (name: string) => (classifyDropFile(name).kind === 'image' ? 0 : 1);
  const ordered = [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const files = [];
  for (const name of ordered) {
    const bytes = await readFile(join(dropDir, name));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const remote = await target.store.stat(target.bucket, `${target.prefix}${name}`);
    files.push({ name, bytes, sha256, upload: remote?.metadata[SOURCE_HASH_KEY] !== sha256 });
  }
  return files;
}
