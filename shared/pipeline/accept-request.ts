import { BananaError, serializeError } from '../errors.ts';
import type { Job } from '../planning/job.ts';
import type { JobQueue, RequestEventSink } from '../ports/job-queue.ts';
import type { Logger } from '../ports/logger.ts';
import { parseRequestMessage, type RequestMessage } from '../requests/parse-request.ts';
import { planRequest, REQUESTS_PREFIX, type RequestPlannerDeps } from '../requests/plan-request.ts';
import type { RequestAccepted, RequestRejected } from '../requests/request-event.ts';
import { OUTPUT_TAG } from '../sidecar/drop-files.ts';
import { toJsonBytes } from './records.ts';

/** What the requests function needs; built once per instance by its entry point. */
export interface RequestDeps extends RequestPlannerDeps {
  queue: JobQueue;
  events: RequestEventSink;
  log: Logger;
  /** Larger messages are rejected unread (BANANAFLOW_MAX_SIDECAR_BYTES: a request is a sidecar). */
  maxRequestBytes: number;
}

export type RequestOutcome =
  | { status: 'accepted'; event: RequestAccepted; jobs: Job[] }
  | { status: 'rejected'; event: RequestRejected; problems: BananaError[] };

/**
 * The requests use case: one message of the requests topic → its jobs on the jobs topic and a
 * `request.accepted` event, or a `request.rejected` event listing every problem (and the record
 * `requests/<requestId>.error.json` in the output bucket). Bad input never throws: the caller
 * acknowledges it. Throws only what a redelivery can fix (storage, publishing), as a retryable error.
 * The same message twice plans the same job ids, and the worker runs a finished job only once.
 */
export async function acceptRequest(
  deps: RequestDeps,
  message: RequestMessage,
): Promise<RequestOutcome> {
  const parsed = parseRequestMessage(message, deps.maxRequestBytes);
  if (!parsed.ok) return reject(deps, message, parsed.requestId, parsed.problems);
  const { requestId, request } = parsed;
  const plan = await planRequest(deps, requestId, request);
  if (plan.problems.length > 0) return reject(deps, message, requestId, plan.problems);
  await deps.queue.publishJobs(plan.jobs);
  const event: RequestAccepted = {
    schemaVersion: 1,
    type: 'request.accepted',
    status: 'accepted',
    requestId,
    messageId: message.messageId,
    jobIds: plan.jobs.map((job) => job.jobId),
    estimatedCostUsd: plan.estimatedCostUsd,
    at: deps.now().toISOString(),
  };
  await deps.events.publishRequestEvent(event);
  // A valid request replaces an earlier rejection under the same id.
  await deps.store.delete(deps.outputBucket, rejectionRecordName(requestId));
  deps.log.info('request accepted', {
    requestId,
    messageId: message.messageId,
    jobIds: event.jobIds,
    estimatedCostUsd: plan.estimatedCostUsd,
  });
  return { status: 'accepted', event, jobs: plan.jobs };
}

/**
 * A request message Pub/Sub dead-lettered (the function failed on it every time: a bug, an outage
 * longer than the retries): answered with a DEAD_LETTERED rejection so its publisher is not left
 * waiting.
 */
export async function rejectDeadLetteredRequest(
  deps: RequestDeps,
  message: RequestMessage,
  attempts: number,
): Promise<RequestOutcome> {
  const { requestId } = parseRequestMessage(message, deps.maxRequestBytes);
  const failure = new BananaError({
    code: 'DEAD_LETTERED',
    message: `request ${requestId}: gave up after ${attempts} delivery attempts; the requests function failed on it each time.`,
    fix: 'Check the requests function logs for this requestId, fix the cause, then publish the request again (the same request plans the same jobs, paid once).',
    details: { attempts },
  });
  return reject(deps, message, requestId, [failure]);
}

/** `requests/<requestId>.error.json` in the output bucket: the rejection, for whoever missed the event. */
export function rejectionRecordName(requestId: string): string {
  return `${REQUESTS_PREFIX}${requestId}.error.json`;
}

async function reject(
  deps: RequestDeps,
  message: RequestMessage,
  requestId: string,
  problems: BananaError[],
): Promise<RequestOutcome> {
  const [first] = problems;
  const event: RequestRejected = {
    schemaVersion: 1,
    type: 'request.rejected',
    status: 'rejected',
    requestId,
    messageId: message.messageId,
    errorCode: first?.code ?? 'REQUEST_INVALID',
    problems: problems.map(serializeError),
    at: deps.now().toISOString(),
  };
  await deps.store.write(deps.outputBucket, rejectionRecordName(requestId), toJsonBytes(event), {
    contentType: 'application/json',
    metadata: { [OUTPUT_TAG]: '1' },
  });
  await deps.events.publishRequestEvent(event);
  for (const problem of problems) {
    deps.log.warn(problem.message, {
      code: problem.code,
      requestId,
      messageId: message.messageId,
      ...(problem.fix ? { fix: problem.fix } : {}),
    });
  }
  return { status: 'rejected', event, problems };
}
