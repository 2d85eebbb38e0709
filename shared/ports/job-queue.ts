import type { JobResultEvent } from '../pipeline/result-event.ts';
import type { Job } from '../planning/job.ts';
import type { RequestEvent } from '../requests/request-event.ts';

/**
 * Port: where planned jobs go and where finished jobs are announced. Pub/Sub topics in the cloud
 * (jobs, results), an in-process queue locally. Delivery is at least once in both: the worker is
 * idempotent by design, never by trusting the queue.
 */
export interface JobQueue {
  /** Publishes every job and resolves only when all are accepted by the queue. */
  publishJobs(jobs: readonly Job[]): Promise<void>;
  /** Announces a terminal outcome (succeeded or failed) on the results topic. */
  publishResult(event: JobResultEvent): Promise<void>;
}

/**
 * Port: where the requests function announces how it handled a request message (accepted with its
 * jobs, or rejected with every problem). The results topic in the cloud, beside job results.
 */
export interface RequestEventSink {
  publishRequestEvent(event: RequestEvent): Promise<void>;
}

/** One delivery of a job to a worker; attempt starts at 1. */
export interface JobDelivery {
  job: unknown;
  messageId: string;
  attempt: number;
}
