import { parseArgs } from 'node:util';
import { readPause, resumeSpending } from '../../../shared/pipeline/spend-guard.ts';
import { silentLogger } from '../../../shared/ports/logger.ts';
import type { CloudCommandContext } from './cloud-io.ts';
import { openCloudTarget } from './cloud-target.ts';

/**
 * `bananaflow resume gs://OUTPUT`: lifts a spending pause (a budget alert, the daily cap, by hand)
 * and publishes every job held meanwhile to the jobs topic again.
 */
export async function resumeCommand({ args, env, io }: CloudCommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true });
  const target = await openCloudTarget(positionals[0], 'resume <gs://OUTPUT>', env, 'output');
  try {
    const pause = await readPause(target.store, target.bucket, new Date());
    const { released } = await resumeSpending(
      { store: target.store, queue: await target.queue(), log: silentLogger },
      target.bucket,
    );
    io.out.write(
      `${pause ? `Lifted the pause (${pause.reason}: ${pause.message})` : 'Spending was not paused'}; published ${released} held jobs again.\n`,
    );
    return 0;
  } finally {
    await target.close();
  }
}
