import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { FsObjectStore } from '../../shared/adapters/fs-object-store.ts';
import { loadConfig } from '../../shared/config.ts';
import type { JobResultEvent } from '../../shared/pipeline/result-event.ts';
import type { RequestEvent } from '../../shared/requests/request-event.ts';
import type { GeminiStandIn, GeminiStandInOptions } from '../gemini-stand-in/server.ts';
import { type BatchTicks, tickBatches } from './batch-ticker.ts';
import type { FunctionProcess } from './function-process.ts';
import { startPubSubEmulator } from './pubsub-emulator.ts';
import { tapResults } from './results-tap.ts';
import {
  compactLine,
  type OnFunctionLine,
  STACK_FUNCTIONS,
  type StackFunction,
  startStackFunction,
  startStackFunctions,
} from './stack-functions.ts';
import { startStackModel } from './stack-model.ts';
import { type EventDelivery, type FolderWatcher, watchBucketFolder } from './storage-events.ts';
import { createTopology, type TopicNames, type TopologyOptions } from './topology.ts';
import { startWorkerReplicas, type WorkerReplicas } from './worker-replicas.ts';

/**
 * The local emulator stack: the real Pub/Sub emulator, the functions each in its own
 * functions-framework process and port, push subscriptions wired as Terraform wires them, a folder
 * watched as the input bucket (sending the CloudEvents Eventarc sends), a folder as the output
 * bucket, and the Gemini stand-in unless the environment has Gemini credentials.
 */

export const INPUT_BUCKET = 'input';
export const OUTPUT_BUCKET = 'output';

export { STACK_FUNCTIONS, type StackFunction } from './stack-functions.ts';

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
  /** How often the batch-tick function is ticked (Cloud Scheduler's part); default 5 s. */
  batchTickMs?: number;
  /** The stand-in's batch turnaround in ms (default its own, 1 s). */
  batchTurnaroundMs?: number;
  /** Every line a function prints; default: printed, compacted, through `print`. */
  onFunctionLine?: (fn: StackFunction, line: string) => void;
  /**
   * Worker processes behind a round-robin balancer, as several cloud instances (default 1). Each
   * has its own rate governor: tell each its share of the quota (BANANAFLOW_IPM in `env`).
   */
  workers?: number;
  /**
   * The stand-in's per-model quota (sliding window; every worker shares it) and whether it
   * answers with placeholder images (throughput benches). Default: no quota, rendered images.
   */
  standIn?: Pick<GeminiStandInOptions, 'quota' | 'placeholderImages'>;
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
  /** Every worker process (the first is `functions.worker`), and pushes each one received. */
  workers(): Array<{ url: string; pid: number; pushes?: number }>;
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
  const baseEnv = options.env ?? process.env;
  const topics: TopicNames = { ...DEFAULT_TOPICS, ...options.topics };
  const { inputDir, outputDir } = await stackFolders(options);
  const stoppers = new Stoppers(print);
  try {
    const { standIn, ...model } = await startStackModel(loadConfig(baseEnv), options.standIn);
    if (standIn) stoppers.add(() => standIn.close());
    print(model.notice);
    // Vertex AI reads GOOGLE_CLOUD_PROJECT too: the emulator's topics then live in that project
    // (the emulator takes any), so the functions call Vertex in the user's project.
    const projectId = options.projectId ?? model.vertexProject ?? 'bananaflow-local';
    const emulator = await startPubSubEmulator({ projectId });
    stoppers.add(() => emulator.stop());
    const env = functionEnv(baseEnv, model.env, {
      emulator,
      projectId,
      topics,
      inputDir,
      outputDir,
    });
    const onLine = options.onFunctionLine ?? ((fn, line) => print(compactLine(fn, line)));
    const running = await startFunctions(options, env, onLine, stoppers);
    const { functions } = running;
    const pubsub = new PubSub({ projectId, apiEndpoint: emulator.host, emulatorMode: true });
    stoppers.add(() => pubsub.close());
    const topology = await createTopology(
      pubsub,
      topologyOptions(options, projectId, topics, running),
    );
    const results = await tapResults(topology.topics.results, `${topics.results}-stack`, print);
    stoppers.add(results.close);
    await tickBatches(pubsub, batchTicks(options, projectId, functions, standIn), stoppers);
    const watcher = watchDrop(options, inputDir, functions.ingest.url, print);
    stoppers.add(() => watcher.stop());
    const stack: Stack = {
      inputDir,
      outputDir,
      inputBucket: INPUT_BUCKET,
      outputBucket: OUTPUT_BUCKET,
      projectId,
      emulatorHost: emulator.host,
      topics,
      functions: functionSummaries(functions),
      workers: () => workerSummaries(running),
      ...(standIn ? { standIn } : {}),
      results: () => results.events,
      requestEvents: () => results.requestEvents,
      storageEvents: () => watcher.deliveries(),
      ...controls(functions, env, onLine, topology),
      stop: () => stoppers.stopAll(),
    };
    print(banner(stack));
    return stack;
  } catch (error) {
    await stoppers.stopAll();
    throw error;
  }
}

/**
 * What a test does to the stack: wait for a function's exit, restart it on the same port, publish
 * a job as ingest would.
 */
function controls(
  functions: Record<StackFunction, FunctionProcess>,
  env: NodeJS.ProcessEnv,
  onLine: OnFunctionLine,
  topology: { topics: { jobs: Topic } },
): Pick<Stack, 'exited' | 'restartFunction' | 'publishJob'> {
  return {
    publishJob: (job) =>
      topology.topics.jobs.publishMessage({ data: Buffer.from(JSON.stringify(job)) }),
    exited: (target) => functions[target].exited,
    restartFunction: async (target, envOverrides = {}) => {
      await functions[target].stop();
      const fnEnv = { ...env, ...envOverrides };
      functions[target] = await startStackFunction(target, functions[target].port, fnEnv, onLine);
    },
  };
}

/** Where the stack's batch ticks go, and how often (Cloud Scheduler's part). */
function batchTicks(
  options: StackOptions,
  projectId: string,
  functions: Record<StackFunction, FunctionProcess>,
  standIn: GeminiStandIn | undefined,
): BatchTicks {
  return {
    projectId,
    url: functions.batchTick.url,
    everyMs: options.batchTickMs ?? 5_000,
    topic: options.topics?.batchTick ?? DEFAULT_TOPICS.batchTick,
    standIn,
    turnaroundMs: options.batchTurnaroundMs,
  };
}

const DEFAULT_TOPICS: TopicNames = {
  jobs: 'bananaflow-jobs',
  results: 'bananaflow-results',
  deadLetter: 'bananaflow-dead-letter',
  budget: 'bananaflow-budget',
  requests: 'bananaflow-requests',
  requestsDeadLetter: 'bananaflow-requests-dead-letter',
  batchTick: 'bananaflow-batch-tick',
};

/** Stops what was started, last started first (watcher, functions, emulator). Idempotent. */
class Stoppers {
  private readonly stoppers: Array<() => Promise<void>> = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly print: (line: string) => void) {}

  add(stop: () => Promise<void>): void {
    this.stoppers.push(stop);
  }

  stopAll(): Promise<void> {
    this.stopping ??= (async () => {
      for (const stopOne of this.stoppers.reverse()) {
        await stopOne().catch((error: unknown) => this.print(`stop: ${(error as Error).message}`));
      }
    })();
    return this.stopping;
  }
}

async function stackFolders(options: StackOptions) {
  const inputDir = path.resolve(
    options.dropDir ?? (await mkdtemp(path.join(tmpdir(), 'bf-drop-'))),
  );
  const outputDir = path.resolve(options.outDir ?? (await mkdtemp(path.join(tmpdir(), 'bf-out-'))));
  assertApart(inputDir, outputDir);
  await mkdir(inputDir, { recursive: true });
  await mkdir(outputDir, { recursive: true });
  return { inputDir, outputDir };
}

/** The environment every function gets: the deployed functions' variables, pointed at the stack. */
function functionEnv(
  baseEnv: NodeJS.ProcessEnv,
  modelEnv: NodeJS.ProcessEnv,
  at: {
    emulator: { host: string };
    projectId: string;
    topics: TopicNames;
    inputDir: string;
    outputDir: string;
  },
): NodeJS.ProcessEnv {
  return {
    ...baseEnv,
    ...modelEnv,
    PUBSUB_EMULATOR_HOST: at.emulator.host,
    GOOGLE_CLOUD_PROJECT: at.projectId,
    BANANAFLOW_LOCAL_BUCKET_ROOTS: JSON.stringify({
      [INPUT_BUCKET]: at.inputDir,
      [OUTPUT_BUCKET]: at.outputDir,
    }),
    BANANAFLOW_INPUT_BUCKET: INPUT_BUCKET,
    BANANAFLOW_OUTPUT_BUCKET: OUTPUT_BUCKET,
    BANANAFLOW_JOBS_TOPIC: at.topics.jobs,
    BANANAFLOW_RESULTS_TOPIC: at.topics.results,
    // Batch tier: a short window and lease, so the stack's batch path answers in seconds.
    BANANAFLOW_BATCH_WINDOW_MS: baseEnv.BANANAFLOW_BATCH_WINDOW_MS ?? '2000',
    BANANAFLOW_BATCH_LEASE_MS: baseEnv.BANANAFLOW_BATCH_LEASE_MS ?? '60000',
    // No metadata server here: skip Google's auth libraries probing for one (and their warning).
    METADATA_SERVER_DETECTION: baseEnv.METADATA_SERVER_DETECTION ?? 'none',
  };
}

/** The function processes, and the worker's replicas behind their balancer. */
interface RunningFunctions {
  functions: Record<StackFunction, FunctionProcess>;
  replicas: WorkerReplicas;
}

async function startFunctions(
  options: StackOptions,
  env: NodeJS.ProcessEnv,
  onLine: OnFunctionLine,
  stoppers: Stoppers,
): Promise<RunningFunctions> {
  const functions = await startStackFunctions(env, onLine);
  for (const { target } of STACK_FUNCTIONS) stoppers.add(() => functions[target].stop());
  const replicas = await startWorkerReplicas(functions.worker, options.workers ?? 1, env, onLine);
  stoppers.add(() => replicas.stop());
  return { functions, replicas };
}

function workerSummaries({ functions, replicas }: RunningFunctions): ReturnType<Stack['workers']> {
  const counts = replicas.balancer?.counts();
  return [functions.worker, ...replicas.extra].map((w, i) => ({
    url: w.url,
    pid: w.pid,
    ...(counts ? { pushes: counts[i] ?? 0 } : {}),
  }));
}

function topologyOptions(
  options: StackOptions,
  projectId: string,
  topics: TopicNames,
  { functions, replicas }: RunningFunctions,
): TopologyOptions {
  const backoff =
    options.minBackoffSeconds !== undefined || options.maxBackoffSeconds !== undefined;
  return {
    projectId,
    topics,
    workerUrl: replicas.pushUrl,
    deadLetterUrl: functions.deadLetter.url,
    budgetGuardUrl: functions.budgetGuard.url,
    requestsUrl: functions.requests.url,
    // No retry policy by default: the emulator stalls under one (see topology.ts). The cloud's
    // subscription has one (Terraform's retry_policy).
    ...(backoff
      ? {
          retryBackoffSeconds: {
            min: options.minBackoffSeconds ?? 1,
            max: options.maxBackoffSeconds ?? 5,
          },
        }
      : {}),
    maxDeliveryAttempts: options.maxDeliveryAttempts ?? 5,
    ackDeadlineSeconds: options.ackDeadlineSeconds ?? 60,
  };
}

/** Watches the drop folder and sends ingest the CloudEvents Eventarc would. */
function watchDrop(
  options: StackOptions,
  inputDir: string,
  ingestUrl: string,
  print: (line: string) => void,
): FolderWatcher {
  return watchBucketFolder({
    store: new FsObjectStore({ [INPUT_BUCKET]: inputDir }),
    bucket: INPUT_BUCKET,
    targetUrl: ingestUrl,
    ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
    onDelivery: (d) => {
      if (d.outcome === 'failed') {
        print(`upload: ${d.name} NOT ingested after ${d.attempts} attempts (HTTP ${d.status})`);
      }
    },
    onError: (error) => print(`watcher: ${(error as Error).message}`),
  });
}

function functionSummaries(functions: Record<StackFunction, FunctionProcess>): Stack['functions'] {
  return Object.fromEntries(
    STACK_FUNCTIONS.map(({ target }) => {
      const { url, port, pid, startupMs } = functions[target];
      return [target, { url, port, pid, startupMs }];
    }),
  ) as Stack['functions'];
}

function banner(stack: Stack): string {
  return [
    'bananaflow emulator stack is up',
    `  input bucket  "${INPUT_BUCKET}"  = ${stack.inputDir}   (drop images and sidecars here)`,
    `  output bucket "${OUTPUT_BUCKET}" = ${stack.outputDir}`,
    `  Pub/Sub emulator  ${stack.emulatorHost}  project ${stack.projectId}`,
    `  topics  jobs=${stack.topics.jobs}  results=${stack.topics.results}  dead-letter=${stack.topics.deadLetter}  budget=${stack.topics.budget}  batch-tick=${stack.topics.batchTick}`,
    `  requests=${stack.topics.requests}  (publish request messages here: docs/requests.md; dead letters ${stack.topics.requestsDeadLetter})`,
    ...STACK_FUNCTIONS.map(({ target }) => {
      const fn = stack.functions[target];
      return `  ${target.padEnd(10)} ${fn.url}  (pid ${fn.pid}, up in ${fn.startupMs} ms)`;
    }),
    ...(stack.standIn
      ? [`  Gemini stand-in ${stack.standIn.url}  (stats: ${stack.standIn.url}/__standin/stats)`]
      : []),
  ].join('\n');
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
