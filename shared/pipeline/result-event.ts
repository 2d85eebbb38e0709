import type { ErrorCode } from '../errors.ts';

/** Published on the results topic when a job reaches a terminal state. Small: no image bytes. */
export interface JobResultEvent {
  schemaVersion: 1;
  jobId: string;
  runId: string;
  status: 'succeeded' | 'failed';
  /** gs://bucket/name (or file path locally) of the metadata or error record. */
  recordUri: string;
  outputUri?: string;
  errorCode?: ErrorCode;
  costUsd: number;
  finishedAt: string;
}
