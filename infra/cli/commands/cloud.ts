import { backfillCommand } from '../cloud/backfill-command.ts';
import type { CloudCommand } from '../cloud/cloud-io.ts';
import { resumeCommand } from '../cloud/resume-command.ts';
import { statusCommand } from '../cloud/status-command.ts';
import { submitCommand } from '../cloud/submit-command.ts';
import { type CommandInput, type CommandSpec, JSON_OPTION } from '../command.ts';
import { publishCommand } from '../publish.ts';

/** The cloud commands parse their own arguments; the spec gives them help and checked flags. */
const delegate = (command: CloudCommand) => (input: CommandInput) =>
  command({ args: input.argv, env: input.env, io: input.io });

const MAX_USD = {
  type: 'string',
  value: '<usd>',
  number: 'positive',
} as const;

export const submitSpec: CommandSpec = {
  name: 'submit',
  summary: 'upload a local drop to a deployment (plans and estimates first; only changes upload)',
  description: `Plans <drop-folder> locally with the same planner ingest runs, prints the estimate, refuses over
--max-usd, then uploads images before sidecars to the deployment's input bucket. A re-run uploads
only files whose bytes changed, and only their jobs count against the cap.`,
  args: [
    { name: 'drop-folder', description: 'the local folder of images and sidecars' },
    { name: 'gs-url', description: 'gs://INPUT[/prefix] of a deployment (Terraform marks it)' },
  ],
  options: {
    'max-usd': {
      ...MAX_USD,
      description: 'Refuse to upload when the jobs it starts are estimated above this.',
      default: 'no cap',
    },
    json: JSON_OPTION,
  },
  examples: [
    'bananaflow submit examples/drop gs://my-project-bananaflow-input/shoot-1 --max-usd 5',
  ],
  run: delegate(submitCommand),
};

export const statusSpec: CommandSpec = {
  name: 'status',
  summary: "how far a deployment's drops have got and what they cost",
  description: `Counts planned, done, failed (by code), dead-lettered, in-progress and held jobs under a prefix of
the output bucket, with what they cost and the estimate of what remains. --watch follows the
results topic until Ctrl-C.`,
  args: [{ name: 'gs-url', description: 'gs://OUTPUT[/prefix] of a deployment' }],
  options: {
    watch: {
      type: 'boolean',
      description:
        'Keep printing results as they come (a temporary subscription, removed on exit).',
      default: 'off',
    },
    json: JSON_OPTION,
  },
  examples: [
    'bananaflow status gs://my-project-bananaflow-output/shoot-1',
    'bananaflow status gs://my-project-bananaflow-output --watch',
  ],
  run: delegate(statusCommand),
};

export const backfillSpec: CommandSpec = {
  name: 'backfill',
  summary: 'plan jobs for objects already in the input bucket, publishing only under a cap',
  description: `Plans jobs for the images and sidecars already in the input bucket (uploaded before the deployment,
say) and publishes only new jobs, only while their estimate stays under --max-usd. A second run
plans nothing new.`,
  args: [{ name: 'gs-url', description: 'gs://INPUT[/prefix] of a deployment' }],
  options: {
    'max-usd': {
      ...MAX_USD,
      description: 'Required: publish nothing whose estimate would pass this.',
      default: 'none; required',
    },
    'dry-run': {
      type: 'boolean',
      description: 'Plan and print the estimate; publish and write nothing.',
      default: 'off',
    },
    json: JSON_OPTION,
  },
  examples: [
    'bananaflow backfill gs://my-project-bananaflow-input --max-usd 20 --dry-run',
    'bananaflow backfill gs://my-project-bananaflow-input --max-usd 20',
  ],
  run: delegate(backfillCommand),
};

export const resumeSpec: CommandSpec = {
  name: 'resume',
  summary: 'lift a spending pause and publish the jobs held meanwhile',
  description: `Lifts a spending pause (a budget alert, the daily cap, or set by hand) and publishes every job
held meanwhile to the jobs topic again.`,
  args: [{ name: 'gs-url', description: 'gs://OUTPUT of a deployment' }],
  options: {},
  examples: ['bananaflow resume gs://my-project-bananaflow-output'],
  run: delegate(resumeCommand),
};

export const publishSpec: CommandSpec = {
  name: 'publish',
  summary: 'send a request file or a manifest as request messages (all validated first)',
  description: `Turns a request file (one request) or a manifest (one request per job, its defaults merged in)
into request messages, checks every one against schema/request.v1.json, and publishes them to the
requests topic only if all are valid. Prints "<requestId> <messageId>" per request; answers come
on the results topic (docs/requests.md).`,
  args: [{ name: 'file', description: 'a NAME.jobs.json manifest or a request .json file' }],
  options: {
    topic: {
      type: 'string',
      value: '<projects/P/topics/T>',
      description: 'Required: the requests topic of a deployment.',
      default: 'none; required',
    },
    prefix: {
      type: 'string',
      value: '<folder/>',
      description: 'Folder of the input bucket the request paths are relative to.',
      default: 'the bucket root',
    },
    json: JSON_OPTION,
  },
  examples: [
    'bananaflow publish examples/requests/hat.request.json --topic projects/my-project/topics/bananaflow-requests',
  ],
  run: delegate(publishCommand),
};
