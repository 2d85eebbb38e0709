import { z } from 'zod';
import { BananaError } from '../errors.ts';
import { BATCH_STATES } from '../ports/batch-image-model.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';

/**
 * The batch tier's record of what was submitted, in the output bucket:
 *   _bananaflow/batches/<displayName>.json
 * written create-only BEFORE the batch job is created (so a crash right after `create` is found
 * again by display name, never submitted twice), then updated with the API's batch name, and
 * closed once every job in it has a record (or the batch ended without results).
 */

export const BATCH_PREFIX = `${PIPELINE_PREFIX}batches/`;

export const batchManifestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  displayName: z.string().min(1),
  model: z.string().min(1),
  runId: z.string().min(1),
  /** Job ids, which are also the request keys. */
  keys: z.array(z.string()).min(1),
  /** Refinements: the steps already answered when the batch asked for the next one, by key. */
  steps: z.record(z.string(), z.number().int().nonnegative()).optional(),
  createdAt: z.string(),
  /** The API's batch name ("batches/…"), once created. */
  name: z.string().optional(),
  via: z.enum(['inline', 'file']).optional(),
  /** Set when nothing more will come of it: every job has a record, or the batch ended without results. */
  closed: z.enum(BATCH_STATES).optional(),
});
export type BatchManifest = z.infer<typeof batchManifestSchema>;

/** Where the cloud's batch tick keeps its manifests (apart from the runner's: never mixed up). */
export const CLOUD_BATCH_PREFIX = `${PIPELINE_PREFIX}batch/manifests/`;

const bytesOf = (manifest: BatchManifest) => Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);

/** A manifest and the generation to update it under (no lost update, no resurrection). */
export interface StoredManifest {
  manifest: BatchManifest;
  generation: string;
}

export class BatchManifests {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly prefix: string = BATCH_PREFIX,
  ) {}

  private nameOf(displayName: string): string {
    return `${this.prefix}${displayName}.json`;
  }

  /** Manifests not closed yet: batches to find, wait for or collect. */
  async open(): Promise<StoredManifest[]> {
    const open: StoredManifest[] = [];
    for (const info of await this.store.list(this.bucket, this.prefix)) {
      if (!info.name.endsWith('.json')) continue;
      const { bytes, info: read } = await this.store.read(this.bucket, info.name, {
        maxBytes: 64 << 20,
      });
      const parsed = batchManifestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
      if (!parsed.success) {
        throw new BananaError({
          code: 'INTERNAL',
          message: `${info.name} is not a batch manifest: ${z.prettifyError(parsed.error)}`,
          fix: 'Restore it, or delete it if its batch job is gone (its jobs are then submitted again).',
        });
      }
      if (!parsed.data.closed) open.push({ manifest: parsed.data, generation: read.generation });
    }
    return open;
  }

  /** Records a batch before it is submitted; create-only. */
  async create(manifest: BatchManifest): Promise<StoredManifest> {
    const info = await this.store.write(
      this.bucket,
      this.nameOf(manifest.displayName),
      bytesOf(manifest),
      {
        contentType: 'application/json',
        ifGenerationMatch: '0',
      },
    );
    return { manifest, generation: info.generation };
  }

  /**
   * Deletes a manifest written at `generation` once nothing more will come of its batch (the
   * cloud's tick: every job has a record, an answer or its next round's marker), so that a tick
   * reads only the batches still in flight.
   */
  async remove(stored: StoredManifest): Promise<void> {
    await this.store.delete(this.bucket, this.nameOf(stored.manifest.displayName), {
      ifGenerationMatch: stored.generation,
    });
  }

  /** Updates a manifest written at `generation` (STORAGE_PRECONDITION_FAILED if it changed). */
  async update(stored: StoredManifest, changes: Partial<BatchManifest>): Promise<StoredManifest> {
    const manifest = batchManifestSchema.parse({ ...stored.manifest, ...changes });
    const info = await this.store.write(
      this.bucket,
      this.nameOf(manifest.displayName),
      bytesOf(manifest),
      {
        contentType: 'application/json',
        ifGenerationMatch: stored.generation,
      },
    );
    return { manifest, generation: info.generation };
  }
}
