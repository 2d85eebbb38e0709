import type { CloudEvent } from '@google-cloud/functions-framework';
import * as functions from '@google-cloud/functions-framework';
import { toBananaError } from '../../shared/errors.ts';
import { acceptRequest, rejectDeadLetteredRequest } from '../../shared/pipeline/accept-request.ts';
import { unwrapPubSubEvent } from '../pubsub-message.ts';
import { createRuntime, once, requestDeps } from '../runtime.ts';

/**
 * The requests function: one message of the requests topic (another system's edit request) → its
 * jobs on the jobs topic plus a `request.accepted` event, or a `request.rejected` event listing
 * every problem. Both events go to the results topic with the requestId as an attribute.
 *
 * Bad input is answered and acknowledged (returning), never retried. Throwing (a storage or Pub/Sub
 * hiccup, or anything unexpected) makes Pub/Sub deliver again; after the subscription's maximum
 * attempts the message goes to the requests dead-letter topic, whose push subscription brings it
 * back here, where it is answered with a DEAD_LETTERED rejection.
 */

/** Set by Pub/Sub on every dead-lettered message: how often the source subscription delivered it. */
const DELIVERY_COUNT = 'CloudPubSubDeadLetterSourceDeliveryCount';

const deps = once(async () => requestDeps(await createRuntime('requests')));

functions.cloudEvent('requests', async (event: CloudEvent<unknown>) => {
  const requests = await deps();
  const unwrapped = unwrapPubSubEvent(event);
  if (!unwrapped.ok) {
    // Not a Pub/Sub message at all: there is no request to answer, and the same bytes fail again.
    requests.log.error(`unusable push acknowledged: ${unwrapped.problem}`, {
      code: 'REQUEST_INVALID',
      eventId: event.id,
    });
    return;
  }
  const message = unwrapped.message;
  const deadLettered = Number.parseInt(message.attributes[DELIVERY_COUNT] ?? '', 10);
  try {
    if (Number.isInteger(deadLettered)) {
      await rejectDeadLetteredRequest(requests, message, deadLettered);
    } else {
      await acceptRequest(requests, message);
    }
  } catch (error) {
    const failure = toBananaError(error);
    requests.log[failure.retryable ? 'warn' : 'error'](
      'request not handled: Pub/Sub delivers it again (and dead-letters it after the maximum attempts)',
      { code: failure.code, error: failure.message, messageId: message.messageId },
    );
    throw failure;
  }
});
