import type { PubSub } from '@google-cloud/pubsub';
import { GcsObjectStore } from '../../../shared/adapters/gcs-object-store.ts';
import { PubSubJobQueue } from '../../../shared/adapters/pubsub-job-queue.ts';
import { BananaError } from '../../../shared/errors.ts';
import {
  type DeploymentMarker,
  readDeploymentMarker,
} from '../../../shared/pipeline/deployment-marker.ts';
import type { ObjectStore } from '../../../shared/ports/object-store.ts';

/**
 * A deployed bananaflow seen from the CLI: a gs:// URL of its input or output bucket, the
 * deployment marker found there, and the clients to reach it (Application Default Credentials;
 * STORAGE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST point them at test servers and emulators).
 */
export interface CloudTarget {
  bucket: string;
  prefix: string;
  marker: DeploymentMarker;
  store: ObjectStore;
  pubsub(): Promise<PubSub>;
  queue(): Promise<PubSubJobQueue>;
  close(): Promise<void>;
}

/** gs://bucket[/prefix] → its parts; anything else is a usage error naming the argument. */
export function parseGsUrl(
  url: string | undefined,
  what: string,
): { bucket: string; prefix: string } {
  const match = url ? /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(?:\/(.*))?$/.exec(url) : null;
  if (!match?.[1]) {
    throw new Error(`${what} must be a gs://BUCKET[/prefix] URL, not "${url ?? ''}".`);
  }
  const prefix = match[2] ?? '';
  return { bucket: match[1], prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix };
}

const NO_CREDENTIALS =
  /default credentials|could not refresh access token|invalid_grant|reauthenticate|invalid_rapt/i;

/** Opens the deployment behind a gs:// URL, refusing a bucket that is not bananaflow's. */
export async function openCloudTarget(
  url: string | undefined,
  what: string,
  env: NodeJS.ProcessEnv,
  expect: 'input' | 'output' | 'either' = 'either',
): Promise<CloudTarget> {
  const { bucket, prefix } = parseGsUrl(url, what);
  const { Storage } = await import('@google-cloud/storage');
  const storage = new Storage({
    ...(env.STORAGE_EMULATOR_HOST ? { apiEndpoint: env.STORAGE_EMULATOR_HOST } : {}),
    ...(env.GOOGLE_CLOUD_PROJECT ? { projectId: env.GOOGLE_CLOUD_PROJECT } : {}),
  });
  const store = new GcsObjectStore(storage, { timeoutMs: 30_000 });
  const marker = await withCredentialsHint(bucket, () => readDeploymentMarker(store, bucket));
  const role = bucket === marker.inputBucket ? 'input' : 'output';
  if (expect !== 'either' && role !== expect) {
    throw new Error(
      `${what} must be the deployment's ${expect} bucket (gs://${expect === 'input' ? marker.inputBucket : marker.outputBucket}), not its ${role} bucket.`,
    );
  }
  let client: PubSub | undefined;
  const pubsub = async () => {
    if (!client) {
      const { PubSub } = await import('@google-cloud/pubsub');
      const emulator = env.PUBSUB_EMULATOR_HOST;
      client = new PubSub({
        projectId: marker.project,
        ...(emulator ? { apiEndpoint: emulator, emulatorMode: true } : {}),
      });
    }
    return client;
  };
  return {
    bucket,
    prefix,
    marker,
    store,
    pubsub,
    queue: async () => new PubSubJobQueue(await pubsub(), marker.topics),
    close: async () => {
      await client?.close();
    },
  };
}

/** Turns "no credentials" into the one line that fixes it. */
export async function withCredentialsHint<T>(bucket: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const text = `${(error as Error).message} ${String((error as { cause?: Error }).cause?.message ?? '')}`;
    if (NO_CREDENTIALS.test(text)) {
      throw new BananaError({
        code: 'CONFIG_INVALID',
        message: `No Google Cloud credentials to read gs://${bucket}.`,
        fix: 'Log in with `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file), then run the command again.',
        cause: error,
      });
    }
    throw error;
  }
}
