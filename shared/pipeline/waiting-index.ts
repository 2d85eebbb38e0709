import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type ObjectStore, readJsonIfExists, writeIfAbsent } from '../ports/object-store.ts';
import { PIPELINE_PREFIX } from '../sidecar/drop-files.ts';
import type { SidecarKind } from './plan-sidecar.ts';

/**
 * Ingest's memory of sidecars waiting for inputs not uploaded yet, kept in the output bucket as
 * `_bananaflow/waiting/<input name>/<hash of the sidecar name>.json`. An image's own sidecar and its
 * folder's `_edit.json` are found from the image's name; a reference (or a manifest input) is not,
 * so without this its upload would plan nothing. It also shows what a drop is still waiting for.
 */

const WAITING_PREFIX = `${PIPELINE_PREFIX}waiting/`;

export interface WaitingSidecar {
  sidecar: string;
  kind: SidecarKind;
  /** The marker object, to forget it once the input has come. */
  marker: string;
}

export class WaitingIndex {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  /** Notes that `sidecar` waits for each of `inputs`. */
  async remember(sidecar: string, kind: SidecarKind, inputs: readonly string[]): Promise<void> {
    const body = Buffer.from(`${JSON.stringify({ sidecar, kind })}\n`);
    for (const input of inputs) {
      await writeIfAbsent(this.store, this.bucket, markerName(input, sidecar), body, {
        contentType: 'application/json',
      });
    }
  }

  /** The sidecars that were waiting for `input`. */
  async waitingFor(input: string): Promise<WaitingSidecar[]> {
    const found: WaitingSidecar[] = [];
    const markers = await this.store.list(this.bucket, `${WAITING_PREFIX}${input}/`, {
      delimiter: '/',
    });
    for (const info of markers) {
      const marker = await readJsonIfExists(this.store, this.bucket, info.name, markerSchema, {
        maxBytes: 64 * 1024,
      });
      // Gone: forgotten by a concurrent upload of the same input, nothing left to do for it.
      if (marker) found.push({ ...marker, marker: info.name });
    }
    return found;
  }

  async forget(marker: string): Promise<void> {
    await this.store.delete(this.bucket, marker);
  }
}

function markerName(input: string, sidecar: string): string {
  const hash = createHash('sha256').update(sidecar).digest('hex').slice(0, 24);
  return `${WAITING_PREFIX}${input}/${hash}.json`;
}

const markerSchema: z.ZodType<{ sidecar: string; kind: SidecarKind }> = z.object({
  sidecar: z.string(),
  kind: z.enum(['image', 'folder', 'manifest']),
});
