import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS, type FunctionName } from '../../functions/function-table.ts';
import { type FunctionProcess, startFunctionProcess } from './function-process.ts';
import { freePort } from './pubsub-emulator.ts';

/** The function table's functions as stack processes, each on its own port, restartable. */

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The functions of the function table: entry name as registered, and its source. */
export const STACK_FUNCTIONS = FUNCTIONS.map((f) => ({
  target: f.entryPoint,
  source: f.entry,
  signatureType: f.signatureType,
}));
export type StackFunction = FunctionName;

export type OnFunctionLine = (fn: StackFunction, line: string) => void;

/** Starts one function under the functions framework, on `port`, with `env`. */
export function startStackFunction(
  target: StackFunction,
  port: number,
  env: NodeJS.ProcessEnv,
  onLine: OnFunctionLine,
): Promise<FunctionProcess> {
  const spec = STACK_FUNCTIONS.find((f) => f.target === target);
  if (!spec) throw new Error(`unknown function ${target}`);
  return startFunctionProcess({
    target,
    source: path.join(REPO_ROOT, spec.source),
    signatureType: spec.signatureType,
    port,
    env,
    onLine: (line) => onLine(target, line),
  });
}

/** Starts every function on a free port; the record is mutable (a crash test restarts one). */
export async function startStackFunctions(
  env: NodeJS.ProcessEnv,
  onLine: OnFunctionLine,
): Promise<Record<StackFunction, FunctionProcess>> {
  const started = await Promise.all(
    STACK_FUNCTIONS.map(
      async ({ target }) =>
        [target, await startStackFunction(target, await freePort(), env, onLine)] as const,
    ),
  );
  return Object.fromEntries(started) as Record<StackFunction, FunctionProcess>;
}

/** One function log line, readable: `[worker] INFO job succeeded jobId=… cost=…`. */
export function compactLine(fn: StackFunction, line: string): string {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { severity, message, time: _time, function: _fn, ...rest } = entry;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `[${fn}] ${String(severity)} ${String(message)}${fields ? `  ${fields}` : ''}`;
  } catch {
    return `[${fn}] ${line}`;
  }
}
