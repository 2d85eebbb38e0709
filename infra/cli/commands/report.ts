import { type CommandSpec, JSON_OPTION } from '../command.ts';
import { reportCommand } from '../report-command.ts';

export const reportSpec: CommandSpec = {
  name: 'report',
  summary: 'write one self-contained HTML page of an output folder (before/after, costs)',
  description: `Writes a self-contained HTML report of every job in an output folder, or a deployment's output
bucket: before and after images, totals, filters. "run" writes one at the end of every run.`,
  args: [
    {
      name: 'out-folder',
      description: 'a local output folder, or gs://bucket[/prefix] of a deployment',
    },
  ],
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: '<file.html>',
      description: 'Where to write the page.',
      default: 'report.html in the output folder (<bucket>-report.html here for gs://)',
    },
    json: JSON_OPTION,
  },
  examples: ['bananaflow report out/example', 'bananaflow report out/example --out /tmp/r.html'],
  run: (input) =>
    reportCommand(input.args[0] as string, input.values.out as string | undefined, {
      io: input.io,
      json: input.values.json === true,
      env: input.env,
    }),
};
