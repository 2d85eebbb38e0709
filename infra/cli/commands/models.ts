import { type CommandSpec, JSON_OPTION } from '../command.ts';
import { modelsMain } from '../models-command.ts';

export const modelsSpec: CommandSpec = {
  name: 'models',
  summary: 'list the catalog of Gemini image models: lifecycle, sizes, prices',
  description: `Prints the model catalog (shared/catalog/models.json): each model's lifecycle, output sizes and
prices, and which one is the default. --live also asks the configured backend (Gemini API, Vertex
AI or the stand-in) what it serves and shows the drift.`,
  args: [],
  options: {
    live: {
      type: 'boolean',
      description: 'Also list what the configured backend serves, and the drift from the catalog.',
      default: 'off',
    },
    json: JSON_OPTION,
  },
  examples: ['bananaflow models', 'bananaflow models --live --json'],
  run: (input) => modelsMain(input.argv, input.env, input.io),
};
