import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import { FUNCTIONS, type FunctionName } from '../../functions/function-table.ts';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { geminiBackend, loadConfig } from '../../shared/config.ts';
import type { JobResultEvent } from '../../shared/pipeline/result-event.ts';
import type { RequestEvent } from '../../shared/requests/request-event.ts';
import { type GeminiStandIn, startGeminiStandIn } from '../gemini-stand-in/server.ts';
import { type FunctionProcess, startFunctionProcess } from './function-process.ts';
import { freePort, startPubSubEmulator } from './pubsub-emulator.ts';
import { type EventDelivery, type FolderWatcher, watchBucketFolder } from './storage-events.ts';
import { createTopology, type TopicNames } from './topology.ts';

/**
 * The local emulator stack: the real Pub/Sub emulator, the functions each in its own
 * functions-framework process and port, push subscriptions wired as Terraform wires them, a folder
 * watched as the input bucket (sending the CloudEvents Eventarc sends), a folder as the output
 * bucket, and the Gemini stand-in unless the environment has Gemini credentials.
 */

export const INPUT_BUCKET = 'input';
export const OUTPUT_BUCKET = 'output';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The functions of the function table: entry name as registered, and its source. */
export const STACK_FUNCTIONS = FUNCTIONS.map((f) => ({
  target: f.entryPoint,
  source: f.entry,
  signatureType: f.signatureType,
}));
export type StackFunction = FunctionName;

export interface StackOptions {
  /** Folder used as the input bucket; default a new temp folder. Existing files are ingested. */
  dropDir?: string;
  /** Folder used as the output bucket; default a new temp folder. */
  outDir?: string;
  /** Default 'bananaflow-local'. */
  projectId?: string;
  topics?: Partial<TopicNames>;
  /**
   * Jobs subscription retry policy. Default: none, because the emulator stops pushing when several
   * messages are retried under a retry policy (see topology.ts); it then redelivers about once a
   * second.
   */
  minBackoffSeconds?: number;
  maxBackoffSeconds?: number;
  /** Default 5 (Pub/Sub's minimum). */
  maxDeliveryAttempts?: number;
  /** Default 60 s. */
  ackDeadlineSeconds?: number;
  /** How often the input folder is scanned; default 200 ms. */
  pollMs?: number;
  /**
   * Environment the functions inherit (default process.env). Gemini credentials in it
   * (GEMINI_API_KEY, GOOGLE_API_KEY, or Vertex AI settings) mean real Gemini and no stand-in.
   */
  env?: NodeJS.ProcessEnv;
  /** The stack's own messages (where things are, result events); default console.log. */
  print?: (line: string) => void;
  /** Every line a function prints; default: printed, compacted, through `print`. */
  onFunctionLine?: (fn: StackFunction, line: string) => void;
}

export interface Stack {
  inputDir: string;
  outputDir: string;
  inputBucket: string;
  outputBucket: string;
  projectId: string;
  /** host:port of the Pub/Sub emulator (PUBSUB_EMULATOR_HOST). */
  emulatorHost: string;
  topics: TopicNames;
  functions: Record<StackFunction, Pick<FunctionProcess, 'url' | 'port' | 'pid' | 'startupMs'>>;
  /** The offline Gemini stand-in, when no credentials were found. */
  standIn?: GeminiStandIn;
  /** Job result events received so far on the results topic. */
  results(): readonly JobResultEvent[];
  /** Request events (request.accepted / request.rejected) received so far on the results topic. */
  requestEvents(): readonly RequestEvent[];
  /** Storage events sent to ingest so far (one per object version). */
  storageEvents(): readonly EventDelivery[];
  /** Resolves when the function's current process exits (a crash test's kill). */
  exited(target: StackFunction): Promise<void>;
  /** Restarts a function on the same port, with extra environment (e.g. a failpoint on or off). */
  restartFunction(target: StackFunction, env?: NodeJS.ProcessEnv): Promise<void>;
  /** Publishes a message to the jobs topic as ingest would (JSON body); resolves to its id. */
  publishJob(job: unknown): Promise<string>;
  /** Stops everything: watcher, functions (process groups), emulator, stand-in. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the whole stack; on failure, whatever already started is stopped again. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const print = options.print ?? ((line: string) => console.log(line));
  let projectId = options.projectId ?? 'bananaflow-local';
  const baseEnv = options.env ?? process.env;
  const topics: TopicNames = {
    jobs: 'bananaflow-jobs',
    results: 'bananaflow-results',
    deadLetter: 'bananaflow-dead-letter',
    budget: 'bananaflow-budget',
    requests: 'bananaflow-requests',
    requestsDeadLetter: 'bananaflow-requests-dead-letter',
    ...options.topics,
  };
  const inputDir = path.resolve(
    options.dropDir ?? (await mkdtemp(path.join(tmpdir(), 'bf-drop-'))),
  );
  const outputDir = path.resolve(options.outDir ?? (await mkdtemp(path.join(tmpdir(), 'bf-out-'))));
  assertApart(inputDir, outputDir);
  await mkdir(inputDir, { recursive: true });
  await mkdir(outputDir, { recursive: true });

  const stoppers: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    // Last started, first stopped: the watcher before the functions, those before the emulator.
    stopping ??= (async () => {
      for (const stopOne of stoppers.reverse()) {
        await stopOne().catch((error: unknown) => print(`stop: ${(error as Error).message}`));
      }
    })();
    return stopping;
  };

  try {
    const config = loadConfig(baseEnv);
    const backend = geminiBackend(config);
    let standIn: GeminiStandIn | undefined;
    const modelEnv: NodeJS.ProcessEnv = {};
    // Vertex AI reads GOOGLE_CLOUD_PROJECT too: the emulator's topics then live in that project
    // (the emulator takes any), so the functions call Vertex in the user's project.
    if (!options.projectId && backend?.kind === 'vertex-ai') projectId = backend.project;
    if (backend) {
      print(
        `Gemini: REAL ${backend.kind === 'vertex-ai' ? `Vertex AI (project ${backend.project})` : 'Gemini API'} from your environment. Every job spends money.`,
      );
    } else {
      standIn = await startGeminiStandIn({ port: 0 });
      const started = standIn;
      stoppers.push(() => started.close());
      modelEnv.GOOGLE_GEMINI_BASE_URL = standIn.url;
      modelEnv.GEMINI_API_KEY = 'offline-stand-in';
      print(
        `Gemini: no credentials (GEMINI_API_KEY, or GOOGLE_GENAI_USE_VERTEXAI + GOOGLE_CLOUD_PROJECT), so the OFFLINE STAND-IN answers at ${standIn.url}: synthetic images, no cost.`,
      );
    }

    const emulator = await startPubSubEmulator({ projectId });
    stoppers.push(() => emulator.stop());

    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      ...modelEnv,
      PUBSUB_EMULATOR_HOST: emulator.host,
      GOOGLE_CLOUD_PROJECT: projectId,
      BANANAFLOW_LOCAL_BUCKET_ROOTS: JSON.stringify({
        [INPUT_BUCKET]: inputDir,
        [OUTPUT_BUCKET]: outputDir,
      }),
      BANANAFLOW_INPUT_BUCKET: INPUT_BUCKET,
      BANANAFLOW_OUTPUT_BUCKET: OUTPUT_BUCKET,
      BANANAFLOW_JOBS_TOPIC: topics.jobs,
      BANANAFLOW_RESULTS_TOPIC: topics.results,
      // No metadata server here: skip Google's auth libraries probing for one (and their warning).
      METADATA_SERVER_DETECTION: baseEnv.METADATA_SERVER_DETECTION ?? 'none',
    };
    const onLine =
      options.onFunctionLine ?? ((fn: StackFunction, line: string) => print(compact(fn, line)));
    const startFunction = async (target: StackFunction, port: number, fnEnv: NodeJS.ProcessEnv) => {
      const spec = STACK_FUNCTIONS.find((f) => f.target === target);
      if (!spec) throw new Error(`unknown function ${target}`);
      return startFunctionProcess({
        target,
        source: path.join(REPO_ROOT, spec.source),
        signatureType: spec.signatureType,
        port,
        env: fnEnv,
        onLine: (line) => onLine(target, line),
      });
    };
    const started = await Promise.all(
      STACK_FUNCTIONS.map(
        async ({ target }) => [target, await startFunction(target, await freePort(), env)] as const,
      ),
    );
    // Mutable: a crash test restarts a function on the same port (the push endpoint stays valid).
    const functions = Object.fromEntries(started) as Record<StackFunction, FunctionProcess>;
    for (const { target } of STACK_FUNCTIONS) stoppers.push(() => functions[target].stop());

    const pubsub = new PubSub({ projectId, apiEndpoint: emulator.host, emulatorMode: true });
    stoppers.push(() => pubsub.close());
    const topology = await createTopology(pubsub, {
      projectId,
      topics,
      workerUrl: functions.worker.url,
      deadLetterUrl: functions.deadLetter.url,
      budgetGuardUrl: functions.budgetGuard.url,
      requestsUrl: functions.requests.url,
      // No retry policy by default: the emulator stalls under one (see topology.ts). The cloud's
      // subscription has one (Terraform's retry_policy).
      ...(options.minBackoffSeconds !== undefined || options.maxBackoffSeconds !== undefined
        ? {
            retryBackoffSeconds: {
              min: options.minBackoffSeconds ?? 1,
              max: options.maxBackoffSeconds ?? 5,
            },
          }
        : {}),
      maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5,
      ackDeadlineSeconds: options.ackDeadlineSeconds ?? 60,
    });

    const results: JobResultEvent[] = [];
    const requestEvents: RequestEvent[] = [];
    // The stack's own observer of the results topic (in the cloud, whoever needs the signal).
    const [resultsTap] = await topology.topics.results.createSubscription(
      `${topics.results}-stack`,
    );
    resultsTap.on('message', (message) => {
      message.ack();
      try {
        const event = JSON.parse(message.data.toString('utf8')) as JobResultEvent | RequestEvent;
        if ('type' in event) {
          requestEvents.push(event);
          print(requestLine(event));
          return;
        }
        results.push(event);
        print(
          `result: ${event.status === 'succeeded' ? 'OK  ' : 'FAIL'} job ${event.jobId}${event.errorCode ? ` ${event.errorCode}` : ''} $${event.costUsd.toFixed(4)} → ${event.recordUri}${event.requestId ? `  (request ${event.requestId})` : ''}`,
        );
      } catch {
        print(`result: undecodable message ${message.id}`);
      }
    });
    resultsTap.on('error', (error) => print(`results subscription: ${error.message}`));
    stoppers.push(() => resultsTap.close());

    const store = new FsObjectStore({ [INPUT_BUCKET]: inputDir });
    const watcher: FolderWatcher = watchBucketFolder({
      store,
      bucket: INPUT_BUCKET,
      targetUrl: functions.ingest.url,
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      onDelivery: (d) => {
        if (d.outcome === 'failed') {
          print(`upload: ${d.name} NOT ingested after ${d.attempts} attempts (HTTP ${d.status})`);
        }
      },
      onError: (error) => print(`watcher: ${(error as Error).message}`),
    });
    stoppers.push(() => watcher.stop());

    print(
      [
        'bananaflow emulator stack is up',
        `  input bucket  "${INPUT_BUCKET}"  = ${inputDir}   (drop images and sidecars here)`,
        `  output bucket "${OUTPUT_BUCKET}" = ${outputDir}`,
        `  Pub/Sub emulator  ${emulator.host}  project ${projectId}`,
        `  topics  jobs=${topics.jobs}  results=${topics.results}  dead-letter=${topics.deadLetter}  budget=${topics.budget}`,
        `  requests=${topics.requests}  (publish request messages here: docs/requests.md; dead letters ${topics.requestsDeadLetter})`,
        ...STACK_FUNCTIONS.map(
          ({ target }) =>
            `  ${target.padEnd(10)} ${functions[target].url}  (pid ${functions[target].pid}, up in ${functions[target].startupMs} ms)`,
        ),
        ...(standIn
          ? [`  Gemini stand-in ${standIn.url}  (stats: ${standIn.url}/__standin/stats)`]
          : []),
      ].join('\n'),
    );

    return {
      inputDir,
      outputDir,
      inputBucket: INPUT_BUCKET,
      outputBucket: OUTPUT_BUCKET,
      projectId,
      emulatorHost: emulator.host,
      topics,
      functions: Object.fromEntries(
        STACK_FUNCTIONS.map(({ target }) => {
          const { url, port, pid, startupMs } = functions[target];
          return [target, { url, port, pid, startupMs }];
        }),
      ) as Stack['functions'],
      ...(standIn ? { standIn } : {}),
      results: () => results,
      requestEvents: () => requestEvents,
      storageEvents: () => watcher.deliveries(),
      exited: (target) => functions[target].exited,
      restartFunction: async (target, envOverrides = {}) => {
        await functions[target].stop();
        functions[target] = await startFunction(target, functions[target].port, {
          ...env,
          ...envOverrides,
        });
      },
      publishJob: (job) =>
        topology.topics.jobs.publishMessage({ data: Buffer.from(JSON.stringify(job)) }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Outputs must never land in the input bucket (they would be ingested again). */
function assertApart(inputDir: string, outputDir: string): void {
  const inside = (child: string, parent: string) => {
    const rel = path.relative(parent, child);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  if (inside(inputDir, outputDir) || inside(outputDir, inputDir)) {
    throw new Error(`The drop folder ${inputDir} and the output folder ${outputDir} overlap.`);
  }
}

/** One function log line, readable: `[worker] INFO job succeeded jobId=… cost=…`. */
function compact(fn: StackFunction, line: string): string {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { severity, message, time: _time, function: _fn, ...rest } = entry;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `[${fn}] ${String(severity)} ${String(message)}${fields ? `  ${fields}` : ''}`;
  } catch {
    return `[${fn}] ${line}`;
  }
}

/** One line per request event: `request: ACCEPTED order-7 → 2 jobs` or the rejection's first problem. */
function requestLine(event: RequestEvent): string {
  if (event.type === 'request.accepted') {
    return `request: ACCEPTED ${event.requestId} → ${event.jobIds.length} jobs, est. $${event.estimatedCostUsd.toFixed(4)}`;
  }
  const [first] = event.problems;
  return `request: REJECTED ${event.requestId} ${event.errorCode}${first ? `: ${first.message}` : ''}`;
}
