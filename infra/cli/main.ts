import { readFileSync } from 'node:fs';
import { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import { TIERS, type Tier } from '../../shared/catalog/tiers.ts';
import { type Config, loadConfig } from '../../shared/config.ts';
import { BananaError, isBananaError } from '../../shared/errors.ts';
import { didYouMean } from '../../shared/text/did-you-mean.ts';
import type { CliIo } from './cli-io.ts';
import type { CommandSpec } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { commandHelp, generalHelp, shortUsage } from './help.ts';
import { checkDefaultModel, withModelFlag } from './model-flag.ts';
import { parseCommandArgs } from './parse-command-args.ts';
import { UsageError } from './usage-error.ts';

export type { CliIo, TextSink } from './cli-io.ts';

/** The package's version, from package.json (what `npm pack` ships). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

/**
 * The CLI; returns the exit code. `env` and the streams are injectable for tests. Every usage
 * error is found before anything starts (no banner, no stand-in, no model).
 */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const say = (text: string) => io.err.write(`${text}\n`);
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V' || first === 'version') {
    io.out.write(`${cliVersion()}\n`);
    return 0;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    const text = topic ? commandHelp(topic) : generalHelp(COMMANDS, cliVersion());
    (first === undefined ? io.err : io.out).write(`${text}\n`);
    return first === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) {
    const names = COMMANDS.map((c) => c.name);
    const what = first.startsWith('-') ? `unknown option ${first}` : `unknown command "${first}"`;
    say(
      `bananaflow: ${what}.${didYouMean(first.replace(/^-+/, ''), names)}\nCommands: ${names.join(', ')}. Run "bananaflow --help" for more.`,
    );
    return 2;
  }
  return runCommand(command, rest, env, io);
}

async function runCommand(
  command: CommandSpec,
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: CliIo,
): Promise<number> {
  const say = (text: string) => io.err.write(`${text}\n`);
  try {
    const { args, values, help } = parseCommandArgs(command, argv);
    if (help) {
      io.out.write(`${commandHelp(command)}\n`);
      return 0;
    }
    let config: Config | undefined;
    let catalog: ReturnType<typeof loadModelCatalog> | undefined;
    const configOnce = () => {
      config ??= withTier(
        withModelFlag(loadConfig(env), values.model as string | undefined),
        values.tier as string | undefined,
      );
      return config;
    };
    return await command.run({
      args,
      argv,
      values,
      env,
      io,
      say,
      config: configOnce,
      catalog: () => {
        if (catalog) return catalog;
        const { BANANAFLOW_MODEL, BANANAFLOW_MODEL_OVERRIDES } = configOnce();
        catalog = loadModelCatalog(BANANAFLOW_MODEL_OVERRIDES);
        // An unknown or shut-down default model stops here, before anything is planned.
        if (BANANAFLOW_MODEL) checkDefaultModel(catalog, BANANAFLOW_MODEL);
        return catalog;
      },
    });
  } catch (error) {
    if (error instanceof UsageError) {
      say(`bananaflow ${command.name}: ${error.message}\n\n${shortUsage(command)}`);
    } else if (isBananaError(error)) {
      say(`bananaflow: ${error.code}: ${error.message}${error.fix ? `\n  fix: ${error.fix}` : ''}`);
    } else {
      say(`bananaflow: ${(error as Error).message}`);
    }
    return 2;
  }
}

/** `--tier` overrides BANANAFLOW_TIER; an unknown tier names the allowed ones. */
function withTier(config: Config, tier: string | undefined): Config {
  if (tier === undefined) return config;
  if (!(TIERS as readonly string[]).includes(tier)) {
    throw new BananaError({
      code: 'CONFIG_INVALID',
      message: `--tier "${tier}" is not a tier.`,
      fix: `Use one of ${TIERS.join(', ')}.`,
    });
  }
  return { ...config, BANANAFLOW_TIER: tier as Tier };
}
