import { join } from 'node:path';
import { FsObjectStore } from '../shared/adapters/fs-object-store.ts';
import { createJsonLogger } from '../shared/adapters/json-logger.ts';
import { loadModelCatalog, type ModelCatalog } from '../shared/catalog/model-catalog.ts';
import { type Config, loadConfig } from '../shared/config.ts';
import type { RequestDeps } from '../shared/pipeline/accept-request.ts';
import type { IngestDeps } from '../shared/pipeline/ingest-upload.ts';
import type { JobQueue, RequestEventSink } from '../shared/ports/job-queue.ts';
import type { Logger } from '../shared/ports/logger.ts';
import type { ObjectStore } from '../shared/ports/object-store.ts';
import { buildIngestDeps, buildRequestDeps } from '../shared/wiring/planner-deps.ts';
import { requireBuckets } from '../shared/wiring/worker-deps.ts';
import type { FunctionName } from './function-table.ts';

/**
 * What every function instance builds once: config, adapters and the logger. The Cloud Storage
 * client is imported only when buckets are not local folders. The model SDK is not here at all:
 * only the worker's own factory (worker/worker-deps.ts) imports it.
 */

export { FUNCTION_NAMES, type FunctionName } from './function-table.ts';

export interface FunctionRuntime {
  config: Config;
  store: ObjectStore;
  /** Jobs and results topics; the requests function also announces request events on results. */
  queue: JobQueue & RequestEventSink;
  catalog: ModelCatalog;
  log: Logger;
  now: () => Date;
  /** gs://bucket/name in the cloud; the file's path when buckets are local folders. */
  uriOf: (bucket: string, name: string) => string;
}

/** Parses the config and builds the adapters every function shares. */
export async function createRuntime(
  name: FunctionName,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FunctionRuntime> {
  const config = loadConfig(env);
  const log = createJsonLogger({ level: config.LOG_LEVEL, base: { function: name } });
  const roots = config.BANANAFLOW_LOCAL_BUCKET_ROOTS;
  let store: ObjectStore;
  let uriOf: FunctionRuntime['uriOf'];
  if (roots) {
    store = new FsObjectStore(roots);
    uriOf = (bucket, object) =>
      roots[bucket] ? join(roots[bucket], object) : `${bucket}/${object}`;
  } else {
    const [{ Storage }, { GcsObjectStore }] = await Promise.all([
      import('@google-cloud/storage'),
      import('../shared/adapters/gcs-object-store.ts'),
    ]);
    store = new GcsObjectStore(new Storage());
    uriOf = (bucket, object) => `gs://${bucket}/${object}`;
  }
  const [{ PubSub }, { PubSubJobQueue }] = await Promise.all([
    import('@google-cloud/pubsub'),
    import('../shared/adapters/pubsub-job-queue.ts'),
  ]);
  // One client per instance (a client per invocation leaks); it reads PUBSUB_EMULATOR_HOST and
  // GOOGLE_CLOUD_PROJECT itself, as it does in the cloud.
  const queue = new PubSubJobQueue(new PubSub(), {
    jobs: config.BANANAFLOW_JOBS_TOPIC,
    results: config.BANANAFLOW_RESULTS_TOPIC,
  });
  return {
    config,
    store,
    queue,
    catalog: loadModelCatalog(config.BANANAFLOW_MODEL_OVERRIDES),
    log,
    now: () => new Date(),
    uriOf,
  };
}

/** The ingest function's deps; both bucket names are required. */
export function ingestDeps(runtime: FunctionRuntime): IngestDeps {
  return buildIngestDeps(runtime.config, {
    ...runtime,
    buckets: requireBuckets(runtime.config, 'ingest function'),
  });
}

/** The requests function's deps; both bucket names are required. */
export function requestDeps(runtime: FunctionRuntime): RequestDeps {
  return buildRequestDeps(runtime.config, {
    ...runtime,
    events: runtime.queue,
    buckets: requireBuckets(runtime.config, 'requests function'),
  });
}

/**
 * Builds a value on first use and hands the same one to every later call (one set of clients per
 * instance). A failed build is forgotten, so the next invocation tries again and logs again.
 */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
