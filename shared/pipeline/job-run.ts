import type { ModelInfo } from '../catalog/model-catalog.ts';
import type { Job } from '../planning/job.ts';
import { outputNames } from '../planning/output-names.ts';
import type { Logger } from '../ports/logger.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import { BillingLedger } from './billing-ledger.ts';
import { JobState } from './job-state.ts';
import type { ErrorRecord, MetadataRecord } from './records.ts';

/** The terminal outcome of one delivery (a retryable failure is thrown instead). */
export type RunJobResult =
  | { status: 'succeeded'; record: MetadataRecord; recordUri: string }
  | { status: 'failed'; record: ErrorRecord; recordUri: string }
  | { status: 'duplicate'; recordUri: string };

/** Spending is paused: the job is kept under _bananaflow/held/ until `bananaflow resume`. */
export type HeldResult = { status: 'held'; reason: string };

/** One delivery of a job message: its id, and which delivery of it this is (1 for the first). */
export interface Delivery {
  messageId: string;
  attempt: number;
}

/** Everything the worker's steps share while handling one delivery of one job. */
export interface JobRun {
  deps: WorkerDeps;
  job: Job;
  delivery: Delivery;
  /** The job's output names (image, renditions, metadata record, error record). */
  names: ReturnType<typeof outputNames>;
  /** The output bucket: outputs, records and the job's working state. */
  bucket: string;
  model: ModelInfo;
  state: JobState;
  ledger: BillingLedger;
  log: Logger;
  startedAt: Date;
}

export function startJobRun(deps: WorkerDeps, job: Job, delivery: Delivery): JobRun {
  const bucket = job.output.bucket;
  const state = new JobState(deps.store, bucket, job.jobId);
  return {
    deps,
    job,
    delivery,
    names: outputNames(job.output.base, job.output.format),
    bucket,
    model: deps.catalog.resolve(job.model),
    state,
    ledger: BillingLedger.forJob(deps, job, state),
    log: deps.log.child({
      jobId: job.jobId,
      runId: job.runId,
      messageId: delivery.messageId,
      attempt: delivery.attempt,
    }),
    startedAt: deps.now(),
  };
}
