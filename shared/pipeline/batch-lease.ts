import { z } from 'zod';
import { hasErrorCode } from '../errors.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';

/**
 * One batch tick at a time: Cloud Scheduler may fire while a tick still runs, and Pub/Sub may
 * deliver a tick twice. Two ticks at once could put a job in two batches (paid twice), so a tick
 * first takes this lease (create-only; taken over only once expired, by generation).
 */

export const BATCH_LEASE_NAME = `${PIPELINE_PREFIX}batch/tick-lease.json`;

const leaseSchema = z.object({ owner: z.string(), leaseUntil: z.string() });

export class BatchLease {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  /** The lease's generation when taken; undefined while another tick holds it. */
  async take(owner: string, now: Date, leaseMs: number): Promise<string | undefined> {
    const body = Buffer.from(
      JSON.stringify({ owner, leaseUntil: new Date(now.getTime() + leaseMs).toISOString() }),
    );
    const write = (ifGenerationMatch: string) =>
      this.store.write(this.bucket, BATCH_LEASE_NAME, body, {
        contentType: 'application/json',
        ifGenerationMatch,
      });
    try {
      return (await write('0')).generation;
    } catch (error) {
      if (!hasErrorCode(error, 'STORAGE_ALREADY_EXISTS')) throw error;
    }
    const held = await this.store.read(this.bucket, BATCH_LEASE_NAME).catch((error: unknown) => {
      if (hasErrorCode(error, 'STORAGE_NOT_FOUND')) return undefined;
      throw error;
    });
    if (!held) return undefined; // released just now: the next tick takes it
    const lease = leaseSchema.safeParse(parseJson(held.bytes));
    // A lease that cannot be read is treated as expired: taken over rather than stuck forever.
    if (lease.success && Date.parse(lease.data.leaseUntil) > now.getTime()) return undefined;
    try {
      return (await write(held.info.generation)).generation;
    } catch (error) {
      if (hasErrorCode(error, 'STORAGE_PRECONDITION_FAILED')) return undefined;
      throw error;
    }
  }

  async release(generation: string): Promise<void> {
    try {
      await this.store.delete(this.bucket, BATCH_LEASE_NAME, { ifGenerationMatch: generation });
    } catch (error) {
      // Taken over after our lease expired: it is the other tick's now.
      if (!hasErrorCode(error, 'STORAGE_PRECONDITION_FAILED')) throw error;
    }
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
