import { randomUUID } from 'node:crypto';
import type { ObjectInfo, ObjectStore } from '../../shared/ports/object-store.ts';

/**
 * Cloud Storage "object finalized" events for a local folder: what Eventarc would POST to the
 * ingest function when an upload completes, sent to a local ingest function instead.
 */

export const OBJECT_FINALIZED = 'google.cloud.storage.object.v1.finalized';

/** Cloud Storage's StorageObjectData as Eventarc delivers it (int64 fields as decimal strings). */
export interface StorageObjectData {
  kind: 'storage#object';
  id: string;
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  size: string;
  contentType: string;
  storageClass: 'STANDARD';
  timeCreated: string;
  updated: string;
  metadata?: Record<string, string>;
}

export interface FinalizedEvent {
  /** Binary-mode CloudEvent: the attributes travel as ce-* headers, the data is the body. */
  headers: Record<string, string>;
  body: StorageObjectData;
}

/** The CloudEvent Eventarc sends for this version of the object. */
export function finalizedEvent(object: ObjectInfo, time: Date = new Date()): FinalizedEvent {
  const body: StorageObjectData = {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    bucket: object.bucket,
    name: object.name,
    generation: object.generation,
    metageneration: '1',
    size: String(object.size),
    contentType: object.contentType ?? 'application/octet-stream',
    storageClass: 'STANDARD',
    timeCreated: object.updated,
    updated: object.updated,
    ...(Object.keys(object.metadata).length > 0 ? { metadata: object.metadata } : {}),
  };
  return {
    headers: {
      'content-type': 'application/json',
      'ce-id': randomUUID(),
      'ce-specversion': '1.0',
      'ce-type': OBJECT_FINALIZED,
      'ce-source': `//storage.googleapis.com/projects/_/buckets/${object.bucket}`,
      'ce-subject': `objects/${object.name}`,
      'ce-time': time.toISOString(),
      // Eventarc's extension attribute for storage events.
      'ce-bucket': object.bucket,
    },
    body,
  };
}

export interface EventDelivery {
  name: string;
  generation: string;
  /** HTTP attempts made (Eventarc retries failures, so do we). */
  attempts: number;
  outcome: 'delivered' | 'failed';
  /** Last HTTP status, or undefined when the function could not be reached. */
  status?: number;
  at: string;
}

export interface FolderWatcherOptions {
  /** The local store that maps the bucket to the folder (generations come from it). */
  store: ObjectStore;
  bucket: string;
  /** Where events go: the ingest function's URL. */
  targetUrl: string;
  /** Default 200 ms. */
  pollMs?: number;
  /** Delivery attempts per event, like an Eventarc trigger with retries on. Default 5. */
  maxAttempts?: number;
  /** Backoff before the first retry, doubled after each. Default 500 ms. */
  retryBackoffMs?: number;
  onDelivery?: (delivery: EventDelivery) => void;
  onError?: (error: unknown) => void;
}

export interface FolderWatcher {
  /** Every event delivered (or given up on) so far, in order of completion. */
  deliveries(): readonly EventDelivery[];
  /** Stops polling and waits for deliveries in flight. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls the folder and sends one finalized event per new object version, once the file has
 * stopped changing: a version is sent when two consecutive scans see the same generation and
 * size (a file still being written changes its mtime, so its generation, on every write).
 * Existing files are sent too, as a backfill. Polling, not fs.watch: it sees exactly the
 * generations the store reports, and behaves the same on every platform.
 */
export function watchBucketFolder(options: FolderWatcherOptions): FolderWatcher {
  const pollMs = options.pollMs ?? 200;
  const sent = new Map<string, string>();
  const pending = new Map<string, string>();
  const done: EventDelivery[] = [];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  const deliver = async (object: ObjectInfo) => {
    const record = await deliverEvent(options, object, () => stopped);
    done.push(record);
    options.onDelivery?.(record);
  };
  const scan = async () => {
    const objects = await options.store.list(options.bucket, '');
    for (const object of objects) {
      const version = `${object.generation}/${object.size}`;
      if (sent.get(object.name) === object.generation) continue;
      if (pending.get(object.name) !== version) {
        pending.set(object.name, version);
        continue;
      }
      pending.delete(object.name);
      sent.set(object.name, object.generation);
      const delivery = deliver(object).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        await scan();
      } catch (error) {
        options.onError?.(error);
      }
      await sleep(pollMs);
    }
  })();
  return {
    deliveries: () => done,
    stop: async () => {
      stopped = true;
      await loop;
      await Promise.all(inFlight);
    },
  };
}

/** POSTs the object's finalized event until it is accepted, with backoff, as Eventarc retries. */
async function deliverEvent(
  options: FolderWatcherOptions,
  object: ObjectInfo,
  stopped: () => boolean,
): Promise<EventDelivery> {
  const maxAttempts = options.maxAttempts ?? 5;
  let backoff = options.retryBackoffMs ?? 500;
  let status: number | undefined;
  let attempts = 0;
  let delivered = false;
  while (attempts < maxAttempts && !stopped()) {
    attempts++;
    const event = finalizedEvent(object);
    try {
      const response = await fetch(options.targetUrl, {
        method: 'POST',
        headers: event.headers,
        body: JSON.stringify(event.body),
      });
      await response.arrayBuffer();
      status = response.status;
      delivered = response.ok;
    } catch {
      status = undefined;
    }
    if (delivered) break;
    await sleep(backoff);
    backoff *= 2;
  }
  return {
    name: object.name,
    generation: object.generation,
    attempts,
    outcome: delivered ? 'delivered' : 'failed',
    ...(status === undefined ? {} : { status }),
    at: new Date().toISOString(),
  };
}
