import { posix } from 'node:path';
import { z } from 'zod';
import { toBananaError } from '../../shared/errors.ts';
import { mapLimit } from '../../shared/map-limit.ts';
import type { ObjectInfo, ObjectStore } from '../../shared/ports/object-store.ts';
import { PIPELINE_PREFIX } from '../../shared/sidecar/drop-files.ts';
import { LATEST_NAME } from '../runner/run-files.ts';
import { type ErrorRecordView, type MetadataRecordView, recordView } from './record-schemas.ts';

/** One record file of an output folder or bucket, read and checked. */
export type RecordEntry =
  | { kind: 'succeeded'; name: string; record: MetadataRecordView }
  | { kind: 'failed'; name: string; record: ErrorRecordView }
  | { kind: 'unreadable'; name: string; problem: string };

/** A record over this size is not read into memory (real records are a few KiB). */
const MAX_RECORD_BYTES = 4 << 20;
/** Reads in flight at once: enough to hide Cloud Storage latency, few enough for open files. */
const READ_CONCURRENCY = 16;
/** Where the runner keeps run summaries (JSON, but not records). */
const RUNS_PREFIX = '_runs/';

/**
 * Which JSON files under `prefix` are records: everything but the pipeline's own state, run
 * summaries, the runner's latest.json (which output is current) and hidden files. A foreign JSON file in the output is therefore shown (as
 * unreadable), never silently dropped.
 */
export function isRecordName(relativeName: string): boolean {
  if (!relativeName.endsWith('.json')) return false;
  if (relativeName.startsWith(PIPELINE_PREFIX) || relativeName.startsWith(RUNS_PREFIX))
    return false;
  if (relativeName === LATEST_NAME) return false;
  return !relativeName.split('/').some((part) => part.startsWith('.'));
}

/**
 * Lists and reads every record under `prefix` of `bucket`, in name order. `listing`: that
 * listing, when the caller has it already.
 */
export async function readRecords(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  listing?: readonly ObjectInfo[],
): Promise<RecordEntry[]> {
  const names = (listing ?? (await store.list(bucket, prefix)))
    .map((object) => object.name)
    .filter((name) => isRecordName(name.slice(prefix.length)));
  return mapLimit(names, READ_CONCURRENCY, (name) => readRecord(store, bucket, name));
}

async function readRecord(store: ObjectStore, bucket: string, name: string): Promise<RecordEntry> {
  let text: string;
  try {
    const { bytes } = await store.read(bucket, name, { maxBytes: MAX_RECORD_BYTES });
    text = bytes.toString('utf8');
  } catch (error) {
    return { kind: 'unreadable', name, problem: toBananaError(error).message };
  }
  return parseRecord(name, text);
}

/** Parses one record's text; anything that is not a bananaflow record says why. */
export function parseRecord(name: string, text: string): RecordEntry {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'unreadable', name, problem: `not valid JSON: ${(error as Error).message}` };
  }
  const parsed = recordView.safeParse(value);
  if (!parsed.success) {
    const problem = z.prettifyError(parsed.error).split('\n').slice(0, 4).join(' ');
    return { kind: 'unreadable', name, problem: `not a bananaflow record: ${problem}` };
  }
  const record = parsed.data;
  return record.status === 'succeeded'
    ? { kind: 'succeeded', name, record }
    : { kind: 'failed', name, record };
}

/** The image a metadata record describes: the record is `X.json` beside image `X`. */
export function outputNameOf(recordName: string): string {
  return recordName.slice(0, -'.json'.length);
}

/** The folder part of an object name ('' at the root). */
export function folderOfName(name: string): string {
  const dir = posix.dirname(name);
  return dir === '.' ? '' : dir;
}
