import type { CommandSpec } from '../command.ts';
import { backfillSpec, publishSpec, resumeSpec, statusSpec, submitSpec } from './cloud.ts';
import { estimateCommand } from './estimate.ts';
import { modelsSpec } from './models.ts';
import { reportSpec } from './report.ts';
import { runCommand } from './run.ts';
import { validateCommand } from './validate.ts';

/** Every `bananaflow` command, in the order help lists them. Add a new command here. */
export const COMMANDS: readonly CommandSpec[] = [
  runCommand,
  estimateCommand,
  validateCommand,
  reportSpec,
  modelsSpec,
  submitSpec,
  statusSpec,
  backfillSpec,
  resumeSpec,
  publishSpec,
];
