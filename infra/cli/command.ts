import type { loadModelCatalog } from '../../shared/catalog/model-catalog.ts';
import type { Config } from '../../shared/config.ts';
import type { CliIo } from './cli-io.ts';

/** One option of a command, as data: parsing, validation and `--help` all read it. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. `<usd>`. */
  value?: string;
  description: string;
  /** Shown in help; the command applies it. */
  default?: string;
  /** Checked at parse time, before anything starts. */
  number?: 'positive' | 'positive-integer' | 'non-negative';
}

export interface ArgumentSpec {
  name: string;
  description: string;
}

/** Parsed options: strings, booleans, or numbers for options with `number`. */
export type OptionValues = Record<string, string | boolean | number | undefined>;

/** What a command gets: its arguments, its options, the environment parsed once, and the streams. */
export interface CommandInput {
  args: string[];
  /** The command's arguments as given, for commands that parse them again themselves. */
  argv: string[];
  values: OptionValues;
  env: NodeJS.ProcessEnv;
  io: CliIo;
  /** Configuration and catalog, parsed on first use (a usage error never needs them). */
  config(): Config;
  catalog(): ReturnType<typeof loadModelCatalog>;
  say(text: string): void;
}

/**
 * A `bananaflow` command as data. A new command is one file under commands/ listed in
 * commands/index.ts; its help, its option parsing and its "did you mean" come from this.
 */
export interface CommandSpec {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** A paragraph for `bananaflow <command> --help`. */
  description: string;
  args: ArgumentSpec[];
  options: Record<string, OptionSpec>;
  examples: string[];
  run(input: CommandInput): Promise<number>;
}

/** `--json`, shared by the commands that can print machine-readable output. */
export const JSON_OPTION: OptionSpec = {
  type: 'boolean',
  description: 'Print one JSON document on stdout instead of text.',
  default: 'off',
};

/** `--drop`, for checking one sidecar: paths with ".." are judged against this folder. */
export const DROP_OPTION: OptionSpec = {
  type: 'string',
  value: '<folder>',
  description:
    'With one sidecar: the drop folder it belongs to, so paths are judged against the whole drop.',
  default: "the sidecar's folder",
};

/** `--model`, for the commands that plan: the model of sidecars that name none, this run only. */
export const TIER_OPTION: OptionSpec = {
  type: 'string',
  value: '<tier>',
  description:
    'Tier of sidecars that name none: standard, batch (Batch API, half price, up to 24 h) or flex (half price, 1-15 min, best effort).',
  default: 'BANANAFLOW_TIER, else standard',
};

export const MODEL_OPTION: OptionSpec = {
  type: 'string',
  value: '<id>',
  description: 'Model of sidecars that name none, for this run ("bananaflow models" lists them).',
  default: "BANANAFLOW_MODEL, else the catalog's default",
};
