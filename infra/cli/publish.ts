import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config.ts';
import { BananaError } from '../../shared/errors.ts';
import { parseRequestMessage } from '../../shared/requests/parse-request.ts';
import type { EditRequest } from '../../shared/requests/request-schema.ts';
import { MANIFEST_SUFFIX } from '../../shared/sidecar/drop-files.ts';
import { parseSidecar } from '../../shared/sidecar/parse-sidecar.ts';
import type { Manifest } from '../../shared/sidecar/sidecar-schema.ts';
import type { CloudCommand } from './cloud/cloud-io.ts';

/**
 * `bananaflow publish <manifest.jobs.json | request.json> --topic projects/P/topics/T`: turns a
 * request file (one request) or a manifest (one request per job, its `defaults` merged in) into
 * request messages, checks every one against schema/request.v1.json, and publishes them only if
 * all are valid. Prints `<requestId> <messageId>` per request. Whether inputs exist is checked by
 * the requests function (it answers on the results topic), not here.
 */

const PUBLISH_USAGE =
  'Usage: bananaflow publish <manifest.jobs.json | request.json> --topic projects/P/topics/T [--prefix <folder/>] [--json]';

/** The `publish` command: validate every request of the file, then publish them all. */
export const publishCommand: CloudCommand = async ({ args, env, io }) => {
  const { values, positionals } = parseArgs({
    args,
    options: {
      topic: { type: 'string' },
      prefix: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  const [file] = positionals;
  if (!file || !values.topic) {
    io.err.write(`bananaflow publish: give a file and --topic.\n${PUBLISH_USAGE}\n`);
    return 2;
  }
  const config = loadConfig(env);
  const loaded = await requestsFromFile(file, {
    prefix: values.prefix,
    maxBytes: config.BANANAFLOW_MAX_SIDECAR_BYTES,
  });
  if (!loaded.ok) {
    for (const p of loaded.problems) {
      io.err.write(`✗ ${p.code}: ${p.message}${p.fix ? `\n  fix: ${p.fix}` : ''}\n`);
    }
    io.err.write('Nothing was published.\n');
    return 1;
  }
  const published = await publishRequests(values.topic, loaded.requests, env);
  if (values.json) io.out.write(`${JSON.stringify(published, null, 2)}\n`);
  else for (const p of published) io.out.write(`${p.requestId}\t${p.messageId}\n`);
  io.err.write(
    `Published ${published.length} request(s) to ${values.topic}. Answers come on the results topic with attributes.requestId (docs/requests.md).\n`,
  );
  return 0;
};

export interface Published {
  requestId: string;
  messageId: string;
}

/** The requests a file holds, validated; problems name the file, the job and the field. */
export async function requestsFromFile(
  path: string,
  options: { prefix?: string | undefined; maxBytes: number },
): Promise<{ ok: true; requests: EditRequest[] } | { ok: false; problems: BananaError[] }> {
  const bytes = await readFile(path);
  const name = basename(path);
  let candidates: unknown[];
  if (name.endsWith(MANIFEST_SUFFIX)) {
    const parsed = parseSidecar(name, 'manifest', bytes, options.maxBytes);
    if (!parsed.ok) return { ok: false, problems: parsed.errors };
    if (parsed.sidecar.kind !== 'manifest') throw new Error('unreachable: parsed as a manifest');
    const converted = requestsFromManifest(name, parsed.sidecar.spec, options.prefix ?? '');
    if (!converted.ok) return converted;
    candidates = converted.requests;
  } else {
    candidates = [undefined];
  }
  const requests: EditRequest[] = [];
  const problems: BananaError[] = [];
  candidates.forEach((candidate, index) => {
    const data = candidate === undefined ? bytes : Buffer.from(JSON.stringify(candidate));
    const parsed = parseRequestMessage(
      { messageId: 'local', attributes: {}, data },
      options.maxBytes,
    );
    if (parsed.ok) requests.push(parsed.request);
    else
      problems.push(
        ...parsed.problems.map((p) =>
          candidate === undefined ? p : reword(p, `${name} jobs[${index}]`),
        ),
      );
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, requests };
}

/** One request per manifest job: defaults merged field by field, as the planner merges them. */
function requestsFromManifest(
  file: string,
  manifest: Manifest,
  prefix: string,
): { ok: true; requests: object[] } | { ok: false; problems: BananaError[] } {
  if (manifest.maxCostUsd !== undefined) {
    return {
      ok: false,
      problems: [
        new BananaError({
          code: 'REQUEST_INVALID',
          message: `${file}: field "maxCostUsd": a cap over all jobs cannot hold over separate requests.`,
          fix: 'Move it to "defaults.maxCostUsd" (a cap per job) or onto each job.',
          details: { file, field: 'maxCostUsd' },
        }),
      ],
    };
  }
  const { prompt, steps, ...defaults } = manifest.defaults ?? {};
  // Manifest paths are relative (the schema refuses URLs): object names under the prefix.
  const named = (names: string[] | undefined) => names?.map((n) => `${prefix}${n}`);
  const requests = manifest.jobs.map((job) => {
    const ownTurns = job.prompt !== undefined || job.steps !== undefined;
    const merged: Record<string, unknown> = {
      ...defaults,
      ...(ownTurns ? {} : { prompt, steps }),
      ...job,
      output: { ...defaults.output, ...job.output },
      tags: { ...defaults.tags, ...job.tags },
      inputs: named(job.inputs ?? defaults.inputs),
      references: named(job.references ?? defaults.references),
    };
    return Object.fromEntries(
      Object.entries(merged).filter(
        ([, v]) =>
          v !== undefined && !(typeof v === 'object' && Object.keys(v as object).length === 0),
      ),
    );
  });
  return { ok: true, requests };
}

function reword(problem: BananaError, where: string): BananaError {
  return new BananaError({
    code: problem.code,
    message: problem.message.replace(/^request \S+: /, `${where}: `),
    ...(problem.fix ? { fix: problem.fix } : {}),
    details: problem.details,
  });
}

const TOPIC = /^projects\/([^/]+)\/topics\/([^/]+)$/;

/**
 * Publishes each request (JSON body, `requestId` attribute); resolves once Pub/Sub accepted all.
 * PUBSUB_EMULATOR_HOST in `env` points the client at the emulator.
 */
export async function publishRequests(
  topicName: string,
  requests: readonly EditRequest[],
  env: NodeJS.ProcessEnv,
): Promise<Published[]> {
  const match = TOPIC.exec(topicName);
  if (!match) {
    throw new BananaError({
      code: 'CONFIG_INVALID',
      message: `--topic must be projects/PROJECT/topics/TOPIC, not "${topicName}".`,
      fix: 'Use the requests topic id Terraform prints (output topics.requests.id).',
    });
  }
  const { PubSub } = await import('@google-cloud/pubsub');
  const emulator = env.PUBSUB_EMULATOR_HOST;
  const pubsub = new PubSub({
    projectId: match[1],
    ...(emulator ? { apiEndpoint: emulator, emulatorMode: true } : {}),
  });
  try {
    const topic = pubsub.topic(topicName);
    return await Promise.all(
      requests.map(async (request) => {
        const requestId = request.requestId ?? '';
        const messageId = await topic.publishMessage({
          data: Buffer.from(JSON.stringify(request)),
          attributes: { requestId },
        });
        return { requestId, messageId };
      }),
    );
  } finally {
    await pubsub.close();
  }
}
