import {
  type CommandSpec,
  DROP_OPTION,
  JSON_OPTION,
  MODEL_OPTION,
  TIER_OPTION,
} from '../command.ts';
import { planReport } from './plan-report.ts';

export const validateCommand: CommandSpec = {
  name: 'validate',
  summary: 'check sidecars and their inputs; every problem in one pass, nothing runs',
  description: `Checks a drop folder, or one sidecar in it, as "run" would: JSON syntax (with line and column),
fields and values (with a "did you mean"), inputs and references (present, inside the drop, really
images), model options and cost caps. Every problem of every sidecar is reported at once.`,
  args: [
    {
      name: 'sidecar-or-folder',
      description: 'a drop folder, or one sidecar (IMAGE.edit.json, _edit.json, NAME.jobs.json)',
    },
  ],
  options: { drop: DROP_OPTION, tier: TIER_OPTION, model: MODEL_OPTION, json: JSON_OPTION },
  examples: [
    'bananaflow validate examples/drop',
    'bananaflow validate my-drop/shoot/cat.jpg.edit.json --drop my-drop',
    'bananaflow validate my-drop --json',
  ],
  run: (input) => planReport('validate', input),
};
