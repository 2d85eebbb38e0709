import { parseArgs } from 'node:util';
import { startStack } from './start-stack.ts';

/**
 * `npm run stack [-- --drop <folder> --out <folder>]`: the whole pipeline locally on the real
 * Pub/Sub emulator and the functions framework. Drop images and sidecars into the drop folder;
 * outputs, records and result events appear as the functions work. Ctrl-C stops everything.
 * The start logic lives in start-stack.ts, which the end-to-end test drives.
 */

const USAGE = 'usage: npm run stack -- [--drop out/stack/drop] [--out out/stack/output]';

const { values } = parseArgs({
  options: {
    drop: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

// No metadata server here: keep Google's auth libraries from probing for one (and warning).
process.env.METADATA_SERVER_DETECTION ??= 'none';

const stack = await startStack({
  dropDir: values.drop ?? 'out/stack/drop',
  outDir: values.out ?? 'out/stack/output',
});
console.log('Ctrl-C stops the stack.');

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  const results = stack.results();
  const failed = results.filter((r) => r.status === 'failed').length;
  console.log(`${signal}: stopping (${results.length} results, ${failed} failed)...`);
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
