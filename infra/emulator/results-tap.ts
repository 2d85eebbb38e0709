import type { Topic } from '@google-cloud/pubsub';
import { type JobResultEvent, jobResultEventSchema } from '../../shared/pipeline/result-event.ts';
import type { RequestEvent } from '../../shared/requests/request-event.ts';

/**
 * The stack's own observer of the results topic (in the cloud, whoever needs the done signal):
 * a pull subscription that keeps every event and prints one line per event.
 */
export async function tapResults(
  results: Topic,
  name: string,
  print: (line: string) => void,
): Promise<{
  events: JobResultEvent[];
  requestEvents: RequestEvent[];
  close: () => Promise<void>;
}> {
  const events: JobResultEvent[] = [];
  const requestEvents: RequestEvent[] = [];
  const [tap] = await results.createSubscription(name);
  tap.on('message', (message) => {
    message.ack();
    try {
      const data: unknown = JSON.parse(message.data.toString('utf8'));
      // Request events (request.accepted / rejected) share the topic; they carry a `type`.
      if (typeof data === 'object' && data !== null && 'type' in data) {
        const request = data as RequestEvent;
        requestEvents.push(request);
        print(requestLine(request));
        return;
      }
      const event = jobResultEventSchema.parse(data);
      events.push(event);
      print(
        `result: ${event.status === 'succeeded' ? 'OK  ' : 'FAIL'} job ${event.jobId}${event.errorCode ? ` ${event.errorCode}` : ''} $${event.costUsd.toFixed(4)} → ${event.recordUri}${event.requestId ? `  (request ${event.requestId})` : ''}`,
      );
    } catch {
      print(`result: undecodable message ${message.id}`);
    }
  });
  tap.on('error', (error) => print(`results subscription: ${error.message}`));
  return { events, requestEvents, close: () => tap.close() };
}

/** One line per request event: `request: ACCEPTED order-7 → 2 jobs` or the rejection's first problem. */
function requestLine(event: RequestEvent): string {
  if (event.type === 'request.accepted') {
    return `request: ACCEPTED ${event.requestId} → ${event.jobIds.length} jobs, est. $${event.estimatedCostUsd.toFixed(4)}`;
  }
  const [first] = event.problems;
  return `request: REJECTED ${event.requestId} ${event.errorCode}${first ? `: ${first.message}` : ''}`;
}
