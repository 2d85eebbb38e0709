import { parseArgs } from 'node:util';
import { didYouMean } from '../../shared/text/did-you-mean.ts';
import type { CommandSpec, OptionSpec, OptionValues } from './command.ts';
import { UsageError } from './usage-error.ts';

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help.' };

/** The command's options plus `--help`, as node:util parseArgs takes them. */
function nodeOptions(spec: CommandSpec) {
  const all = { ...spec.options, help: HELP };
  return Object.fromEntries(
    Object.entries(all).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short ? { short: o.short } : {}) },
    ]),
  );
}

function checkNumber(name: string, raw: string, kind: NonNullable<OptionSpec['number']>): number {
  const value = Number(raw);
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(value) &&
    (kind === 'non-negative' ? value >= 0 : value > 0) &&
    (kind !== 'positive-integer' || Number.isInteger(value));
  if (!ok) {
    const what =
      kind === 'positive-integer'
        ? 'a whole number above 0'
        : kind === 'positive'
          ? 'a number above 0'
          : 'a number, 0 or more';
    throw new UsageError(`--${name} must be ${what}, not "${raw}".`);
  }
  return value;
}

/** Translates node:util's parse errors into a UsageError with a "did you mean". */
function usageErrorOf(error: unknown, spec: CommandSpec): UsageError {
  const e = error as { code?: string; message: string };
  const names = [...Object.keys(spec.options), 'help'];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /option '([^']+)'/i.exec(e.message)?.[1] ?? '';
    const bare = option.replace(/^-+/, '').replace(/=.*$/, '');
    return new UsageError(
      `unknown option ${option}.${didYouMean(bare, names, (m) => `--${m}`)}`,
      spec.name,
    );
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /'(-[^' ]+)/.exec(e.message)?.[1] ?? 'an option';
    const name = option.replace(/^-+/, '');
    const takesValue = spec.options[name]?.type === 'string';
    return new UsageError(
      takesValue
        ? `${option} needs a value: ${option} ${spec.options[name]?.value ?? '<value>'}.`
        : `${option} takes no value.`,
      spec.name,
    );
  }
  return new UsageError(e.message, spec.name);
}

/**
 * Parses a command's arguments strictly against its spec: unknown options, missing values,
 * bad numbers and a wrong number of arguments are usage errors, found before anything starts.
 */
export function parseCommandArgs(
  spec: CommandSpec,
  argv: string[],
): { args: string[]; values: OptionValues; help: boolean } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: nodeOptions(spec), allowPositionals: true });
  } catch (error) {
    throw usageErrorOf(error, spec);
  }
  const raw = parsed.values as Record<string, string | boolean | undefined>;
  const help = raw.help === true;
  const values: OptionValues = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const value = raw[name];
    values[name] =
      typeof value === 'string' && option.number ? checkNumber(name, value, option.number) : value;
  }
  const args = parsed.positionals;
  if (!help) {
    const missing = spec.args[args.length];
    if (missing) throw new UsageError(`missing <${missing.name}>.`, spec.name);
    const extra = args[spec.args.length];
    if (extra !== undefined) {
      throw new UsageError(
        `unexpected argument "${extra}" (${spec.name} takes ${spec.args.map((a) => `<${a.name}>`).join(' ')}).`,
        spec.name,
      );
    }
  }
  return { args, values, help };
}
