import { parseArgs } from 'node:util';
import { parseStandInQuota, QUOTA_ENV, quotaTextsFromEnv } from './quota-options.ts';
import { startGeminiStandIn } from './server.ts';

/**
 * Runs the Gemini stand-in standalone:
 *   npm run standin -- --port 8089 --latency-ms 500 --ipm 120
 * then point the pipeline at it with GOOGLE_GEMINI_BASE_URL=<printed url> GEMINI_API_KEY=anything.
 */

const USAGE = `usage: npm run standin -- [--port 8089] [--host 127.0.0.1] [--latency-ms 0]
       [--ipm N | model=N,...] [--rpm N | model=N,...] [--quota-window-ms 60000]
  quota flags default to ${QUOTA_ENV.ipm}, ${QUOTA_ENV.rpm}, ${QUOTA_ENV.windowMs}; none = no quota`;

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function parseNonNegativeInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    usageError(`--${name} must be a whole number >= 0, got "${value}"`);
  return number;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'latency-ms': { type: 'string' },
    ipm: { type: 'string' },
    rpm: { type: 'string' },
    'quota-window-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const fromEnv = quotaTextsFromEnv(process.env);
const quota = parseStandInQuota({
  ipm: values.ipm ?? fromEnv.ipm,
  rpm: values.rpm ?? fromEnv.rpm,
  windowMs: values['quota-window-ms'] ?? fromEnv.windowMs,
});
if (!quota.ok) usageError(`--${quota.problem}`);

const standIn = await startGeminiStandIn({
  port: parseNonNegativeInt('port', values.port, 8089),
  ...(values.host ? { host: values.host } : {}),
  latencyMs: parseNonNegativeInt('latency-ms', values['latency-ms'], 0),
  ...(quota.quota ? { quota: quota.quota } : {}),
});
console.log(`Gemini stand-in listening on ${standIn.url}`);
if (quota.quota) console.log(`  quota: ${JSON.stringify(quota.quota)}`);
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
