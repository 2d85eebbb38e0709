import { parseArgs } from 'node:util';
import { createJsonLogger } from '../../../shared/adapters/json-logger.ts';
import { loadModelCatalog } from '../../../shared/catalog/model-catalog.ts';
import { loadConfig } from '../../../shared/config.ts';
import { backfill } from '../../../shared/pipeline/backfill.ts';
import { plural } from '../../../shared/text/plural.ts';
import { newRunId } from '../../runner/run-drop.ts';
import { usd } from '../render.ts';
import { type CloudCommandContext, positiveNumber } from './cloud-io.ts';
import { openCloudTarget } from './cloud-target.ts';

/**
 * `bananaflow backfill gs://INPUT[/prefix] --max-usd N [--dry-run] [--json]`: plans jobs for
 * objects already in the input bucket and publishes them only under the cap; a second run plans
 * nothing new. --max-usd is required: a backfill without a spending limit is how resize pipelines
 * elsewhere ran up four-figure bills.
 */
export async function backfillCommand({ args, env, io }: CloudCommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      'max-usd': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const maxUsd = positiveNumber('max-usd', values['max-usd']);
  if (maxUsd === undefined) {
    throw new Error('backfill needs --max-usd N: it publishes nothing whose estimate exceeds N.');
  }
  const target = await openCloudTarget(
    positionals[0],
    'backfill <gs://INPUT[/prefix]>',
    env,
    'input',
  );
  try {
    const config = loadConfig(env);
    const { marker } = target;
    const result = await backfill(
      {
        store: target.store,
        catalog: loadModelCatalog(config.BANANAFLOW_MODEL_OVERRIDES),
        log: createJsonLogger({ level: 'error', write: () => {} }),
        now: () => new Date(),
        uriOf: (bucket, name) => `gs://${bucket}/${name}`,
        inputBucket: marker.inputBucket,
        outputBucket: marker.outputBucket,
        defaultModel: marker.model ?? config.BANANAFLOW_MODEL,
        maxSidecarBytes: config.BANANAFLOW_MAX_SIDECAR_BYTES,
        queue: await target.queue(),
      },
      { runId: newRunId(), prefix: target.prefix, maxUsd, dryRun: values['dry-run'] },
    );
    if (values.json) {
      io.out.write(`${JSON.stringify({ ...result, jobs: result.jobs.map((j) => j.jobId) })}\n`);
    } else {
      const lines = [
        `${result.sidecars} sidecars under gs://${target.bucket}/${target.prefix}: ${result.alreadyPlanned} already planned, ${result.jobs.length} new jobs, estimated ${usd(result.estimatedCostUsd)}.`,
        ...result.invalid.map((i) => `  ✗ ${i.sidecar}: ${i.problems.join('; ')}`),
      ];
      if (result.refused) lines.push(`Refused: ${result.refused}. Nothing was published.`);
      else if (values['dry-run']) lines.push('Dry run: nothing was published or written.');
      else lines.push(`Published ${plural(result.published, 'job')} to ${marker.topics.jobs}.`);
      io.out.write(`${lines.join('\n')}\n`);
    }
    if (result.refused) return 2;
    return result.invalid.length > 0 ? 1 : 0;
  } finally {
    await target.close();
  }
}
