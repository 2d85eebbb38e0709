import type { CliIo } from '../main.ts';

/** What every cloud command gets: its arguments (after the command name), env and streams. */
export interface CloudCommandContext {
  args: string[];
  env: NodeJS.ProcessEnv;
  io: CliIo;
}

export type CloudCommand = (ctx: CloudCommandContext) => Promise<number>;

/** A positive number flag, or a usage error naming it. */
export function positiveNumber(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number, not "${raw}".`);
  }
  return value;
}
