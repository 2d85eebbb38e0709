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
output name and estimated cost at list prices, then the total. Nothing runs and nothing is spent.`,
  args: [{ name: 'drop-folder', description: 'folder of images and sidecars, or one sidecar' }],
  options: { drop: DROP_OPTION, tier: TIER_OPTION, model: MODEL_OPTION, json: JSON_OPTION },
  examples: ['bananaflow estimate examples/drop', 'bananaflow estimate my-drop --json'],
  run: (input) => planReport('estimate', input),
};
