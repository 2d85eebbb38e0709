import { createHash } from 'node:crypto';
import { BananaError } from '../errors.ts';
import type { ObjectStore } from '../ports/object-store.ts';
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
      try {
        await this.store.write(this.bucket, markerName(input, sidecar), body, {
          contentType: 'application/json',
          ifGenerationMatch: '0',
        });
      } catch (error) {
        if (!(error instanceof BananaError && error.code === 'STORAGE_ALREADY_EXISTS')) throw error;
      }
    }
  }

  /** The sidecars that were waiting for `input`. */
  async waitingFor(input: string): Promise<WaitingSidecar[]> {
    const found: WaitingSidecar[] = [];
    const markers = await this.store.list(this.bucket, `${WAITING_PREFIX}${input}/`, {
      delimiter: '/',
    });
    for (const info of markers) {
      try {
        const { bytes } = await this.store.read(this.bucket, info.name, { maxBytes: 64 * 1024 });
        const parsed = JSON.parse(bytes.toString('utf8')) as { sidecar?: unknown; kind?: unknown };
        if (typeof parsed.sidecar === 'string' && isKind(parsed.kind)) {
          found.push({ sidecar: parsed.sidecar, kind: parsed.kind, marker: info.name });
        }
      } catch (error) {
        // Forgotten by a concurrent upload of the same input: nothing left to do for it.
        if (error instanceof BananaError && error.code === 'STORAGE_NOT_FOUND') continue;
        throw error;
      }
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

function isKind(value: unknown): value is SidecarKind {
  return value === 'image' || value === 'folder' || value === 'manifest';
}
