import type { Usage } from '../catalog/cost.ts';
import type { ErrorCode } from '../errors.ts';
import type { JobQueue } from '../ports/job-queue.ts';
import type { Logger } from '../ports/logger.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { JobState } from './job-state.ts';
import type { JobResultEvent } from './result-event.ts';

/**
 * The result event of a finished job goes out at least once: it is published after the record is
 * written, and an `announced` marker is left once Pub/Sub accepted it. A delivery that finds the
 * record but no marker (the publish failed, or the worker died in between) publishes it again from
 * the record. Consumers deduplicate on jobId.
 */

interface AnnounceDeps {
  store: ObjectStore;
  queue: JobQueue;
  log: Logger;
  uriOf: (bucket: string, name: string) => string;
}

export async function announceResult(
  deps: Pick<AnnounceDeps, 'store' | 'queue'>,
  bucket: string,
  event: JobResultEvent,
): Promise<void> {
  await deps.queue.publishResult(event);
  await new JobState(deps.store, bucket, event.jobId).markAnnounced();
}

/**
 * For a duplicate delivery of a finished job: sends the result event if it never went out. A job
 * whose working state is gone was cleaned after its event went out (`JobState.clean`); the
 * delivery markers of `messageId`, the delivery asking, are then removed too.
 */
export async function announceIfMissed(
  deps: AnnounceDeps,
  bucket: string,
  jobId: string,
  recordName: string,
  messageId?: string,
): Promise<void> {
  const state = new JobState(deps.store, bucket, jobId);
  // Even under a live claim: its holder may have died between the record and the event, and its
  // lease outlasts the redeliveries. At worst the event goes out twice.
  if (await state.wasAnnounced()) return;
  if (await state.wasCleaned(messageId)) {
    if (messageId !== undefined) await state.forgetDeliveries(messageId);
    return;
  }
  const { bytes } = await deps.store.read(bucket, recordName, { maxBytes: 1 << 20 });
  const event = eventFromRecord(JSON.parse(bytes.toString('utf8')), deps.uriOf(bucket, recordName));
  if (!event) return;
  deps.log.info('the result event of this finished job was never sent: sending it now', {
    jobId,
  });
  await announceResult(deps, bucket, event);
}

/**
 * The result event of a metadata or error record (undefined when it is neither): the one place
 * an event is made, for the first announcement and for a missed one alike. It carries what the
 * cost ledger needs (model, tier, tags, usage, cost), so no consumer has to read the record.
 */
export function eventFromRecord(record: RecordLike, recordUri: string): JobResultEvent | undefined {
  if (typeof record.jobId !== 'string' || typeof record.runId !== 'string') return undefined;
  const model = typeof record.model === 'string' ? record.model : record.model?.id;
  const sidecarUri = typeof record.sidecar === 'string' ? record.sidecar : record.sidecar?.uri;
  const common = {
    schemaVersion: 1 as const,
    jobId: record.jobId,
    runId: record.runId,
    ...(typeof record.requestId === 'string' ? { requestId: record.requestId } : {}),
    recordUri,
    costUsd: record.cost?.total ?? 0,
    ...(sidecarUri ? { sidecarUri } : {}),
    ...(model ? { model } : {}),
    tier: record.tier ?? 'standard',
    ...(record.tags ? { tags: record.tags } : {}),
    ...(record.usage ? { usage: record.usage } : {}),
    ...(record.cost?.priceTableVersion ? { priceTableVersion: record.cost.priceTableVersion } : {}),
  };
  if (record.status === 'succeeded') {
    return {
      ...common,
      status: 'succeeded',
      ...(record.output?.uri ? { outputUri: record.output.uri } : {}),
      finishedAt: record.timing?.finishedAt ?? record.at ?? '',
    };
  }
  if (record.status === 'failed') {
    return {
      ...common,
      status: 'failed',
      ...(record.error?.code ? { errorCode: record.error.code } : {}),
      finishedAt: record.at ?? '',
    };
  }
  return undefined;
}

/** The fields of a metadata or error record an event is made from (records.ts has them all). */
interface RecordLike {
  jobId?: unknown;
  runId?: unknown;
  requestId?: unknown;
  status?: unknown;
  model?: string | { id?: string };
  sidecar?: string | { uri?: string };
  tier?: string;
  tags?: Record<string, string>;
  usage?: Usage;
  output?: { uri?: string };
  cost?: { total?: number; priceTableVersion?: string };
  timing?: { finishedAt?: string };
  error?: { code?: ErrorCode };
  at?: string;
}
