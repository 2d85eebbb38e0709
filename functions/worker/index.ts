import type { CloudEvent } from '@google-cloud/functions-framework';
import * as functions from '@google-cloud/functions-framework';
import { toBananaError } from '../../shared/errors.ts';
import { handleJobDelivery } from '../../shared/pipeline/handle-job-delivery.ts';
import { countDelivery } from '../../shared/pipeline/job-state.ts';
import { decodePubSubEvent } from '../pubsub-message.ts';
import { createRuntime, once } from '../runtime.ts';
import { waitOutRetryDelay } from './retry-wait.ts';
import { workerDeps } from './worker-deps.ts';

/**
 * The worker: one pushed job message → one job run (call Gemini, write the outputs and the
 * metadata record, announce the result).
 *
 * Returning acknowledges the message (HTTP 2xx); throwing answers 500 and Pub/Sub delivers it
 * again after the subscription's retry backoff, until the dead-letter policy's maximum attempts.
 * A push cannot say when to come back, so a failure that asks for a delay (a 429's RetryInfo) is
 * waited out first, up to BANANAFLOW_MAX_RETRY_WAIT_MS.
 */

const deps = once(async () => {
  const runtime = await createRuntime('worker');
  return Object.assign(workerDeps(runtime), {
    maxRetryWaitMs: runtime.config.BANANAFLOW_MAX_RETRY_WAIT_MS,
  });
});

functions.cloudEvent('worker', async (event: CloudEvent<unknown>) => {
  const worker = await deps();
  const decoded = decodePubSubEvent(event);
  if (!decoded.ok) {
    // The same bytes would fail again: acknowledge, loudly.
    worker.log.error(`unusable job message acknowledged: ${decoded.problem}`, {
      code: 'JOB_INVALID',
      eventId: event.id,
    });
    return;
  }
  const { messageId, body } = decoded.message;
  try {
    const attempt = await countDelivery(worker.store, body, messageId, worker.buckets?.output);
    await handleJobDelivery(worker, { job: body, messageId, attempt });
  } catch (error) {
    const failure = toBananaError(error);
    // A non-retryable rejection breaks the use case's contract (it records those itself); it is
    // still thrown, so the dead-letter path turns it into a record instead of losing the job.
    if (!failure.retryable) {
      worker.log.error('unexpected permanent failure; redelivering so the job is dead-lettered', {
        code: failure.code,
        error: failure.message,
        messageId,
      });
    }
    const waited = await waitOutRetryDelay(failure, worker.maxRetryWaitMs);
    if (waited > 0) {
      worker.log.info('waited out the retry delay asked for before answering', {
        code: failure.code,
        waitedMs: waited,
        messageId,
      });
    }
    throw failure;
  }
});
