import type { CommandSpec, OptionSpec } from './command.ts';

/** Help text, rendered from the commands' own data so it cannot drift from what they parse. */

const ENVIRONMENT = `Environment:
  GEMINI_API_KEY                  call the Gemini API (AI Studio key)
  GOOGLE_GENAI_USE_VERTEXAI=true  call Vertex AI (with GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION)
  (neither)                       "run" uses the offline Gemini stand-in: synthetic images, real costs
  LOG_LEVEL                       debug, info, warn or error for the diagnostics on stderr`;

const EXIT_CODES = `Exit codes: 0 all good; 1 some job or sidecar failed (see its .error.json);
  2 usage or setup error, or refused by --max-usd; 130 interrupted (Ctrl-C), run again to resume.`;

function optionLabel(name: string, option: OptionSpec): string {
  const short = option.short ? `-${option.short}, ` : '    ';
  return `${short}--${name}${option.type === 'string' ? ` ${option.value ?? '<value>'}` : ''}`;
}

function usageLine(spec: CommandSpec): string {
  const args = spec.args.map((a) => `<${a.name}>`).join(' ');
  return `bananaflow ${spec.name}${args ? ` ${args}` : ''}${Object.keys(spec.options).length > 0 ? ' [options]' : ''}`;
}

/** `bananaflow --help`: every command with its one-line summary. */
export function generalHelp(commands: readonly CommandSpec[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `bananaflow ${version}: run Gemini image edits from a folder of images and sidecars.

Usage:
${commands.map((c) => `  ${usageLine(c)}`).join('\n')}

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -h, --help     show help (also "bananaflow <command> --help")
  -V, --version  print the version

${ENVIRONMENT}

${EXIT_CODES}`;
}

/** `bananaflow <command> --help`: every option with its default, and examples. */
export function commandHelp(spec: CommandSpec): string {
  const options = Object.entries(spec.options).map(([name, o]) => ({
    label: optionLabel(name, o),
    text: `${o.description}${o.default !== undefined ? ` (default: ${o.default})` : ''}`,
  }));
  options.push({ label: '-h, --help', text: 'Show this help.' });
  const width = Math.max(
    ...options.map((o) => o.label.length),
    ...spec.args.map((a) => a.name.length + 2),
  );
  const args = spec.args.map((a) => `  ${`<${a.name}>`.padEnd(width)}  ${a.description}`);
  return `Usage: ${usageLine(spec)}

${spec.description}
${args.length > 0 ? `\nArguments:\n${args.join('\n')}\n` : ''}
Options:
${options.map((o) => `  ${o.label.padEnd(width)}  ${o.text}`).join('\n')}

Examples:
${spec.examples.map((e) => `  ${e}`).join('\n')}

${EXIT_CODES}`;
}

/** The short usage shown under a usage error. */
export function shortUsage(spec: CommandSpec): string {
  return `Usage: ${usageLine(spec)}\nRun "bananaflow ${spec.name} --help" for every option.`;
}
