import type { ErrorCode, SerializedError } from '../errors.ts';

/**
 * Published on the results topic when a request message is handled, with attributes
 * {type, requestId, status}. `request.accepted` lists the job ids planned (each then gets its own
 * job result event carrying the same requestId); `request.rejected` lists every problem, and no
 * job was planned. At least once, like every event: deduplicate on requestId + type.
 */
export type RequestEvent = RequestAccepted | RequestRejected;

interface RequestEventBase {
  schemaVersion: 1;
  requestId: string;
  /** The Pub/Sub message id of the request (the publisher got it back from publish). */
  messageId: string;
  at: string;
}

export interface RequestAccepted extends RequestEventBase {
  type: 'request.accepted';
  status: 'accepted';
  jobIds: string[];
  estimatedCostUsd: number;
}

export interface RequestRejected extends RequestEventBase {
  type: 'request.rejected';
  status: 'rejected';
  /** The first problem's code; `problems` has them all. */
  errorCode: ErrorCode;
  problems: SerializedError[];
}
