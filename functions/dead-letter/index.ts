import type { CloudEvent } from '@google-cloud/functions-framework';
import * as functions from '@google-cloud/functions-framework';
import { toBananaError } from '../../shared/errors.ts';
import { recordDeadLetter } from '../../shared/pipeline/record-dead-letter.ts';
import { decodePubSubEvent } from '../pubsub-message.ts';
import { createRuntime, once } from '../runtime.ts';

/**
 * The dead-letter function: a job message that exhausted its deliveries becomes the job's error
 * record (code DEAD_LETTERED, with the attempt count and the last failure), so nothing disappears.
 * It needs no model: it never loads the Gemini SDK.
 */

/** Set by Pub/Sub on every dead-lettered message: how often the source subscription delivered it. */
const DELIVERY_COUNT = 'CloudPubSubDeadLetterSourceDeliveryCount';

const deps = once(() => createRuntime('deadLetter'));

functions.cloudEvent('deadLetter', async (event: CloudEvent<unknown>) => {
  const runtime = await deps();
  const decoded = decodePubSubEvent(event);
  if (!decoded.ok) {
    runtime.log.error(`unusable dead-lettered message acknowledged: ${decoded.problem}`, {
      code: 'JOB_INVALID',
      eventId: event.id,
    });
    return;
  }
  const { messageId, attributes, body } = decoded.message;
  const count = Number.parseInt(attributes[DELIVERY_COUNT] ?? '', 10);
  if (!Number.isInteger(count) || count < 1) {
    runtime.log.warn(`dead-lettered message without ${DELIVERY_COUNT}; recording 1 attempt`, {
      messageId,
    });
  }
  try {
    await recordDeadLetter(runtime, {
      job: body,
      messageId,
      attempt: Number.isInteger(count) && count >= 1 ? count : 1,
    });
  } catch (error) {
    const failure = toBananaError(error);
    if (failure.retryable) throw failure; // e.g. a worker still holds the job: look again later
    runtime.log.error('dead-lettered job could not be recorded; acknowledged', {
      code: failure.code,
      error: failure.message,
      messageId,
    });
  }
});
