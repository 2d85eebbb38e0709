import type { CloudEvent } from '@google-cloud/functions-framework';
import * as functions from '@google-cloud/functions-framework';
import { z } from 'zod';
import { toBananaError } from '../../shared/errors.ts';
import { ingestUpload } from '../../shared/pipeline/ingest-upload.ts';
import { createRuntime, ingestDeps, once } from '../runtime.ts';

/**
 * The ingest function: one Cloud Storage "object finalized" event (delivered by Eventarc) → the
 * jobs the upload completes, published to the jobs topic (every publish awaited).
 *
 * Throwing makes Eventarc deliver the event again (with the trigger's retry policy on); returning
 * acknowledges it. Only retryable failures throw: a bad sidecar is recorded, not retried.
 */

export const OBJECT_FINALIZED = 'google.cloud.storage.object.v1.finalized';

/** The part of Cloud Storage's StorageObjectData that planning needs; other fields pass. */
const storageObjectSchema = z.looseObject({
  bucket: z.string().min(1),
  name: z.string().min(1),
  // Cloud Storage sends int64 fields as decimal strings.
  generation: z
    .union([z.string().regex(/^\d+$/), z.number().int().nonnegative()])
    .transform(String),
  metadata: z.record(z.string(), z.string()).optional(),
});

const deps = once(async () => ingestDeps(await createRuntime('ingest')));

functions.cloudEvent('ingest', async (event: CloudEvent<unknown>) => {
  const ingest = await deps();
  if (event.type !== OBJECT_FINALIZED) {
    ingest.log.warn(`ignored event of type ${event.type}`, { eventId: event.id });
    return;
  }
  const parsed = storageObjectSchema.safeParse(event.data);
  if (!parsed.success) {
    // Redelivering the same payload cannot help: acknowledge, loudly.
    ingest.log.error('storage event without a usable object; acknowledged', {
      code: 'INTERNAL',
      eventId: event.id,
      problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    });
    return;
  }
  const { bucket, name, generation, metadata } = parsed.data;
  try {
    await ingestUpload(ingest, {
      bucket,
      name,
      generation,
      ...(metadata ? { metadata } : {}),
      ...(event.time ? { eventTime: event.time } : {}),
    });
  } catch (error) {
    const failure = toBananaError(error);
    if (failure.retryable) {
      ingest.log.warn('retryable failure: the event will be delivered again', {
        code: failure.code,
        error: failure.message,
        object: name,
      });
      throw failure;
    }
    ingest.log.error('ingest failed for good; event acknowledged', {
      code: failure.code,
      error: failure.message,
      ...(failure.fix ? { fix: failure.fix } : {}),
      object: name,
    });
  }
});
