import {
  type CommandSpec,
  DROP_OPTION,
  JSON_OPTION,
  MODEL_OPTION,
  TIER_OPTION,
} from '../command.ts';
import { planReport } from './plan-report.ts';

export const estimateCommand: CommandSpec = {
  name: 'estimate',
  summary: 'list the planned jobs and their estimated cost; no model is called',
  description: `Plans a drop folder (or one sidecar) and prints each job with its mode, model, inputs, steps,
output name and estimated cost at list prices, then the total and, like "run", what is still to do
in the output folder ("19 jobs: 14 done, 5 to run, $0.1950"). Nothing runs and nothing is spent.`,
  args: [{ name: 'drop-folder', description: 'folder of images and sidecars, or one sidecar' }],
  options: {
    out: {
      type: 'string',
      short: 'o',
      value: '<folder>',
      description:
        'The output folder "run" writes to: jobs finished there count as done, like terraform plan.',
      default: '<drop-folder>-out beside the drop',
    },
    drop: DROP_OPTION,
    tier: TIER_OPTION,
    model: MODEL_OPTION,
    json: JSON_OPTION,
  },
  examples: [
    'bananaflow estimate examples/drop',
    'bananaflow estimate my-drop --out my-drop-out --json',
  ],
  run: (input) => planReport('estimate', input),
};
