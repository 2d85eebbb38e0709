/** Where a command writes: results to `out`, progress and diagnostics to `err`. */
export interface CommandIo {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** What every cloud command gets: its arguments (after the command name), env and streams. */
export interface CloudCommandContext {
  args: string[];
  env: NodeJS.ProcessEnv;
  io: CommandIo;
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
