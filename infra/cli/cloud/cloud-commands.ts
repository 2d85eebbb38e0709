import { publishCommand } from '../publish.ts';
import { backfillCommand } from './backfill-command.ts';
import type { CloudCommand } from './cloud-io.ts';
import { resumeCommand } from './resume-command.ts';
import { statusCommand } from './status-command.ts';
import { submitCommand } from './submit-command.ts';

/** Commands that operate a deployed bananaflow through its buckets and topics (gs:// URLs). */
export const CLOUD_COMMANDS: Readonly<Record<string, CloudCommand>> = {
  submit: submitCommand,
  status: statusCommand,
  backfill: backfillCommand,
  resume: resumeCommand,
  publish: publishCommand,
};

export const CLOUD_USAGE = `  bananaflow submit <drop-folder> gs://INPUT[/prefix] [--max-usd <n>] [--json]
  bananaflow status gs://OUTPUT[/prefix] [--watch] [--json]
  bananaflow backfill gs://INPUT[/prefix] --max-usd <n> [--dry-run] [--json]
  bananaflow resume gs://OUTPUT
  bananaflow publish <manifest.jobs.json | request.json> --topic projects/P/topics/T [--prefix <folder/>] [--json]`;
