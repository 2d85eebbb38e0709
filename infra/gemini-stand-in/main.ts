import { parseArgs } from 'node:util';
import { startGeminiStandIn } from './server.ts';

/**
 * Runs the Gemini stand-in standalone:
 *   npm run standin -- --port 8089 --latency-ms 500
 * then point the pipeline at it with GOOGLE_GEMINI_BASE_URL=<printed url> GEMINI_API_KEY=anything.
 */

const USAGE = 'usage: npm run standin -- [--port 8089] [--host 127.0.0.1] [--latency-ms 0]';

function parseNonNegativeInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) {
    console.error(`--${name} must be a whole number >= 0, got "${value}"\n${USAGE}`);
    process.exit(2);
  }
  return number;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'latency-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const standIn = await startGeminiStandIn({
  port: parseNonNegativeInt('port', values.port, 8089),
  ...(values.host ? { host: values.host } : {}),
  latencyMs: parseNonNegativeInt('latency-ms', values['latency-ms'], 0),
});
console.log(`Gemini stand-in listening on ${standIn.url}`);
console.log(`  export GOOGLE_GEMINI_BASE_URL=${standIn.url} GEMINI_API_KEY=stand-in`);
console.log(
  `  stats: curl ${standIn.url}/__standin/stats   reset: curl -X POST ${standIn.url}/__standin/reset`,
);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  const { totalCalls, usage } = standIn.stats();
  console.log(`${signal}: stopping after ${totalCalls} calls (${usage.totalTokens} tokens billed)`);
  await standIn.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
