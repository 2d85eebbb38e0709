import { z } from 'zod';
import { type Usage, usageSchema } from '../catalog/cost.ts';
import { ERROR_CODES, hasErrorCode, type SerializedError } from '../errors.ts';
import {
  type ConversationCheckpoint,
  MODEL_OUTCOMES,
  type ModelOutcome,
  type TurnResult,
} from '../ports/image-model.ts';
import { type ObjectStore, readJsonIfExists, writeIfAbsent } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';

/**
 * A job's working state, kept in the output bucket under _bananaflow/jobs/<jobId>/ while the job
 * runs. Once its record is written and announced the worker deletes it (`clean`); what a failure
 * that can be run again needs (a dead-lettered job's billed usage and checkpoint) stays, and a
 * lifecycle rule deletes leftovers later:
 *   claim.json         who is working on the job, until when (create-only; taken over after expiry)
 *   model-result.json  what the model answered, written before any post-processing
 *   model-output       the answered image bytes
 *   conversation.json  a refinement's checkpoint after each answered step, so a retry goes on from
 *                      there instead of paying for the earlier steps again
 *   last-error.json    the latest retryable failure, so a dead-lettered job can say what went wrong
 *   billed-usage.json  usage billed by failed attempts (e.g. a refinement that failed at step 2)
 *   deliveries/<messageId>.<n>  one empty marker per delivery of a message (see `countDelivery`)
 *   announced          empty; the result event was accepted by the queue (see announce-result.ts)
 *   chained            empty; a sequence frame's next step is done: the next frame published, or
 *                      the sequence's files written (see sequence-chain.ts)
 * This is what makes the pipeline pay once: the model is only called by the holder of a live claim,
 * and never again once its answer is persisted.
 */

const stateName = (jobId: string, file: string) => `${PIPELINE_PREFIX}jobs/${jobId}/${file}`;
const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

const claimSchema = z.object({
  owner: z.string(),
  messageId: z.string(),
  attempt: z.number(),
  claimedAt: z.string(),
  leaseUntil: z.string(),
});
type Claim = z.infer<typeof claimSchema>;

const turnResultSchema: z.ZodType<TurnResult> = z.object({
  usage: usageSchema,
  finishReason: z.string().optional(),
  text: z.string().optional(),
});

const checkpointSchema: z.ZodType<ConversationCheckpoint> = z.object({
  turns: z.array(turnResultSchema),
  usage: usageSchema,
  modelVersion: z.string().optional(),
  conversation: z.unknown(),
});

/** The model's answer as persisted: the outcome without its image bytes (kept beside it). */
const persistedModelResultSchema = z.looseObject({
  kind: z.enum(MODEL_OUTCOMES),
  usage: usageSchema,
  turns: z.array(turnResultSchema),
  modelMs: z.number(),
  imageMimeType: z.string().optional(),
  savedAt: z.string(),
});
type PersistedModelResult = z.infer<typeof persistedModelResultSchema>;

const lastErrorSchema = z.looseObject({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  fix: z.string().optional(),
  retryable: z.boolean(),
  retryAfterMs: z.number().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
  attempt: z.number(),
});

export type ClaimResult =
  | { ok: true; generation: string; tookOver: boolean }
  | { ok: false; heldBy: string; retryAfterMs: number };

/**
 * Tells that a claim's holder is known to be gone (a local process that exited), so its claim is
 * free before its lease ends. Without one (the cloud) only the lease frees a claim.
 */
export type ClaimOwnerGone = (owner: string) => boolean;

/** A job's claim as read: who holds it and until when. */
export interface HeldClaim {
  jobId: string;
  owner: string;
  leaseUntil: string;
}

export class JobState {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly jobId: string,
  ) {}

  /**
   * Claims the job for leaseMs; another delivery gets it only once the lease has expired, or
   * at once when `ownerGone` says its holder is gone.
   */
  async claim(
    claim: Omit<Claim, 'leaseUntil' | 'claimedAt'>,
    now: Date,
    leaseMs: number,
    ownerGone?: ClaimOwnerGone,
  ): Promise<ClaimResult> {
    const name = stateName(this.jobId, 'claim.json');
    const body: Claim = {
      ...claim,
      claimedAt: now.toISOString(),
      leaseUntil: new Date(now.getTime() + leaseMs).toISOString(),
    };
    try {
      const info = await this.store.write(this.bucket, name, json(body), {
        contentType: 'application/json',
        ifGenerationMatch: '0',
      });
      return { ok: true, generation: info.generation, tookOver: false };
    } catch (error) {
      if (!hasErrorCode(error, 'STORAGE_ALREADY_EXISTS')) throw error;
    }
    let current: { bytes: Buffer; info: { generation: string } };
    try {
      current = await this.store.read(this.bucket, name);
    } catch (error) {
      // Released between our write and our read: the caller's retry will claim it.
      if (hasErrorCode(error, 'STORAGE_NOT_FOUND'))
        return { ok: false, heldBy: 'released', retryAfterMs: 1000 };
      throw error;
    }
    const held = claimSchema.parse(JSON.parse(current.bytes.toString('utf8')));
    const remaining = Date.parse(held.leaseUntil) - now.getTime();
    if (remaining > 0 && !ownerGone?.(held.owner)) {
      return { ok: false, heldBy: held.owner, retryAfterMs: remaining };
    }
    try {
      const info = await this.store.write(this.bucket, name, json(body), {
        contentType: 'application/json',
        ifGenerationMatch: current.info.generation,
      });
      return { ok: true, generation: info.generation, tookOver: true };
    } catch (error) {
      if (hasErrorCode(error, 'STORAGE_PRECONDITION_FAILED')) {
        return { ok: false, heldBy: 'another delivery', retryAfterMs: 1000 };
      }
      throw error;
    }
  }

  /** True while someone holds an unexpired claim (and is not known to be gone). */
  async claimIsLive(now: Date, ownerGone?: ClaimOwnerGone): Promise<boolean> {
    const held = await this.heldClaim();
    return (
      held !== undefined && Date.parse(held.leaseUntil) > now.getTime() && !ownerGone?.(held.owner)
    );
  }

  /** The job's claim, if someone holds one (expired or not). */
  async heldClaim(): Promise<HeldClaim | undefined> {
    const held = await this.readJson('claim.json', claimSchema);
    return held && { jobId: this.jobId, owner: held.owner, leaseUntil: held.leaseUntil };
  }

  /** Deletes the claim whatever its generation (its holder is this process, stopping). */
  async releaseAny(): Promise<void> {
    await this.store.delete(this.bucket, stateName(this.jobId, 'claim.json'));
  }

  async release(generation: string): Promise<void> {
    try {
      await this.store.delete(this.bucket, stateName(this.jobId, 'claim.json'), {
        ifGenerationMatch: generation,
      });
    } catch (error) {
      // Someone took the claim over after our lease expired; it is theirs now.
      if (!hasErrorCode(error, 'STORAGE_PRECONDITION_FAILED')) throw error;
    }
  }

  /** Persists what the model answered (image bytes first, then the record that points at them). */
  async saveModelResult(outcome: ModelOutcome): Promise<void> {
    const { image, ...rest } =
      outcome.kind === 'image' ? outcome : { ...outcome, image: undefined };
    if (image) {
      await this.writeIfAbsent('model-output', image.bytes, image.mimeType);
    }
    const record: PersistedModelResult = {
      ...rest,
      ...(image ? { imageMimeType: image.mimeType } : {}),
      savedAt: new Date().toISOString(),
    };
    await this.writeIfAbsent('model-result.json', json(record), 'application/json');
  }

  /** The model's persisted answer, when an earlier delivery got one. */
  async loadModelResult(): Promise<ModelOutcome | undefined> {
    const saved = await this.loadModelResultRecord();
    if (!saved) return undefined;
    const { imageMimeType, savedAt: _savedAt, ...rest } = saved;
    if (rest.kind !== 'image') return rest as unknown as ModelOutcome;
    const image = await this.store.read(this.bucket, stateName(this.jobId, 'model-output'));
    return {
      ...(rest as Omit<Extract<ModelOutcome, { kind: 'image' }>, 'image'>),
      kind: 'image',
      image: { mimeType: imageMimeType ?? 'image/png', bytes: image.bytes },
    };
  }

  /** The persisted answer's record alone (what it cost), without reading its image. */
  async loadModelResultRecord(): Promise<PersistedModelResult | undefined> {
    return this.readJson('model-result.json', persistedModelResultSchema);
  }

  /**
   * After the job's commit point (its record is written and announced) its working state has
   * done its work: deletes all of it but the claim (its holder releases that) and a refinement's
   * checkpoint (the run report shows the steps from it; the lifecycle rule removes it), the
   * `announced` marker last, so a concurrent duplicate delivery sees either the marker or nothing.
   */
  async clean(): Promise<void> {
    const announced = stateName(this.jobId, 'announced');
    const names = await this.stateNames();
    const rest = names.filter((name) => !this.keptAfterClean(name) && name !== announced);
    await Promise.all(rest.map((name) => this.store.delete(this.bucket, name)));
    await this.store.delete(this.bucket, announced);
  }

  /**
   * True when nothing of the job's working state is left but what `clean` keeps and the delivery
   * markers of `messageId` (the delivery asking): it was cleaned after its result was announced.
   */
  async wasCleaned(messageId?: string): Promise<boolean> {
    const own = messageId === undefined ? undefined : this.deliveryPrefix(messageId);
    return (await this.stateNames()).every(
      (name) => this.keptAfterClean(name) || (own !== undefined && name.startsWith(own)),
    );
  }

  private async stateNames(): Promise<string[]> {
    return (await this.store.list(this.bucket, stateName(this.jobId, ''))).map((o) => o.name);
  }

  /** What `clean` leaves: the claim (released by its holder) and a refinement's checkpoint. */
  private keptAfterClean(name: string): boolean {
    return (
      name === stateName(this.jobId, 'claim.json') ||
      name === stateName(this.jobId, 'conversation.json')
    );
  }

  /** Deletes the delivery markers of one message (a duplicate delivery of a cleaned job). */
  async forgetDeliveries(messageId: string): Promise<void> {
    const markers = await this.store.list(this.bucket, this.deliveryPrefix(messageId));
    await Promise.all(markers.map((o) => this.store.delete(this.bucket, o.name)));
  }

  private deliveryPrefix(messageId: string): string {
    return stateName(this.jobId, `deliveries/${messageId.replace(/[^\w-]/g, '_')}.`);
  }

  /** Notes that the job's result event went out. */
  async markAnnounced(): Promise<void> {
    await this.writeIfAbsent('announced', Buffer.alloc(0), 'application/octet-stream');
  }

  /** For a job run again after a failure (local reruns): its next result is announced anew. */
  async forgetAnnounced(): Promise<void> {
    await this.store.delete(this.bucket, stateName(this.jobId, 'announced'));
  }

  async wasAnnounced(): Promise<boolean> {
    return (await this.store.stat(this.bucket, stateName(this.jobId, 'announced'))) !== undefined;
  }

  /** Notes that a sequence frame's next step (next frame published, or sequence files) is done. */
  async markChained(): Promise<void> {
    await this.writeIfAbsent('chained', Buffer.alloc(0), 'application/octet-stream');
  }

  /** For a frame run again after a failure (local reruns): its next result chains anew. */
  async forgetChained(): Promise<void> {
    await this.store.delete(this.bucket, stateName(this.jobId, 'chained'));
  }

  async wasChained(): Promise<boolean> {
    return (await this.store.stat(this.bucket, stateName(this.jobId, 'chained'))) !== undefined;
  }

  /** Keeps a refinement's progress (only the claim holder writes it). */
  async saveCheckpoint(checkpoint: ConversationCheckpoint): Promise<void> {
    await this.store.write(
      this.bucket,
      stateName(this.jobId, 'conversation.json'),
      json(checkpoint),
      {
        contentType: 'application/json',
      },
    );
  }

  /** The latest checkpoint of this job's refinement, when a step was answered before. */
  async loadCheckpoint(): Promise<ConversationCheckpoint | undefined> {
    return this.readJson('conversation.json', checkpointSchema);
  }

  async saveLastError(error: SerializedError, attempt: number): Promise<void> {
    await this.store.write(
      this.bucket,
      stateName(this.jobId, 'last-error.json'),
      json({ ...error, attempt, at: new Date().toISOString() }),
      { contentType: 'application/json' },
    );
  }

  async loadLastError(): Promise<(SerializedError & { attempt: number }) | undefined> {
    return this.readJson('last-error.json', lastErrorSchema);
  }

  /**
   * Records one more delivery of a message and returns its number (1 for the first). Create-only
   * markers make the count exact under concurrent deliveries, across instances.
   */
  async recordDelivery(messageId: string): Promise<number> {
    return this.countInto(this.deliveryPrefix(messageId));
  }

  /**
   * Records that the job was published again because its model stayed over the per-minute quota
   * (see defer-for-quota.ts); returns how many times that happened, this one included.
   */
  async recordQuotaDeferral(): Promise<number> {
    return this.countInto(stateName(this.jobId, 'quota-deferrals/'));
  }

  /** Adds one create-only marker under `prefix` and returns its number (1 for the first). */
  private async countInto(prefix: string): Promise<number> {
    for (;;) {
      const n = (await this.store.list(this.bucket, prefix)).length + 1;
      try {
        await this.store.write(this.bucket, `${prefix}${n}`, Buffer.alloc(0), {
          ifGenerationMatch: '0',
        });
        return n;
      } catch (error) {
        // A concurrent writer (a delivery of the same message) took this number: count again.
        if (!hasErrorCode(error, 'STORAGE_ALREADY_EXISTS')) throw error;
      }
    }
  }

  /** Stores the usage billed by failed attempts (the billing ledger owns the sum). */
  async saveBilledUsage(total: Usage): Promise<void> {
    await this.store.write(this.bucket, stateName(this.jobId, 'billed-usage.json'), json(total), {
      contentType: 'application/json',
    });
  }

  /** Usage billed by earlier failed attempts, when there were any. */
  async loadBilledUsage(): Promise<Usage | undefined> {
    return this.readJson('billed-usage.json', usageSchema);
  }

  /** A state file's JSON checked against its schema, or undefined when it does not exist. */
  private readJson<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
    return readJsonIfExists(this.store, this.bucket, stateName(this.jobId, file), schema);
  }

  private async writeIfAbsent(file: string, bytes: Buffer, contentType: string) {
    await writeIfAbsent(this.store, this.bucket, stateName(this.jobId, file), bytes, {
      contentType,
    });
  }
}

const deliveredJobSchema = z.looseObject({
  jobId: z.string().regex(/^[a-f0-9]{20}$/),
  output: z.looseObject({ bucket: z.string().min(1) }),
});

/**
 * The delivery attempt of a pushed message, counted in the job's state. Pub/Sub push only puts
 * `deliveryAttempt` in the request body, and the functions framework drops it when it turns the
 * push into a CloudEvent, so the worker counts for itself. A message that does not name a job
 * counts as a first attempt (the worker rejects it anyway), and so does one naming an output
 * bucket other than `outputBucket`: nothing is written where the deployment does not own.
 */
export async function countDelivery(
  store: ObjectStore,
  job: unknown,
  messageId: string,
  outputBucket?: string,
): Promise<number> {
  const parsed = deliveredJobSchema.safeParse(job);
  if (!parsed.success) return 1;
  if (outputBucket !== undefined && parsed.data.output.bucket !== outputBucket) return 1;
  return new JobState(store, parsed.data.output.bucket, parsed.data.jobId).recordDelivery(
    messageId,
  );
}
