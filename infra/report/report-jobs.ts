import { posix } from 'node:path';
import { folderOfName, outputNameOf, type RecordEntry } from './read-records.ts';
import type { ErrorRecordView, ImageRefView, MetadataRecordView } from './record-schemas.ts';

/**
 * The report's view of one record: what a card shows. Built from the loose record views, so a
 * field a record lacks is simply not shown.
 */

/** Where an image's bytes come from. */
export type ImageSource =
  /** An object of the report's own bucket (the output beside its record). */
  | { kind: 'object'; name: string }
  /** An image named by a record's uri (a local path, or gs://bucket/name). */
  | { kind: 'uri'; uri: string }
  /** A refinement's intermediate image, kept in the job's checkpoint. */
  | { kind: 'step'; jobId: string; step: number };

export interface ImageSlot {
  role: 'input' | 'reference' | 'output' | 'step';
  /** Shown under the thumbnail: a file name, or a refinement step's prompt. */
  caption: string;
  source: ImageSource;
}

export type JobStatus = 'succeeded' | 'failed' | 'unreadable';

export interface ReportJob {
  /** The record's object name (unique). */
  id: string;
  status: JobStatus;
  title: string;
  jobId?: string;
  runId?: string;
  mode?: string;
  model?: string;
  tier?: string;
  prompt?: string;
  /** A refinement's step prompts, in order. */
  steps?: string[];
  size?: string;
  costUsd: number;
  durationMs?: number;
  attempts?: number;
  tags: Record<string, string>;
  /** Inputs and references: the "before". */
  before: ImageSlot[];
  /** The output, preceded by a refinement's earlier steps: the "after". */
  after: ImageSlot[];
  failure?: { code: string; message: string; fix?: string; concerns?: string; field?: string };
  /** A failure of a sidecar as a whole (no job was planned from it). */
  sidecarProblem?: boolean;
  /** Why an unreadable record could not be read. */
  problem?: string;
  /** A character series or a keyframe sequence: shown together as a row. */
  group?: { key: string; label: string; order: number };
}

export function toReportJob(entry: RecordEntry): ReportJob {
  if (entry.kind === 'succeeded') return fromMetadata(entry.name, entry.record);
  if (entry.kind === 'failed') return fromError(entry.name, entry.record);
  return {
    id: entry.name,
    status: 'unreadable',
    title: posix.basename(entry.name),
    costUsd: 0,
    tags: {},
    before: [],
    after: [],
    problem: entry.problem,
  };
}

function beforeSlots(inputs: readonly ImageRefView[] | undefined): ImageSlot[] {
  return (inputs ?? []).map((input) => ({
    role: input.role === 'reference' ? 'reference' : 'input',
    caption: posix.basename(input.uri),
    source: { kind: 'uri', uri: input.uri },
  }));
}

function fromMetadata(name: string, record: MetadataRecordView): ReportJob {
  const outputName = outputNameOf(name);
  const output: ImageSlot = {
    role: 'output',
    caption: posix.basename(outputName),
    source: { kind: 'object', name: outputName },
  };
  const steps = record.steps ?? [];
  const earlierSteps: ImageSlot[] = steps.slice(0, -1).map((prompt, i) => ({
    role: 'step',
    caption: `${i + 1}. ${prompt}`,
    source: { kind: 'step', jobId: record.jobId, step: i + 1 },
  }));
  if (steps.length > 1) output.caption = `${steps.length}. ${steps.at(-1)}`;
  const { width, height } = record.output;
  const size = [
    width && height ? `${width}×${height}` : undefined,
    record.imageSize,
    record.aspectRatio,
  ].filter(Boolean);
  return {
    id: name,
    status: 'succeeded',
    title: posix.basename(outputName),
    jobId: record.jobId,
    runId: record.runId,
    mode: record.mode,
    model: record.model.id,
    tier: record.tier,
    prompt: steps.length > 1 ? undefined : record.prompt,
    steps: steps.length > 1 ? steps : undefined,
    size: size.length > 0 ? size.join(' · ') : undefined,
    costUsd: record.cost.total,
    durationMs: record.timing?.totalMs,
    attempts: record.attempts,
    tags: record.tags ?? {},
    before: beforeSlots(record.inputs),
    after: [...earlierSteps, output],
    group: groupOf(name, record),
  };
}

function fromError(name: string, record: ErrorRecordView): ReportJob {
  const { code, message, fix } = record.error;
  return {
    id: name,
    status: 'failed',
    title: posix.basename(name).replace(/\.error\.json$/, ''),
    jobId: record.jobId,
    runId: record.runId,
    mode: record.mode,
    model: record.model,
    tier: record.tier,
    prompt: record.prompt,
    costUsd: record.cost?.total ?? 0,
    attempts: record.attempts,
    tags: record.tags ?? {},
    before: beforeSlots(record.inputs),
    after: [],
    failure: {
      code,
      message,
      fix,
      concerns: record.file ?? record.inputs?.[0]?.uri ?? record.sidecar,
      field: record.field,
    },
    sidecarProblem: record.jobId === undefined,
    group: groupOf(name, record),
  };
}

/**
 * A keyframe sequence (records with `sequence` or `frame`) or a character series: the jobs of one
 * manifest go to one folder, which is what ties their records together.
 */
function groupOf(
  name: string,
  record: MetadataRecordView | ErrorRecordView,
): ReportJob['group'] | undefined {
  const folder = folderOfName(name);
  const order = record.frame ?? 0;
  if (record.sequence !== undefined || record.frame !== undefined) {
    const id = typeof record.sequence === 'string' ? record.sequence : record.sequence?.id;
    const key = id ?? folder;
    return { key: `sequence:${key}`, label: `sequence ${key}`, order };
  }
  if (record.mode === 'character-series') {
    const series = record.tags?.series;
    return {
      key: `series:${folder}`,
      label: `series ${series ?? folder}`,
      order,
    };
  }
  return undefined;
}
