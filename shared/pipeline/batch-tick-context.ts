import type { BatchImageModel } from '../ports/batch-image-model.ts';
import type { WorkerDeps } from '../ports/worker-deps.ts';
import type { BatchInbox } from './batch-inbox.ts';
import type { BatchManifests } from './batch-manifests.ts';
import type { BatchLimits } from './batch-requests.ts';
import type { BatchStage } from './job-stages.ts';

/** What the cloud's batch tick needs: the worker's deps (records, events) plus the Batch API. */
export interface BatchTickDeps extends WorkerDeps {
  batchModel: BatchImageModel;
  /** Crash tests: called at each stage of the batch path. */
  batchFailpoint?: (stage: BatchStage) => void;
}

export interface BatchTickOptions {
  /** The output bucket: pending markers, manifests, the lease, records. */
  bucket: string;
  /** The API's limits per batch job (requests, bytes); a bigger set is split. */
  limits: BatchLimits;
  /** Pending jobs of a model are submitted once the oldest waited this long (or they fill a batch). */
  windowMs: number;
  /** How long a tick's lease holds before a later tick may take it over. */
  leaseMs: number;
  /** Jobs collected at once. */
  concurrency: number;
}

/** One tick's state: its deps, options, and the stores it works on. */
export interface BatchTick {
  deps: BatchTickDeps;
  options: BatchTickOptions;
  inbox: BatchInbox;
  manifests: BatchManifests;
  /** What this tick did, for its log line and tests. */
  report: BatchTickReport;
}

export interface BatchTickReport {
  /** Another tick held the lease: this one did nothing. */
  busy: boolean;
  /** Batch jobs created. */
  submitted: number;
  /** Batch jobs found already created (a crash after `create`): named, not submitted again. */
  found: number;
  /** Finished batch jobs collected. */
  collected: number;
  /** Jobs answered and handed to the worker (outputs, record, result event). */
  handedOff: number;
  /** Jobs with a refinement step answered, waiting for their next round. */
  nextRound: number;
  /** Jobs given an error record by the batch path. */
  failed: number;
  /** Batch jobs still running. */
  running: number;
  /** Pending jobs left for a later tick (their window is not over). */
  waiting: number;
}

export const emptyReport = (): BatchTickReport => ({
  busy: false,
  submitted: 0,
  found: 0,
  collected: 0,
  handedOff: 0,
  nextRound: 0,
  failed: 0,
  running: 0,
  waiting: 0,
});
